// Inventory and MRP page: safety stock / reorder point per item, the MRP grid per item and period,
// and the planned production (for the scheduler) and purchase orders.
import { api } from '../api.js';
import { escapeHtml, fmtMonthDay, fmtNumber } from '../format.js';
import { currentLang, t } from '../i18n.js';
import { can } from '../session.js';
import { onSegment, segmented, useCss } from '../ui.js';

const HORIZONS = ['14', '28', '56'];
const LEVELS = ['0.9', '0.95', '0.98', '0.99'];
const ROWS = ['gross', 'scheduled_receipts', 'projected_on_hand', 'net', 'planned_receipts', 'planned_releases'];
const nameOf = (r) => (currentLang() === 'zh-CN' ? r.name_zh : r.name_en) || r.item;
const qty = (v) => (v ? fmtNumber(v, Number.isInteger(v) || Math.abs(v) >= 10 ? 0 : 1) : '');

export function mount(root) {
  useCss('planning');
  let periods = '28';
  let level = '0.95';
  let production = [];
  let disposed = false;

  root.innerHTML = `
    <section class="panel">
      <div class="panel-head">
        <h2>${t('planning.title')}</h2>
        ${segmented('periods', HORIZONS.map((p) => [p, t('planning.days', { n: p })]), periods)}
        ${segmented('level', LEVELS.map((l) => [l, `${+l * 100}%`]), level)}
        <span class="muted small">${t('planning.service_level')}</span>
        <span class="spacer"></span><span class="muted small" id="pl-status"></span>
      </div>
      <p class="muted small">${t('planning.intro')}</p>
    </section>
    <section class="panel">
      <div class="panel-head"><h3>${t('planning.policy.title')}</h3></div>
      <div class="table-wrap"><table class="data compact" id="pl-policy"><thead><tr>
        <th>${t('planning.col.item')}</th><th class="num">${t('planning.col.mean_demand')}</th>
        <th class="num">${t('planning.col.sigma_error')}</th><th class="num">${t('planning.col.lead_time')}</th>
        <th class="num">${t('planning.col.sigma_lt')}</th><th class="num">${t('planning.col.safety_stock')}</th>
        <th class="num">${t('planning.col.reorder_point')}</th><th class="num">EOQ</th>
        <th class="num">${t('planning.col.on_hand')}</th><th></th></tr></thead><tbody></tbody></table></div>
      <p class="muted small">${t('planning.policy.formula')}</p>
    </section>
    <section class="panel">
      <div class="panel-head"><h3>${t('planning.mrp.title')}</h3></div>
      <div class="table-wrap pl-grid-wrap" id="pl-grid"></div>
    </section>
    <div class="grid-2">
      <section class="panel"><div class="panel-head"><h3>${t('planning.production_orders')}</h3>
        <span class="muted small">${t('planning.production_note')}</span><span class="spacer"></span>
        ${can('engineer') ? `<button class="btn" id="pl-to-schedule">${t('planning.to_schedule')}</button>` : ''}</div>
        <div class="muted small" id="pl-handed"></div>
        <div class="table-wrap scroll-y" id="pl-production"></div></section>
      <section class="panel"><div class="panel-head"><h3>${t('planning.purchase_orders')}</h3></div>
        <div class="table-wrap scroll-y" id="pl-purchase"></div></section>
    </div>`;

  function paintPolicy(rows) {
    root.querySelector('#pl-policy tbody').innerHTML = rows.map((r) => `<tr>
      <td>${escapeHtml(nameOf(r))}</td><td class="num">${fmtNumber(r.mean_demand, 1)}</td>
      <td class="num">${fmtNumber(r.sigma_error, 1)}</td><td class="num">${r.lead_time} ± ${fmtNumber(r.sigma_lead_time, 1)}</td>
      <td class="num">${fmtNumber(r.sigma_lt, 1)}</td><td class="num">${fmtNumber(r.safety_stock, 0)}</td>
      <td class="num">${fmtNumber(r.reorder_point, 0)}</td><td class="num">${fmtNumber(r.eoq, 0)}</td>
      <td class="num">${fmtNumber(r.on_hand, 0)}</td>
      <td>${r.reorder_now ? `<span class="chip pl-warn">${t('planning.reorder_now')}</span>` : ''}</td></tr>`).join('')
      || `<tr class="empty"><td colspan="10">${t('planning.waiting_forecast')}</td></tr>`;
  }

  function paintGrid(res) {
    const head = `<tr><th>${t('planning.col.item')}</th><th></th>${res.period_starts.map((ms) =>
      `<th class="num">${fmtMonthDay(ms)}</th>`).join('')}</tr>`;
    const body = res.plans.map((p) => ROWS.map((row, i) => `<tr class="${i === 0 ? 'pl-first' : ''} pl-${row}">
      ${i === 0 ? `<td rowspan="${ROWS.length}" class="pl-item"><b>${escapeHtml(nameOf(p))}</b><br>
        <span class="muted small">${t('planning.llc', { n: p.low_level_code })} · ${t(p.make ? 'planning.make' : 'planning.buy')}
        · ${t('planning.lt', { n: p.lead_time })} · ${t(`planning.lot.${p.lot_rule}`)}</span>
        ${p.past_due ? `<br><span class="chip pl-warn">${t('planning.past_due', { qty: fmtNumber(p.past_due, 0) })}</span>` : ''}</td>` : ''}
      <td class="pl-label">${t(`planning.row.${row}`)}</td>
      ${p[row].map((v) => `<td class="num ${row === 'projected_on_hand' && v < 0 ? 'pl-neg' : ''}">${row === 'projected_on_hand' ? fmtNumber(v, Math.abs(v) >= 10 ? 0 : 1) : qty(v)}</td>`).join('')}
    </tr>`).join('')).join('');
    root.querySelector('#pl-grid').innerHTML = `<table class="data compact pl-grid"><thead>${head}</thead><tbody>${body}</tbody></table>`;
  }

  function paintOrders(el, orders, key) {
    root.querySelector(el).innerHTML = `<table class="data compact"><thead><tr><th>${t('planning.col.item')}</th>
      <th class="num">${t('planning.col.qty')}</th><th>${t('planning.col.release')}</th><th>${t('planning.col.due')}</th></tr></thead>
      <tbody>${orders.map((o) => `<tr><td class="mono">${escapeHtml(o[key])}</td><td class="num">${fmtNumber(o.qty, 0)}</td>
      <td>${fmtMonthDay(o.release)}</td><td>${fmtMonthDay(o.due)}</td></tr>`).join('')
      || `<tr class="empty"><td colspan="4">${t('planning.no_orders')}</td></tr>`}</tbody></table>`;
  }

  async function load() {
    const status = root.querySelector('#pl-status');
    try {
      const [policy, res] = await Promise.all([
        api('/api/planning/inventory', { query: { service_level: level } }),
        api('/api/planning/mrp', { query: { periods, service_level: level } }),
      ]);
      if (disposed) return;
      status.textContent = t('planning.summary', { make: res.production_orders.length, buy: res.purchase_orders.length });
      paintPolicy(policy);
      paintGrid(res);
      paintOrders('#pl-production', res.production_orders, 'product');
      production = res.production_orders;
      paintOrders('#pl-purchase', res.purchase_orders, 'material');
    } catch (err) {
      status.textContent = err.message;
    }
  }

  // Planned production orders go to the scheduler, which plans them with the open orders.
  root.querySelector('#pl-to-schedule')?.addEventListener('click', async () => {
    const out = root.querySelector('#pl-handed');
    try {
      const plan = await api('/api/schedule/orders', { method: 'POST', body: production });
      out.textContent = t('planning.to_schedule_done', { n: production.length, status: plan.status });
    } catch (err) {
      out.textContent = err.message;
    }
  });
  onSegment(root, 'periods', (v) => { periods = v; load(); });
  onSegment(root, 'level', (v) => { level = v; load(); });
  load();
  const timer = setInterval(load, 60000);
  return () => {
    disposed = true;
    clearInterval(timer);
  };
}
