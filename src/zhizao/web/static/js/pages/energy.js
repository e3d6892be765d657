// Energy & carbon page: energy and cost by tariff band per machine, the total per hour coloured by
// band, carbon and energy per good unit, anomalies, and the load-shifting plan of the flexible
// loads (on/off steps and buffer levels, tariff bands shaded) against running them as soon as possible.
import { api } from '../api.js';
import { baseOption, categoryAxis, INK, makeChart, timeAxis, valueAxis } from '../charts.js';
import { escapeHtml, fmtDateHm, fmtHm, fmtNumber } from '../format.js';
import { t } from '../i18n.js';
import { live } from '../live.js';
import { onSegment, segmented, useCss } from '../ui.js';

const PERIODS = [['24h', 1], ['7d', 7]];
const BAND_COLOURS = { peak: '#ef4444', flat: '#f5a524', valley: '#22c55e' };
const BAND_SHADE = { peak: 'rgba(239,68,68,0.16)', flat: 'rgba(245,165,36,0.08)', valley: 'rgba(34,197,94,0.13)' };
const bandColour = (b) => BAND_COLOURS[b] || '#4c9aff';
const bandLabel = (b) => t(`energy.band.${b}`) || b;

function machinesOption(rows, bands) {
  return {
    ...baseOption(),
    legend: { top: 0, textStyle: { color: INK.text }, itemWidth: 12, itemHeight: 8 },
    grid: { left: 8, right: 12, top: 30, bottom: 4, containLabel: true },
    tooltip: { ...baseOption().tooltip, axisPointer: { type: 'shadow' }, valueFormatter: (v) => `${fmtNumber(v, 1)} kWh` },
    xAxis: categoryAxis(rows.map((r) => r.name), { axisLabel: { color: INK.text, fontSize: 11, interval: 0, rotate: 28, width: 100, overflow: 'truncate' } }),
    yAxis: valueAxis({ name: 'kWh', nameTextStyle: { color: INK.muted }, scale: false }),
    series: bands.map((b) => ({ type: 'bar', stack: 'kwh', name: bandLabel(b), barMaxWidth: 28,
      itemStyle: { color: bandColour(b) }, data: rows.map((r) => +(r.kwh_by_band[b] || 0).toFixed(2)) })),
  };
}

function hourlyOption(hourly, span) {
  return {
    ...baseOption(),
    grid: { left: 8, right: 16, top: 20, bottom: 4, containLabel: true },
    tooltip: { ...baseOption().tooltip, valueFormatter: (v) => `${fmtNumber(v, 1)} kWh` },
    xAxis: timeAxis(span),
    yAxis: valueAxis({ name: 'kWh', nameTextStyle: { color: INK.muted }, scale: false }),
    series: [{ type: 'bar', barMaxWidth: 16, name: 'kWh',
      data: hourly.map((h) => ({ value: [h.start + 1800e3, +h.kwh.toFixed(2)], itemStyle: { color: bandColour(h.band) } })) }],
  };
}

// Tariff bands as shaded areas behind a chart on the plan's time axis.
function bandAreas(plan) {
  const areas = [];
  const step = plan.slot_minutes * 60e3;
  plan.bands.forEach((b, i) => {
    const last = areas.at(-1);
    if (last && last[2] === b) last[1] = plan.slots[i] + step;
    else areas.push([plan.slots[i], plan.slots[i] + step, b]);
  });
  return areas.map(([a, z, b]) => [{ xAxis: a, itemStyle: { color: BAND_SHADE[b] || 'transparent' } }, { xAxis: z }]);
}

