// Alarms page (ISA-18.2): filter, acknowledge, shelve; refreshed on every alarm event.
import { api } from '../api.js';
import { isUnacked, onAlarms, refreshAlarms } from '../alarmstore.js';
import { escapeHtml, fmtDateTime, fmtDuration, fmtValue } from '../format.js';
import { t } from '../i18n.js';
import { live } from '../live.js';
import { nameOf, plant } from '../plant.js';
import { can } from '../session.js';
import { alarmValue, onSegment, priorityChip, segmented, tagLabel } from '../ui.js';

// 'list' = the ISA-18.2 alarm list (active or unacknowledged): the API's default.
const FILTERS = ['list', 'active', 'unacked', 'shelved', 'all'];
const SHELVE_HOURS = [0.5, 1, 8, 24];

export function mount(root) {
  let filter = 'list';
  let list = [];
  let busy = false;

  root.innerHTML = `
    <section class="panel">
      <div class="panel-head">
        <h2>${t('web.alarms.title')}</h2>
        ${segmented('filter', FILTERS.map((f) => [f, t(`web.alarms.filter.${f}`)]), filter)}
        <span class="spacer"></span>
        <span class="muted small" id="al-count"></span>
        ${can('operator') ? `<button class="btn" id="al-ack-all">${t('web.alarms.ack_all')}</button>` : ''}
      </div>
      <p class="form-error" id="al-error" hidden></p>
      <div class="table-wrap"><table class="data alarms-table">
        <thead><tr>
          <th>${t('web.col.priority')}</th><th>${t('web.col.state')}</th><th>${t('web.col.time')}</th>
          <th>${t('web.col.equipment')}</th><th>${t('web.col.tag')}</th><th>${t('web.col.message')}</th>
          <th class="num">${t('web.col.value')}</th><th class="num">${t('web.col.limit')}</th><th>${t('web.col.actions')}</th>
        </tr></thead>
        <tbody id="al-body"><tr class="empty"><td colspan="9">${t('web.loading')}</td></tr></tbody>
      </table></div>
    </section>
    <dialog id="shelve-dialog" class="dialog">
      <form method="dialog" id="shelve-form">
        <h3>${t('web.alarms.shelve_title')}</h3>
        <p class="muted" id="shelve-what"></p>
        <label>${t('web.alarms.shelve_for')}
          <select name="hours">${SHELVE_HOURS.map((h) => `<option value="${h}">${fmtDuration(h * 3600e3)}</option>`).join('')}</select>
        </label>
        <label>${t('web.alarms.shelve_reason')}
          <textarea name="reason" rows="3" required maxlength="500"></textarea>
        </label>
        <div class="dialog-actions">
          <button type="button" class="btn ghost" value="cancel" id="shelve-cancel">${t('web.cancel')}</button>
          <button type="submit" class="btn primary" value="ok">${t('web.alarms.shelve')}</button>
        </div>
      </form>
    </dialog>`;

  const body = root.querySelector('#al-body');
  const errorEl = root.querySelector('#al-error');
  const dialog = root.querySelector('#shelve-dialog');
  let shelving = null;

  function showError(err) {
    errorEl.textContent = err ? t('web.error.generic', { detail: err.message }) : '';
    errorEl.hidden = !err;
  }

  function row(a) {
    const tag = plant.tags.get(a.tag);
    const eq = tag?.equipment;
    const unacked = isUnacked(a);
    const actions = [
      unacked && can('operator') ? `<button class="btn small" data-ack="${a.id}">${t('web.alarms.ack')}</button>` : '',
      a.state !== 'shelved' && can('engineer') ? `<button class="btn small ghost" data-shelve="${a.id}">${t('web.alarms.shelve')}</button>` : '',
      a.state === 'shelved' && can('engineer') ? `<button class="btn small ghost" data-unshelve="${a.id}">${t('web.alarms.unshelve')}</button>` : '',
    ].join('');
    const since = a.active_since ?? a.updated_at ?? a.ts;
    return `<tr class="${unacked ? 'unacked' : ''} ${a.active === false ? 'rtn' : ''} ${a.superseded ? 'superseded' : ''}">
      <td>${priorityChip(a.priority)}</td>
      <td><span class="al-state al-${escapeHtml(a.state)}">${t(`alarms.state.${a.state}`)}</span></td>
      <td class="mono nowrap">${fmtDateTime(since)}</td>
      <td>${eq ? `<a href="#/machine/${eq.path}">${escapeHtml(nameOf(eq))}</a>` : ''}</td>
      <td>${escapeHtml(tag ? tagLabel(tag) : a.tag)}</td>
      <td class="msg">${escapeHtml(a.message || '')}${a.state === 'shelved' && a.shelved_until
        ? `<div class="muted small">${t('web.alarms.shelved_until', { until: fmtDateTime(a.shelved_until), reason: a.shelve_reason || '' })}</div>` : ''}</td>
      <td class="num ${typeof a.value === 'number' ? 'mono' : ''}">${alarmValue(a, tag)}</td>
      <td class="num mono">${escapeHtml(a.limit_label || a.limit || '')}${a.limit_value != null ? ` ${fmtValue(a.limit_value, tag)}` : ''}</td>
      <td class="actions">${actions}</td>
    </tr>`;
  }

  function paint() {
    body.innerHTML = list.map(row).join('') || `<tr class="empty"><td colspan="9">${t('web.empty.alarms')}</td></tr>`;
    const unacked = list.filter(isUnacked).length;
    root.querySelector('#al-count').textContent = t('web.alarms.count', { n: list.length, unacked });
    const ackAll = root.querySelector('#al-ack-all');
    if (ackAll) ackAll.disabled = !unacked;
  }

  async function load() {
    try {
      const data = await api('/api/alarms', { query: { state: filter === 'list' ? '' : filter } });
      list = data; // already in the order operators read: unacknowledged, priority, newest
      showError(null);
      paint();
    } catch (err) {
      showError(err);
    }
  }

  async function act(fn) {
    if (busy) return;
    busy = true;
    try {
      await fn();
      showError(null);
    } catch (err) {
      showError(err);
    } finally {
      busy = false;
      await refreshAlarms().catch(load); // the store's listener reloads this list
    }
  }

  body.addEventListener('click', (ev) => {
    const btn = ev.target.closest('button');
    if (!btn) return;
    if (btn.dataset.ack) act(() => api(`/api/alarms/${btn.dataset.ack}/ack`, { method: 'POST' }));
    if (btn.dataset.unshelve) act(() => api(`/api/alarms/${btn.dataset.unshelve}/unshelve`, { method: 'POST' }));
    if (btn.dataset.shelve) {
      shelving = list.find((a) => String(a.id) === btn.dataset.shelve);
      root.querySelector('#shelve-what').textContent = shelving?.message || '';
      dialog.showModal();
    }
  });

  root.querySelector('#al-ack-all')?.addEventListener('click', () => act(async () => {
    for (const a of list.filter(isUnacked)) await api(`/api/alarms/${a.id}/ack`, { method: 'POST' });
  }));

  root.querySelector('#shelve-cancel').addEventListener('click', () => dialog.close());
  root.querySelector('#shelve-form').addEventListener('submit', (ev) => {
    const form = ev.target;
    const until = Math.round(live.clock + Number(form.hours.value) * 3600e3);
    const reason = form.reason.value.trim();
    const id = shelving?.id;
    form.reset();
    if (id != null) act(() => api(`/api/alarms/${id}/shelve`, { method: 'POST', body: { until, reason } }));
  });

  onSegment(root, 'filter', (value) => { filter = value; load(); });
  load();
  // The shared store refreshes on every alarm event; reload this list with it.
  const off = onAlarms(() => { if (!busy) load(); });
  return () => { off(); dialog.close(); };
}
