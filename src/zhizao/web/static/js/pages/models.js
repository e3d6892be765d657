// Model registry (模型管理): every app's registered models; a model's versions with metrics,
// parameters and training-data fingerprint, the deployed marker, deploy and roll back (engineer).
import { api } from '../api.js';
import { escapeHtml, fmtDateTime } from '../format.js';
import { t } from '../i18n.js';
import { can } from '../session.js';
import { useCss } from '../ui.js';

const REFRESH_MS = 15000;

// A metric or parameter value, short.
function short(v) {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  if (v && typeof v === 'object') return JSON.stringify(v);
  return String(v ?? '');
}

const kv = (obj) => Object.entries(obj || {}).map(([k, v]) =>
  `<span class="md-kv"><span class="muted">${escapeHtml(k)}</span> ${escapeHtml(short(v))}</span>`).join('');

export function mount(root, param) {
  useCss('models');
  let selected = param || null;
  let disposed = false;

  root.innerHTML = `
    <section class="panel">
      <div class="panel-head"><h2>${t('maintenance.models.title')}</h2></div>
      <p class="form-error" id="md-error" hidden></p>
      <div class="table-wrap scroll-y"><table class="data compact md-list"><thead><tr>
        <th>${t('maintenance.models.kind')}</th><th>${t('maintenance.models.name')}</th>
        <th class="num">${t('maintenance.models.deployed')}</th><th class="num">${t('maintenance.models.versions')}</th>
        <th>${t('maintenance.models.metrics')}</th><th>${t('maintenance.models.updated')}</th></tr></thead>
        <tbody id="md-list"><tr class="empty"><td colspan="6">${t('web.loading')}</td></tr></tbody></table></div>
    </section>
    <section class="panel md-detail" id="md-detail"><p class="muted">${t('maintenance.models.select')}</p></section>`;

  const listEl = root.querySelector('#md-list');
  const detailEl = root.querySelector('#md-detail');
  const errorEl = root.querySelector('#md-error');

  function showError(err) {
    errorEl.hidden = !err;
    errorEl.textContent = err ? err.message : '';
  }

  function paintList(models) {
    listEl.innerHTML = models.map((m) => {
      const key = `${m.kind}/${m.name}`;
      return `<tr data-model="${escapeHtml(key)}" class="${key === selected ? 'sel' : ''}">
        <td>${escapeHtml(m.kind)}</td><td><b>${escapeHtml(m.name)}</b></td>
        <td class="num">${m.deployed == null ? '–' : `v${m.deployed}`}</td><td class="num">${m.versions}</td>
        <td class="md-metrics">${kv(Object.fromEntries(Object.entries(m.metrics).filter(([, v]) => typeof v === 'number').slice(0, 4)))}</td>
        <td class="nowrap">${m.updated_ms ? fmtDateTime(m.updated_ms) : ''}</td></tr>`;
    }).join('') || `<tr class="empty"><td colspan="6">${t('maintenance.models.none')}</td></tr>`;
  }

  function paintDetail(m) {
    const engineer = can('engineer');
    detailEl.innerHTML = `
      <div class="panel-head"><h2>${escapeHtml(m.kind)} / ${escapeHtml(m.name)}</h2><span class="spacer"></span>
        ${engineer ? `<button class="btn" id="md-rollback">${t('maintenance.models.rollback')}</button>` : ''}</div>
      <div class="table-wrap"><table class="data md-versions"><thead><tr>
        <th>${t('maintenance.models.version')}</th><th>${t('maintenance.models.created')}</th><th>${t('maintenance.models.metrics')}</th>
        <th>${t('maintenance.models.params')}</th><th>${t('maintenance.models.fingerprint')}</th><th>${t('maintenance.models.notes')}</th><th></th>
      </tr></thead><tbody>${m.items.map((v) => `
        <tr data-version="${v.version}" class="${v.deployed ? 'md-deployed' : ''}">
          <td class="nowrap"><b>v${v.version}</b> ${v.deployed ? `<span class="chip md-chip">${t('maintenance.models.deployed')}</span>` : ''}</td>
          <td class="nowrap">${fmtDateTime(v.created_ms)}</td>
          <td class="md-metrics">${kv(v.metrics)}</td><td class="md-metrics">${kv(v.params)}</td>
          <td class="mono small" title="${escapeHtml(v.data_fingerprint)}">${escapeHtml((v.data_fingerprint || '').slice(0, 19))}</td>
          <td class="small">${escapeHtml(v.notes)}</td>
          <td>${engineer && !v.deployed ? `<button class="btn small" data-promote="${v.version}">${t('maintenance.models.promote')}</button>` : ''}</td>
        </tr>`).join('')}</tbody></table></div>
      <h3>${t('maintenance.models.history')}</h3>
      <ul class="md-history">${m.history.slice().reverse().slice(0, 20).map((h) =>
        `<li>${fmtDateTime(h.ts)} · ${t(`maintenance.models.action.${h.action}`)} v${h.version}</li>`).join('')}</ul>`;
  }

  async function loadDetail() {
    if (!selected) return;
    try {
      const m = await api(`/api/models/${selected}`);
      if (!disposed) paintDetail(m);
    } catch (err) {
      showError(err);
    }
  }

  async function load() {
    try {
      const models = await api('/api/models');
      if (disposed) return;
      if (!selected && models.length) selected = `${models[0].kind}/${models[0].name}`;
      paintList(models);
      await loadDetail();
    } catch (err) {
      showError(err);
    }
  }

  listEl.addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr[data-model]');
    if (!tr) return;
    selected = tr.dataset.model;
    history.replaceState(null, '', `#/models/${selected}`);
    listEl.querySelectorAll('tr').forEach((r) => r.classList.toggle('sel', r === tr));
    loadDetail();
  });

  detailEl.addEventListener('click', async (ev) => {
    const promote = ev.target.closest('[data-promote]');
    const rollback = ev.target.closest('#md-rollback');
    if (!promote && !rollback) return;
    try {
      const m = promote
        ? await api(`/api/models/${selected}/promote`, { method: 'POST', body: { version: Number(promote.dataset.promote) } })
        : await api(`/api/models/${selected}/rollback`, { method: 'POST' });
      showError(null);
      paintDetail(m);
      load();
    } catch (err) {
      showError(err);
    }
  });

  load();
  const timer = setInterval(load, REFRESH_MS);
  return () => {
    disposed = true;
    clearInterval(timer);
  };
}
