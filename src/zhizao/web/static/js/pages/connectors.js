// Connectors page: each connector's state and counters (restart for engineers), and the
// dead letters: rejected input counted per source and cause, the newest rows with their detail.
// OPC UA connectors also offer engineers a browse dialog to import the server's variables as tags.
import { api } from '../api.js';
import { browseDialog } from '../browsedialog.js';
import { escapeHtml, fmtDateTime } from '../format.js';
import { has, pick, t } from '../i18n.js';
import { plant } from '../plant.js';
import { can } from '../session.js';

const REFRESH_MS = 5000;
const STATE_CLASS = {
  connected: 'good', starting: 'info', degraded: 'warn', disconnected: 'bad', error: 'bad', stopped: 'off',
};
const PAYLOAD_CHARS = 160;

const causeLabel = (cause) => (has(`connect.cause.${cause}`) ? t(`connect.cause.${cause}`) : cause);

function counterChips(counters) {
  const entries = Object.entries(counters || {}).sort(([a], [b]) => (a === 'points' ? -1 : b === 'points' ? 1 : a.localeCompare(b)));
  if (!entries.length) return '<span class="muted">--</span>';
  return entries.map(([cause, n]) => `<span class="counter ${cause === 'points' || cause === 'files_done' ? '' : 'problem'}" data-cause="${escapeHtml(cause)}">`
    + `${escapeHtml(causeLabel(cause))} <b class="mono">${n}</b></span>`).join('');
}

// equipment/tag of a UNS path (the full path is the cell's title)
const shortTag = (path) => (path ? path.split('/').slice(-2).join('/') : '');

function payloadText(payload) {
  if (payload === null || payload === undefined) return '';
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return text.length > PAYLOAD_CHARS ? `${text.slice(0, PAYLOAD_CHARS)}…` : text;
}

