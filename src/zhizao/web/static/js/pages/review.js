// Review queue: images the model was unsure of; a person confirms its label or overrules it.
import { api } from '../api.js';
import { escapeHtml, fmtDateTime, fmtPct } from '../format.js';
import { t } from '../i18n.js';
import { can } from '../session.js';
import { useCss } from '../ui.js';
import { verdictChip } from './inspection.js';

export function mount(root) {
  useCss('inspection');
  let disposed = false;
  let classes = [];
  let shown = null;
  root.innerHTML = `
    <section class="panel">
      <div class="panel-head"><h2>${t('inspection.review.title')}</h2>
        <span class="muted small">${t('inspection.review.hint')}</span><span class="spacer"></span>
        <span class="muted small" id="rv-count"></span></div>
      <p class="form-error" id="rv-error" hidden></p>
      <div class="rv-list" id="rv-list"></div>
    </section>
    <section class="panel">
      <div class="panel-head"><h3>${t('inspection.review.done')}</h3></div>
      <div class="table-wrap scroll-y"><table class="data compact" id="rv-done"></table></div>
    </section>`;

  function card(r) {
    const choices = classes.filter((c) => c !== r.label).map((c) => `<option value="${escapeHtml(c)}">${escapeHtml(c)}</option>`).join('');
    const actions = can('operator') ? `
      <div class="rv-actions">
        <button class="btn primary small" data-confirm="${r.id}" data-label="${escapeHtml(r.label)}">${t('inspection.review.confirm')} “${escapeHtml(r.label)}”</button>
        <select data-choice="${r.id}">${choices}</select>
        <button class="btn small" data-overrule="${r.id}">${t('inspection.review.overrule')}</button>
      </div>` : '';
    return `<div class="rv-item" data-id="${r.id}">
      <div class="rv-images">
        ${r.has_image ? `<figure><img src="/api/inspection/results/${r.id}/image" alt=""><figcaption>${t('inspection.review.image')}</figcaption></figure>` : ''}
        ${r.has_heatmap ? `<figure><img src="/api/inspection/results/${r.id}/heatmap" alt=""><figcaption>${t('inspection.review.heatmap')}</figcaption></figure>` : ''}
      </div>
      <div class="rv-info">
        <div>${verdictChip(r.verdict)} ${t('inspection.review.proposed')}: <b>${escapeHtml(r.label)}</b>
          <span class="mono">${fmtPct(r.confidence)}</span></div>
        <div class="muted small">${escapeHtml(r.station)} · ${escapeHtml(r.order || r.part || '')} · ${fmtDateTime(r.ts)} · v${r.model_version}</div>
        ${actions}
      </div>
    </div>`;
  }

  async function load() {
    const [queue, recent, models] = await Promise.all([
      api('/api/inspection/results', { query: { pending_review: true, limit: 20 } }),
      api('/api/inspection/results', { query: { limit: 200 } }),
      api('/api/inspection/models'),
    ].map((p) => p.catch((err) => { console.error(err); return null; })));
    if (disposed) return;
    classes = models?.classes ?? [];
    const list = queue ?? [];
    root.querySelector('#rv-count').textContent = t('inspection.review.pending', { n: list.length });
    const key = list.map((r) => r.id).join(',');
    if (key !== shown) { // unchanged queue: keep the loaded pictures and the chosen labels
      shown = key;
      root.querySelector('#rv-list').innerHTML = list.map(card).join('') || `<p class="muted">${t('inspection.review.empty')}</p>`;
    }
    const done = (recent ?? []).filter((r) => r.reviewed_label != null).slice(0, 30);
    root.querySelector('#rv-done').innerHTML = `<thead><tr><th>${t('inspection.review.when')}</th><th>${t('inspection.review.proposed')}</th>
      <th>${t('inspection.review.decided')}</th><th>${t('inspection.review.by')}</th></tr></thead><tbody>${done.map((r) => `<tr>
      <td>${fmtDateTime(r.reviewed_ms)}</td><td>${escapeHtml(r.label)}</td>
      <td class="${r.reviewed_label === r.label ? 'good' : 'warn'}">${escapeHtml(r.reviewed_label)}</td><td>${escapeHtml(r.reviewed_by)}</td></tr>`).join('')
      || `<tr class="empty"><td colspan="4">${t('inspection.review.none_done')}</td></tr>`}</tbody>`;
  }

  async function decide(id, label) {
    const err = root.querySelector('#rv-error');
    err.hidden = true;
    try {
      await api(`/api/inspection/results/${id}/review`, { method: 'POST', body: { label } });
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    }
    load();
  }

  root.addEventListener('click', (ev) => {
    const ok = ev.target.closest('[data-confirm]');
    if (ok) decide(ok.dataset.confirm, ok.dataset.label);
    const over = ev.target.closest('[data-overrule]');
    if (over) decide(over.dataset.overrule, root.querySelector(`[data-choice="${over.dataset.overrule}"]`).value);
  });
  load();
  const timer = setInterval(load, 8000);
  return () => {
    disposed = true;
    clearInterval(timer);
  };
}