function planOption(plan, which) {
  const p = plan[which];
  const loads = Object.keys(p.on);
  const step = plan.slot_minutes * 60e3;
  const powers = Object.fromEntries(plan.problem_loads.map((l) => [l.name, l.power_kw]));
  const xs = [...plan.slots, plan.slots.at(-1) + step];
  const loadSeries = loads.map((name, k) => ({
    type: 'line', step: 'end', name, stack: 'kw', areaStyle: { opacity: 0.55 }, showSymbol: false,
    lineStyle: { width: 1 }, itemStyle: { color: ['#4c9aff', '#a855f7', '#14b8a6', '#eab308'][k % 4] },
    data: xs.map((ts, i) => [ts, (p.on[name][Math.min(i, p.on[name].length - 1)] || 0) * powers[name]]),
    ...(k === 0 ? { markArea: { silent: true, data: bandAreas(plan) } } : {}),
  }));
  const levelSeries = Object.entries(p.levels).map(([name, levels], k) => ({
    type: 'line', name: `${name} ${t('energy.level')}`, yAxisIndex: 1, showSymbol: false,
    lineStyle: { width: 2, type: k ? 'dashed' : 'solid' }, itemStyle: { color: ['#f8fafc', '#94a3b8'][k % 2] },
    data: [[plan.slots[0], plan.buffers[k]?.initial], ...levels.map((v, i) => [plan.slots[i] + step, v])],
  }));
  const limits = plan.buffers.flatMap((b, k) => [b.low, b.high].map((v) => ({ yAxis: v, name: `${b.name}` , lineStyle: { color: ['#f8fafc', '#94a3b8'][k % 2], type: 'dotted' } })));
  if (levelSeries.length) levelSeries[0].markLine = { symbol: 'none', silent: true, label: { show: false }, data: limits };
  return {
    ...baseOption(),
    legend: { top: 0, textStyle: { color: INK.text }, itemWidth: 12, itemHeight: 8 },
    grid: { left: 8, right: 8, top: 30, bottom: 4, containLabel: true },
    tooltip: { ...baseOption().tooltip },
    xAxis: timeAxis(86400e3, { axisLabel: { color: INK.muted, fontSize: 11, formatter: (v) => fmtHm(v) } }),
    yAxis: [valueAxis({ name: 'kW', nameTextStyle: { color: INK.muted }, scale: false }),
      valueAxis({ name: t('energy.level'), nameTextStyle: { color: INK.muted }, scale: false, splitLine: { show: false } })],
    series: [...loadSeries, ...levelSeries],
  };
}

