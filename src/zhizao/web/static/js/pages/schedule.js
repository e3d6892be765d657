// Scheduling (APS) page: KPI tiles, a Gantt chart of the plan per machine, late orders explained, utilisation.
import { api } from '../api.js';
import { baseOption, categoryAxis, INK, loadEcharts, makeChart, PALETTE, timeAxis, valueAxis } from '../charts.js';
import { escapeHtml, fmtDateHm, fmtDuration, fmtHm, fmtNumber, fmtPct } from '../format.js';
import { has, pick, t } from '../i18n.js';
import { live } from '../live.js';
import { can } from '../session.js';
import { useCss } from '../ui.js';

const LATE = '#ef4444';
const opLabel = (op) => (has(`scheduling.op.${op}`) ? t(`scheduling.op.${op}`) : op);

export function mount(root) {
  useCss('schedule');
  let disposed = false;
  let plan = null;
  const charts = {};

  root.innerHTML = `
    <section class="panel">
      <div class="panel-head">
        <h2>${t('scheduling.title')}</h2>
        <span class="chip" id="sch-status"></span>
        <span class="muted small" id="sch-reason"></span>
        <span class="spacer"></span>
        ${can('engineer') ? `<button class="btn primary" id="sch-solve">${t('scheduling.solve_now')}</button>` : ''}
      </div>
      <div class="sch-kpis" id="sch-kpis"></div>
      <p class="muted small" id="sch-compare"></p>
    </section>
    <section class="panel">
      <div class="panel-head">
        <h3>${t('scheduling.gantt')}</h3>
        <span class="spacer"></span>
        <span class="muted small"><span class="sch-key sch-key-late"></span>${t('scheduling.legend.late')}
          <span class="sch-key sch-key-frozen"></span>${t('scheduling.legend.frozen')}</span>
      </div>
      <div class="chart sch-gantt" data-chart="gantt"></div>
      <p class="muted small" id="sch-empty" hidden>${t('scheduling.empty')}</p>
    </section>
    <div class="grid-2">
      <section class="panel">
        <div class="panel-head"><h3>${t('scheduling.late_orders')}</h3></div>
        <div id="sch-late" class="sch-late"></div>
      </section>
      <section class="panel">
        <div class="panel-head"><h3>${t('scheduling.utilisation')}</h3></div>
        <div class="chart" data-chart="util"></div>
        ${can('engineer') ? `
        <form class="sch-event" id="sch-breakdown">
          <label>${t('scheduling.event.machine')}<select name="equipment"></select></label>
          <label>${t('scheduling.event.repair_min')}<input name="repair" type="number" min="1" value="60"></label>
          <button class="btn" type="submit">${t('scheduling.event.breakdown')}</button>
          <span class="muted small" id="sch-event-msg"></span>
        </form>` : ''}
      </section>
    </div>`;

  const chart = async (name) => {
    charts[name] ??= makeChart(root.querySelector(`[data-chart="${name}"]`));
    return charts[name];
  };
  const machineName = (m) => pick(m.name) || m.path.split('/').pop();

  function paintKpis(p) {
    const k = p.kpis || {};
    const late = k.late_count ?? 0;
    const tiles = [
      ['scheduling.kpi.on_time', k.on_time_rate == null ? '–' : fmtPct(k.on_time_rate), late ? 'bad' : ''],
      ['scheduling.kpi.utilisation', k.utilisation == null ? '–' : fmtPct(k.utilisation), ''],
      ['scheduling.kpi.makespan', k.makespan == null ? '–' : fmtDuration(k.makespan * 60000, true), ''],
      ['scheduling.kpi.energy', k.energy_cost == null ? '–' : `¥${fmtNumber(k.energy_cost, 0)}`, ''],
      ['scheduling.kpi.late', String(late), late ? 'bad' : ''],
      ['scheduling.kpi.orders', String(p.orders ?? 0), ''],
    ];
    root.querySelector('#sch-kpis').innerHTML = tiles.map(([key, value, cls]) =>
      `<div class="sch-kpi"><label>${t(key)}</label><span class="${cls}">${escapeHtml(value)}</span></div>`).join('');
    root.querySelector('#sch-status').textContent = t(`scheduling.status.${p.status}`);
    root.querySelector('#sch-reason').textContent = p.made
      ? t('scheduling.made', { time: fmtDateHm(p.made), reason: p.reason_label || '' }) : '';
    const c = p.comparison;
    root.querySelector('#sch-compare').textContent = c ? t('scheduling.compare', {
      moved: c.moved_operations, changed: c.machine_changes, shift: fmtNumber(c.mean_shift, 0),
      before: fmtPct(c.before.on_time_rate), after: fmtPct(c.after.on_time_rate),
    }) : '';
  }

  async function ganttOption(p) {
    const echarts = await loadEcharts();
    const machines = p.machines;
    const row = new Map(machines.map((m, i) => [m.path, i]));
    const products = [...new Set(p.operations.map((o) => o.product))].sort();
    const data = p.operations.map((o, i) => ({
      value: [row.get(o.machine), o.start, o.end, i],
      itemStyle: {
        color: PALETTE[products.indexOf(o.product) % PALETTE.length],
        opacity: o.frozen ? 0.45 : 0.9,
        borderColor: o.late ? LATE : '#0b1118',
        borderWidth: o.late ? 2 : 1,
      },
    }));
    const start = Math.min(...p.operations.map((o) => o.start), live.clock || Infinity);
    const end = Math.max(...p.operations.map((o) => o.end));
    return {
      ...baseOption(),
      grid: { left: 8, right: 16, top: 10, bottom: 56, containLabel: true },
      tooltip: {
        ...baseOption().tooltip, trigger: 'item',
        formatter: (item) => {
          const o = p.operations[item.value[3]];
          return `<b>${escapeHtml(o.order)}</b> · ${escapeHtml(o.product)}<br>`
            + `${t('scheduling.tip.operation')}: ${escapeHtml(opLabel(o.operation))}<br>`
            + `${t('scheduling.tip.machine')}: ${escapeHtml(machineName(machines[item.value[0]]))}<br>`
            + `${fmtDateHm(o.start)} – ${fmtHm(o.end)} (${fmtDuration(o.end - o.start, true)})<br>`
            + `${t('scheduling.tip.qty')}: ${o.qty} · ${t('scheduling.tip.due')}: ${fmtDateHm(o.due)}`
            + (o.late ? `<br><span style="color:${LATE}">${t('scheduling.legend.late')}</span>` : '')
            + (o.frozen ? `<br>${t('scheduling.legend.frozen')}` : '');
        },
      },
      dataZoom: [
        { type: 'inside', xAxisIndex: 0, filterMode: 'weakFilter' },
        { type: 'slider', xAxisIndex: 0, filterMode: 'weakFilter', height: 18, bottom: 8,
          borderColor: INK.axis, textStyle: { color: INK.muted }, labelFormatter: (v) => fmtDateHm(v) },
      ],
      xAxis: timeAxis(end - start, { min: start, max: end, position: 'top', splitLine: { show: true, lineStyle: { color: INK.split } } }),
      yAxis: categoryAxis(machines.map(machineName), { inverse: true, splitLine: { show: true, lineStyle: { color: INK.split } } }),
      series: [{
        type: 'custom',
        encode: { x: [1, 2], y: 0 },
        data,
        renderItem: (params, a) => {
          const from = a.coord([a.value(1), a.value(0)]);
          const to = a.coord([a.value(2), a.value(0)]);
          const height = a.size([0, 1])[1] * 0.62;
          const shape = echarts.graphic.clipRectByRect(
            { x: from[0], y: from[1] - height / 2, width: Math.max(1, to[0] - from[0]), height },
            { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height });
          return shape && { type: 'rect', transition: ['shape'], shape, style: a.style() };
        },
        markLine: live.clock ? {
          silent: true, symbol: 'none', lineStyle: { color: '#f5a524', type: 'dashed' },
          label: { color: '#f5a524', formatter: t('scheduling.now') }, data: [{ xAxis: live.clock }],
        } : undefined,
      }],
    };
  }

  function utilOption(p) {
    return {
      ...baseOption(),
      grid: { left: 8, right: 24, top: 8, bottom: 4, containLabel: true },
      tooltip: { ...baseOption().tooltip, valueFormatter: (v) => `${v}%` },
      xAxis: valueAxis({ min: 0, max: 100, scale: false, axisLabel: { color: INK.muted, formatter: '{value}%' } }),
      yAxis: categoryAxis(p.machines.map(machineName), { inverse: true }),
      series: [{ type: 'bar', barMaxWidth: 14, itemStyle: { color: PALETTE[0] },
        data: p.machines.map((m) => +(m.utilisation * 100).toFixed(1)) }],
    };
  }

  function paintLate(expl, machines) {
    const name = (path) => machineName(machines.find((m) => m.path === path) || { path });
    const el = root.querySelector('#sch-late');
    if (!expl.late_orders.length) {
      el.innerHTML = `<p class="muted">${t('scheduling.no_late')}</p>`;
      return;
    }
    el.innerHTML = `<table class="sch-table"><thead><tr><th>${t('scheduling.col.order')}</th><th>${t('scheduling.col.due')}</th>`
      + `<th>${t('scheduling.col.late_by')}</th><th>${t('scheduling.col.bottleneck')}</th><th>${t('scheduling.col.chain')}</th></tr></thead><tbody>`
      + expl.late_orders.map((o) => `<tr><td class="mono">${escapeHtml(o.order)}</td><td>${fmtDateHm(o.due)}</td>`
        + `<td class="bad">${fmtDuration(o.tardiness * 60000, true)}</td><td><b>${escapeHtml(name(o.bottleneck))}</b></td>`
        + `<td class="sch-chain">${o.chain.map((c) => `<span class="chip" title="${escapeHtml(t(`scheduling.link.${c.link}`))}">`
          + `${escapeHtml(c.order)} · ${escapeHtml(name(c.machine))}</span>`).join(' → ')}</td></tr>`).join('')
      + '</tbody></table>';
  }

  async function load() {
    let expl;
    try {
      [plan, expl] = await Promise.all([api('/api/schedule'), api('/api/schedule/explanations')]);
    } catch (err) {
      console.error(err);
      return;
    }
    if (disposed) return;
    paintKpis(plan);
    const empty = !plan.operations.length;
    root.querySelector('#sch-empty').hidden = !empty;
    const select = root.querySelector('#sch-breakdown select');
    if (select && !select.options.length) {
      select.innerHTML = plan.machines.map((m) => `<option value="${escapeHtml(m.path)}">${escapeHtml(machineName(m))}</option>`).join('');
    }
    if (!empty) (await chart('gantt')).setOption(await ganttOption(plan), { notMerge: true });
    (await chart('util')).setOption(utilOption(plan), { notMerge: true });
    paintLate(expl, plan.machines);
  }

  root.querySelector('#sch-solve')?.addEventListener('click', async (ev) => {
    ev.target.disabled = true;
    try {
      await api('/api/schedule/solve', { method: 'POST', body: { time_limit: 5 } });
      await load();
    } finally {
      ev.target.disabled = false;
    }
  });
  root.querySelector('#sch-breakdown')?.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const msg = root.querySelector('#sch-event-msg');
    msg.textContent = t('scheduling.event.working');
    try {
      await api('/api/schedule/reschedule', { method: 'POST', body: {
        event: 'breakdown', equipment: form.equipment.value, repair_min: Number(form.repair.value) } });
      msg.textContent = '';
      await load();
    } catch (err) {
      msg.textContent = err.message;
    }
  });

  load();
  const timer = setInterval(load, 15000);
  return () => {
    disposed = true;
    clearInterval(timer);
    Object.values(charts).forEach((c) => c.then((ch) => ch.dispose()));
  };
}
