// The write-back dialog of writable tags: new value -> explicit confirmation -> write and read-back.
// Three steps in one <dialog>: the form (current value, range, new value), the confirmation
// ("confirm writing X to Y"), and the result (written, read back, verified or not).
import { api } from './api.js';
import { escapeHtml, fmtValue } from './format.js';
import { t } from './i18n.js';
import { live, onLive } from './live.js';
import { tagLabel } from './ui.js';

const withUnit = (text, tag) => (tag.unit ? `${text} ${tag.unit}` : text);
const tagName = (tag) => `${tag.equipment?.id ?? ''}/${tag.id} · ${tagLabel(tag)}`;

// The typed value of the form's input, or an error message.
function readValue(tag, raw) {
  if (tag.data_type === 'bool') return { value: raw === 'true' };
  if (tag.data_type === 'string') return { value: raw };
  if (raw.trim() === '') return { error: t('connect.write.err.empty') };
  const value = Number(raw);
  if (!Number.isFinite(value)) return { error: t('connect.write.err.number') };
  if (tag.data_type === 'int' && !Number.isInteger(value)) return { error: t('connect.write.err.whole') };
  if (tag.range && (value < tag.range[0] || value > tag.range[1])) {
    return { error: t('connect.write.err.range', { low: tag.range[0], high: tag.range[1] }) };
  }
  return { value };
}

function inputHtml(tag, value) {
  if (tag.data_type === 'bool') {
    return `<select name="value">${['true', 'false'].map((v) =>
      `<option value="${v}" ${String(value) === v ? 'selected' : ''}>${t(`web.value.${v}`)}</option>`).join('')}</select>`;
  }
  if (tag.data_type === 'string') return `<input name="value" value="${escapeHtml(value ?? '')}" autocomplete="off">`;
  const [low, high] = tag.range || [];
  return `<input name="value" type="number" class="mono" step="${tag.data_type === 'int' ? 1 : 'any'}"
    ${low !== undefined ? `min="${low}" max="${high}"` : ''} value="${value ?? ''}" required autocomplete="off">`;
}

export function writeDialog(root) {
  const dlg = document.createElement('dialog');
  dlg.className = 'dialog write-dialog';
  root.appendChild(dlg);
  let tag = null;
  let value = null;
  let offLive = null;

  const current = () => live.values[tag.path];

  function paintCurrent() {
    const el = dlg.querySelector('.wd-current');
    const point = current();
    if (el) el.textContent = point ? withUnit(fmtValue(point.v, tag), tag) : '--';
  }

  function header() {
    return `<h3>${t('connect.write.title')}</h3>
      <div class="wd-tag"><b>${escapeHtml(tagName(tag))}</b><div class="mono muted small">${escapeHtml(tag.path)}</div></div>
      <dl class="wd-facts">
        <div><dt>${t('connect.write.current')}</dt><dd class="mono wd-current">--</dd></div>
        ${tag.range ? `<div><dt>${t('connect.write.range')}</dt><dd class="mono">${withUnit(`${tag.range[0]} … ${tag.range[1]}`, tag)}</dd></div>` : ''}
      </dl>`;
  }

  function stepForm(error = '') {
    const start = value ?? current()?.v ?? '';
    dlg.innerHTML = `<form method="dialog" class="wd-form" novalidate>
      ${header()}
      <label>${t('connect.write.new')}${tag.unit ? ` (${escapeHtml(tag.unit)})` : ''}${inputHtml(tag, start)}</label>
      <p class="form-error wd-error" ${error ? '' : 'hidden'}>${escapeHtml(error)}</p>
      <div class="dialog-actions">
        <button type="button" class="btn ghost" data-act="cancel">${t('web.cancel')}</button>
        <button type="submit" class="btn primary" data-act="next">${t('connect.write.next')}</button>
      </div></form>`;
    paintCurrent();
    const input = dlg.querySelector('[name="value"]');
    input.focus();
    input.select?.();
  }

  function stepConfirm() {
    const shown = withUnit(typeof value === 'boolean' ? fmtValue(value, tag) : String(value), tag);
    dlg.innerHTML = `<form method="dialog" class="wd-form">
      ${header()}
      <p class="wd-confirm">${escapeHtml(t('connect.write.confirm', { value: shown, tag: tagName(tag) }))}</p>
      <p class="muted small">${t('connect.write.confirm_hint')}</p>
      <div class="dialog-actions">
        <button type="button" class="btn ghost" data-act="back">${t('connect.write.back')}</button>
        <button type="submit" class="btn danger" data-act="write">${t('connect.write.do')}</button>
      </div></form>`;
    paintCurrent();
    dlg.querySelector('[data-act="write"]').focus();
  }

  async function doWrite() {
    dlg.querySelectorAll('button').forEach((b) => { b.disabled = true; });
    dlg.querySelector('.wd-confirm').insertAdjacentHTML('afterend', `<p class="muted wd-writing">${t('connect.write.writing')}</p>`);
    let body;
    try {
      const res = await api(`/api/tags/${tag.path}/write`, { method: 'POST', body: { value, confirm: true } });
      const verdict = res.verified ? 'verified' : 'unverified';
      body = `<div class="wd-result ${res.verified ? 'ok' : 'warn'}" data-verified="${res.verified}">
        <p>${res.verified ? '✔' : '⚠'} ${t(`connect.write.${verdict}`)}</p>
        <dl class="wd-facts">
          <div><dt>${t('connect.write.written')}</dt><dd class="mono">${escapeHtml(withUnit(String(res.written), tag))}</dd></div>
          <div><dt>${t('connect.write.read_back')}</dt><dd class="mono wd-readback">${escapeHtml(res.read_back === null ? '--' : withUnit(String(res.read_back), tag))}</dd></div>
        </dl>
        ${res.read_error ? `<p class="muted small">${escapeHtml(res.read_error)}</p>` : ''}
      </div>`;
    } catch (err) {
      body = `<p class="form-error wd-failed">${escapeHtml(t('connect.write.failed', { detail: err.message }))}</p>`;
    }
    if (!dlg.open) return;
    dlg.innerHTML = `<form method="dialog" class="wd-form">${header()}${body}
      <div class="dialog-actions"><button type="submit" class="btn primary" data-act="close">${t('connect.write.close')}</button></div></form>`;
    paintCurrent();
  }

  dlg.addEventListener('click', (ev) => {
    const act = ev.target.closest('button')?.dataset.act;
    if (act === 'cancel') dlg.close();
    if (act === 'back') stepForm();
  });
  dlg.addEventListener('submit', (ev) => {
    const act = ev.submitter?.dataset.act;
    if (act === 'close') return; // method="dialog" closes it
    ev.preventDefault();
    if (act === 'next') {
      const read = readValue(tag, dlg.querySelector('[name="value"]').value);
      if (read.error) { stepForm(read.error); return; }
      value = read.value;
      stepConfirm();
    } else if (act === 'write') {
      doWrite();
    }
  });
  dlg.addEventListener('close', () => { offLive?.(); offLive = null; });

  return {
    open(next) {
      if (!next) return;
      tag = next;
      value = null;
      stepForm();
      dlg.showModal();
      offLive?.();
      offLive = onLive((type) => { if (type === 'tags') paintCurrent(); });
    },
    close() {
      if (dlg.open) dlg.close();
    },
  };
}