export function mount(root) {
  useCss('energy');
  let days = 1;
  let disposed = false;
  const charts = {};
  root.innerHTML = `
    <section class="panel">
      <div class="panel-head">
        <h2>${t('energy.title')}</h2>
        ${segmented('energy-period', PERIODS.map(([k]) => [k, t(`energy.period.${k}`)]), '24h')}
        <span class="spacer"></span>
        <span class="muted small mono" id="energy-range"></span>
      </div>
      <dl class="facts energy-kpis" id="energy-kpis"></dl>
      <p class="facts-note" id="energy-notes"></p>
    </section>
    <div class="grid-2">
      <section class="panel"><div class="panel-head"><h3>${t('energy.by_machine')}</h3></div><div class="chart tall" data-chart="machines"></div></section>
      <section class="panel"><div class="panel-head"><h3>${t('energy.by_hour')}</h3></div><div class="chart tall" data-chart="hourly"></div></section>
    </div>
    <section class="panel">
      <div class="panel-head"><h3>${t('energy.anomalies')}</h3></div>
      <div class="table-wrap"><table class="data compact"><thead><tr><th>${t('energy.col.time')}</th><th>${t('energy.col.what')}</th>
        <th class="num">${t('energy.col.value')}</th><th class="num">${t('energy.col.expected')}</th></tr></thead><tbody id="energy-anomalies"></tbody></table></div>
    </section>
    <section class="panel">
      <div class="panel-head"><h3>${t('energy.plan')}</h3>
        <button type="button" class="btn primary small" id="energy-plan-btn">${t('energy.plan_run')}</button>
        <span class="muted small" id="energy-plan-status"></span></div>
      <dl class="facts" id="energy-plan-facts"></dl>
      <div class="grid-2">
        <div><h4 class="plan-title">${t('energy.asap')}</h4><div class="chart tall" data-chart="asap"></div></div>
        <div><h4 class="plan-title">${t('energy.optimised')}</h4><div class="chart tall" data-chart="optimised"></div></div>
      </div>
      <p class="facts-note">${t('energy.plan_note')}</p>
    </section>`;
  const el = (id) => root.querySelector(id);

  async function chart(name) {
    charts[name] ??= makeChart(root.querySelector(`[data-chart="${name}"]`));
    return charts[name];
  }

  async function load() {
    const end = live.clock || Date.now();
    const start = end - days * 86400e3;
    el('#energy-range').textContent = `${fmtDateHm(start)} – ${fmtDateHm(end)}`;
    const [res, anomalies, config] = await Promise.all([
      api('/api/energy/consumption', { query: { start, end } }),
      api('/api/energy/anomalies', { query: { start, end } }).catch(() => []),
      api('/api/energy/config'),
    ]);
    if (disposed) return;
    const bands = Object.keys(config.tariff.prices);
    const cur = res.currency;
    el('#energy-kpis').innerHTML = [
      [t('energy.total'), `${fmtNumber(res.total_kwh, 0)} kWh`],
      [t('energy.cost'), `${fmtNumber(res.total_cost, 0)} ${escapeHtml(cur)}`],
      [t('energy.co2'), `${fmtNumber(res.total_co2_kg / 1000, 2)} t CO₂`],
      [t('energy.per_unit'), res.kwh_per_unit == null ? '--' : `${fmtNumber(res.kwh_per_unit, 2)} kWh`],
      [t('energy.units'), res.good_units ?? '--'],
      ...bands.map((b) => [bandLabel(b), `<span style="color:${bandColour(b)}">${fmtNumber(res.kwh_by_band[b], 0)} kWh · ${fmtNumber(res.cost_by_band[b], 0)} ${escapeHtml(cur)}</span>`]),
    ].map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join('');
    const ef = config.emission_factor;
    el('#energy-notes').textContent = `${t('energy.tariff')}: ${config.tariff.name} — ${bands.map((b) => `${bandLabel(b)} ${config.tariff.prices[b]} ${cur}/kWh`).join(', ')}. `
      + `${t('energy.factor')}: ${ef.kg_co2_per_kwh} kgCO₂/kWh (${ef.source}).`;
    const rows = [...res.machines].sort((a, b) => b.kwh - a.kwh);
    (await chart('machines')).setOption(machinesOption(rows, bands), { notMerge: true });
    (await chart('hourly')).setOption(hourlyOption(res.hourly, end - start), { notMerge: true });
    el('#energy-anomalies').innerHTML = anomalies.length ? anomalies.slice(0, 50).map((a) => `<tr>
      <td class="nowrap">${fmtDateHm(a.start)} – ${fmtHm(a.end)}</td><td>${escapeHtml(a.message)}</td>
      <td class="num mono">${fmtNumber(a.value, 2)} ${escapeHtml(a.unit)}</td><td class="num mono">${fmtNumber(a.expected, 2)}</td></tr>`).join('')
      : `<tr class="empty"><td colspan="4">${t('energy.no_anomalies')}</td></tr>`;
  }

  async function plan() {
    const btn = el('#energy-plan-btn');
    btn.disabled = true;
    el('#energy-plan-status').textContent = t('energy.planning');
    try {
      const [res, config] = await Promise.all([api('/api/energy/shifting/plan', { method: 'POST', body: {} }), api('/api/energy/config')]);
      if (disposed) return;
      res.problem_loads = config.flexible.loads;
      const cur = res.currency;
      el('#energy-plan-status').textContent = '';
      el('#energy-plan-facts').innerHTML = [
        [t('energy.asap'), `${fmtNumber(res.asap.cost, 0)} ${escapeHtml(cur)} · ${fmtNumber(res.asap.energy_kwh, 0)} kWh`],
        [t('energy.optimised'), `${fmtNumber(res.optimised.cost, 0)} ${escapeHtml(cur)} · ${fmtNumber(res.optimised.energy_kwh, 0)} kWh (${escapeHtml(res.optimised.status)})`],
        [t('energy.saving'), res.saving == null ? '--' : `<b class="good">${fmtNumber(res.saving, 0)} ${escapeHtml(cur)} (${fmtNumber(res.saving_pct, 1)}%)</b>`],
        [t('energy.limits'), (res.asap.violations.length || res.optimised.violations.length)
          ? `<span class="bad">${escapeHtml([...res.asap.violations, ...res.optimised.violations].join('; '))}</span>`
          : `<span class="good">${t('energy.limits_ok')}</span>`],
      ].map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join('');
      (await chart('asap')).setOption(planOption(res, 'asap'), { notMerge: true });
      (await chart('optimised')).setOption(planOption(res, 'optimised'), { notMerge: true });
    } catch (err) {
      el('#energy-plan-status').textContent = err.message;
    } finally {
      btn.disabled = false;
    }
  }

  el('#energy-plan-btn').addEventListener('click', plan);
  onSegment(root, 'energy-period', (v) => { days = PERIODS.find(([k]) => k === v)[1]; load(); });
  load();
  plan();
  const timer = setInterval(load, 60000);
  return () => {
    disposed = true;
    clearInterval(timer);
    Object.values(charts).forEach((p) => p.then((c) => c.dispose()));
  };
}
