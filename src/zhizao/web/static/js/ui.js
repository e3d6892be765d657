// Small shared bits of markup.
import { escapeHtml, fmtValue } from './format.js';
import { pick, t } from './i18n.js';
import { reasonLabel } from './states.js';

export const tagLabel = (tag) => pick(tag?.description) || tag?.id || '';

// An alarm's value at activation (HTML); a machine-down alarm carries the state reason code instead.
export function alarmValue(a, tag) {
  if (a.limit === 'down') return escapeHtml(reasonLabel(a.value));
  if (typeof a.value !== 'number') return escapeHtml(a.value ?? '');
  return `${fmtValue(a.value, tag)} ${escapeHtml(tag?.unit || a.unit || '')}`;
}

export const priorityChip = (p) => `<span class="prio prio-${escapeHtml(p)}">${t(`alarms.priority.${p}`)}</span>`;

// A row of toggle buttons; `value` is the pressed one.
export function segmented(name, options, value) {
  return `<div class="seg" role="group" data-seg="${name}">${options.map(([v, label]) =>
    `<button type="button" data-value="${v}" class="${v === value ? 'on' : ''}">${escapeHtml(label)}</button>`).join('')}</div>`;
}

// Wires a segmented control: highlights the pressed button and calls `onPick(value)`.
export function onSegment(root, name, onPick) {
  const seg = root.querySelector(`[data-seg="${name}"]`);
  seg.addEventListener('click', (ev) => {
    const btn = ev.target.closest('button[data-value]');
    if (!btn) return;
    seg.querySelectorAll('button').forEach((b) => b.classList.toggle('on', b === btn));
    onPick(btn.dataset.value);
  });
}

// An app page's own stylesheet (static/css/<name>.css), added once.
export function useCss(name) {
  const href = `/static/css/${name}.css`;
  if (document.querySelector(`link[href="${href}"]`)) return;
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = href;
  document.head.append(link);
}