export function mount(root) {
  const filter = { source: '', cause: '' };
  let kinds = {};
  let timer = null;
  let disposed = false;

  const builtin = { sim: 0, api: 0 };
  plant.tags.forEach((tag) => { if (tag.source?.connector in builtin) builtin[tag.source.connector] += 1; });

  root.innerHTML = `
    <section class="panel">
      <div class="panel-head">
        <h2>${t('connect.title')}</h2><span class="muted small">${t('connect.hint')}</span>
      </div>
      <p class="form-error" id="cn-error" hidden></p>
      <div class="table-wrap"><table class="data connectors-table">
        <thead><tr>
          <th>${t('connect.col.name')}</th><th>${t('connect.col.kind')}</th><th>${t('connect.col.state')}</th>
          <th>${t('connect.col.detail')}</th><th>${t('connect.col.since')}</th><th class="num">${t('connect.col.tags')}</th>
          <th>${t('connect.col.counters')}</th><th>${t('web.col.actions')}</th>
        </tr></thead>
        <tbody id="cn-body"><tr class="empty"><td colspan="8">${t('web.loading')}</td></tr></tbody>
      </table></div>
      <p class="muted small builtin-note">${t('connect.builtin', builtin)}</p>
    </section>
    <section class="panel">
      <div class="panel-head">
        <h2>${t('connect.dead.title')}</h2><span class="muted small">${t('connect.dead.hint')}</span>
        <span class="spacer"></span>
        <select id="dl-source" aria-label="${t('connect.col.source')}"></select>
        <select id="dl-cause" aria-label="${t('connect.col.cause')}"></select>
        <button class="btn ghost small" id="dl-clear">${t('connect.dead.clear')}</button>
      </div>
      <div class="dl-grid">
        <div>
          <h3 class="sub">${t('connect.dead.counts')}</h3>
          <div class="table-wrap scroll-y"><table class="data compact">
            <thead><tr><th>${t('connect.col.source')}</th><th>${t('connect.col.cause')}</th>
              <th class="num">${t('connect.col.count')}</th><th class="num">${t('connect.col.stored')}</th></tr></thead>
            <tbody id="dl-counts"></tbody>
          </table></div>
        </div>
        <div>
          <h3 class="sub">${t('connect.dead.items')} <span class="muted small" id="dl-shown"></span></h3>
          <div class="table-wrap scroll-y"><table class="data compact dl-items">
            <thead><tr><th>${t('web.col.time')}</th><th>${t('connect.col.source')}</th><th>${t('connect.col.cause')}</th>
              <th>${t('connect.col.detail')}</th><th>${t('web.col.tag')}</th><th>${t('connect.col.payload')}</th></tr></thead>
            <tbody id="dl-items"></tbody>
          </table></div>
        </div>
      </div>
    </section>`;

  const $ = (sel) => root.querySelector(sel);
  const errorEl = $('#cn-error');
  const browser = browseDialog(root, { onImported: () => load() });

  function showError(err) {
    errorEl.textContent = err ? t('web.error.generic', { detail: err.message }) : '';
    errorEl.hidden = !err;
  }

  function paintConnectors(list) {
    $('#cn-body').innerHTML = list.map((c) => `
      <tr data-connector="${escapeHtml(c.name)}">
        <td class="mono">${escapeHtml(c.name)}</td>
        <td>${escapeHtml(pick(kinds[c.kind]) || c.kind)} <span class="muted mono small">${escapeHtml(c.kind)}</span></td>
        <td class="nowrap"><span class="conn-state ${STATE_CLASS[c.state] || 'off'}">${t(`connect.state.${c.state}`)}</span></td>
        <td class="detail">${escapeHtml(c.detail || '')}</td>
        <td class="mono nowrap">${fmtDateTime(c.since_ms)}</td>
        <td class="num mono">${c.tags}</td>
        <td class="counters">${counterChips(c.counters)}</td>
        <td class="actions nowrap">${can('engineer') ? `<button class="btn small" data-restart="${escapeHtml(c.name)}">${t('connect.restart')}</button>` : ''}
          ${can('engineer') && c.kind === 'opcua' ? `<button class="btn small" data-browse="${escapeHtml(c.name)}">${t('connect.browse.open')}</button>` : ''}</td>
      </tr>`).join('') || `<tr class="empty"><td colspan="8">${t('connect.empty')}</td></tr>`;
  }

  function fillSelect(sel, values, allKey, current, label = (v) => v) {
    sel.innerHTML = `<option value="">${t(allKey)}</option>${values.map((v) =>
      `<option value="${escapeHtml(v)}" ${v === current ? 'selected' : ''}>${escapeHtml(label(v))}</option>`).join('')}`;
  }

  function paintDead(data) {
    const sources = [...new Set(data.counts.map((c) => c.source))].sort();
    const causes = [...new Set(data.counts.map((c) => c.cause))].sort();
    fillSelect($('#dl-source'), sources, 'connect.dead.all_sources', filter.source);
    fillSelect($('#dl-cause'), causes, 'connect.dead.all_causes', filter.cause, (c) => `${causeLabel(c)} (${c})`);
    const counts = data.counts.filter((c) => (!filter.source || c.source === filter.source) && (!filter.cause || c.cause === filter.cause));
    $('#dl-counts').innerHTML = counts.map((c) => `
      <tr class="clickable ${c.source === filter.source && c.cause === filter.cause ? 'selected' : ''}" data-source="${escapeHtml(c.source)}" data-cause="${escapeHtml(c.cause)}">
        <td class="mono">${escapeHtml(c.source)}</td><td>${escapeHtml(causeLabel(c.cause))}</td>
        <td class="num mono">${c.count}</td><td class="num mono muted">${c.stored ?? ''}</td></tr>`).join('')
      || `<tr class="empty"><td colspan="4">${t('connect.dead.empty')}</td></tr>`;
    $('#dl-shown').textContent = data.items.length ? t('connect.dead.shown', { n: data.items.length }) : '';
    $('#dl-items').innerHTML = data.items.map((d) => {
      const payload = payloadText(d.payload);
      return `<tr>
        <td class="mono nowrap">${fmtDateTime(d.ts)}</td><td class="mono">${escapeHtml(d.source)}</td>
        <td class="nowrap"><span class="counter problem">${escapeHtml(causeLabel(d.cause))}</span></td>
        <td class="detail">${escapeHtml(d.detail)}</td><td class="mono small nowrap" title="${escapeHtml(d.tag || '')}">${escapeHtml(shortTag(d.tag))}</td>
        <td class="mono small payload" title="${escapeHtml(typeof d.payload === 'string' ? d.payload : JSON.stringify(d.payload ?? ''))}">${escapeHtml(payload)}</td>
      </tr>`;
    }).join('') || `<tr class="empty"><td colspan="6">${t('connect.dead.empty')}</td></tr>`;
  }

  async function load() {
    try {
      const [list, dead] = await Promise.all([
        api('/api/connectors'),
        api('/api/deadletters', { query: { source: filter.source, cause: filter.cause, limit: 100 } }),
      ]);
      paintConnectors(list);
      paintDead(dead);
      showError(null);
    } catch (err) {
      showError(err);
    }
  }

  function refilter() {
    filter.source = $('#dl-source').value;
    filter.cause = $('#dl-cause').value;
    load();
  }

  $('#dl-source').addEventListener('change', refilter);
  $('#dl-cause').addEventListener('change', refilter);
  $('#dl-clear').addEventListener('click', () => { filter.source = ''; filter.cause = ''; load(); });
  $('#dl-counts').addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr[data-source]');
    if (!tr) return;
    Object.assign(filter, { source: tr.dataset.source, cause: tr.dataset.cause });
    load();
  });
  $('#cn-body').addEventListener('click', async (ev) => {
    const browse = ev.target.closest('button[data-browse]');
    if (browse) browser.open(browse.dataset.browse);
    const btn = ev.target.closest('button[data-restart]');
    if (!btn) return;
    btn.disabled = true;
    try {
      await api(`/api/connectors/${encodeURIComponent(btn.dataset.restart)}/restart`, { method: 'POST' });
      showError(null);
    } catch (err) {
      showError(err);
    }
    await load();
  });

  api('/api/connectors/kinds').then((list) => {
    kinds = Object.fromEntries(list.map((k) => [k.kind, k.title]));
  }).catch(() => {}).finally(() => {
    if (disposed) return;
    load();
    timer = setInterval(load, REFRESH_MS);
  });
  return () => { disposed = true; clearInterval(timer); };
}
