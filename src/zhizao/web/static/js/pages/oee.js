// OEE page (ISO 22400): line gauges, per machine, by shift, by hour, and the downtime Pareto.
import { baseOption, categoryAxis, INK, makeChart, PALETTE, timeAxis, valueAxis } from '../charts.js';
import { escapeHtml, fmtDateHm, fmtDuration, fmtMonthDay, fmtPct } from '../format.js';
import { t } from '../i18n.js';
import { live } from '../live.js';
import { fetchOee, fetchPareto, kpiLabel, OEE_KEYS } from '../oeedata.js';
import { nameOf, plant, shiftAt } from '../plant.js';
import { reasonLabel } from '../states.js';
import { onSegment, segmented } from '../ui.js';

const PERIODS = ['shift', 'last_shift', '24h', '7d'];
const KEY_COLOURS = { oee: PALETTE[0], availability: PALETTE[1], effectiveness: PALETTE[2], quality: PALETTE[3] };

// Start and end (plant clock) of a period preset.
function periodRange(period) {
  const now = live.clock;
  const shift = shiftAt(now);
  if (period === 'shift' && shift) return [shift.startMs, now];
  if (period === 'last_shift' && shift) {
    const prev = shiftAt(shift.startMs - 1);
    return [prev.startMs, shift.startMs];
  }
  return [now - (period === '7d' ? 7 : 1) * 86400e3, now];
}

// Group keys: an equipment path, "<local date> <shift id>" or "unscheduled".
function groupName(g, groupBy) {
  if (groupBy === 'equipment') return nameOf(plant.equipment.get(g.key)) || g.key;
  if (g.key === 'unscheduled') return t('oee.group.unscheduled');
  const shift = plant.shifts.find((s) => s.id === g.shift);
  return `${fmtMonthDay(g.start)} ${shift ? nameOf(shift) : g.key}`;
}

export function mount(root) {
  const line = plant.lines[0];
  let period = 'shift';
  let disposed = false;
  const charts = {};

  root.innerHTML = `
    <section class="panel">
      <div class="panel-head">
        <h2>${t('web.oee.title')} · ${escapeHtml(nameOf(line))}</h2>
        ${segmented('period', PERIODS.map((p) => [p, t(`web.period.${p}`)]), period)}
        <span class="spacer"></span>
        <span class="muted small mono" id="oee-range"></span>
      </div>
      <div class="gauge-row">
        ${OEE_KEYS.map((k) => `<div class="gauge"><div class="chart" data-chart="g-${k}"></div></div>`).join('')}
        <dl class="facts oee-facts" id="oee-facts"></dl>
      </div>
      <p class="muted small">${t('web.oee.formula')}</p>
    </section>
    <div class="grid-2">
      <section class="panel"><div class="panel-head"><h3>${t('web.oee.by_equipment')}</h3></div><div class="chart tall" data-chart="equipment"></div></section>
      <section class="panel"><div class="panel-head"><h3>${t('web.oee.pareto')}</h3></div><div class="chart tall" data-chart="pareto"></div></section>
      <section class="panel"><div class="panel-head"><h3>${t('web.oee.by_shift')}</h3></div><div class="chart tall" data-chart="shift"></div></section>
      <section class="panel"><div class="panel-head"><h3>${t('web.oee.by_hour')}</h3></div><div class="chart tall" data-chart="hour"></div></section>
    </div>`;

  async function chart(name) {
    charts[name] ??= makeChart(root.querySelector(`[data-chart="${name}"]`));
    return charts[name];
  }

  function gaugeOption(key, value) {
    return {
      ...baseOption(),
      series: [{
        type: 'gauge', startAngle: 210, endAngle: -30, min: 0, max: 100, radius: '92%', center: ['50%', '58%'],
        progress: { show: true, width: 12, itemStyle: { color: KEY_COLOURS[key] } },
        axisLine: { lineStyle: { width: 12, color: [[1, INK.split]] } },
        axisTick: { show: false }, splitLine: { show: false }, axisLabel: { show: false }, pointer: { show: false },
        title: { offsetCenter: [0, '38%'], color: INK.text, fontSize: 13 },
        detail: { offsetCenter: [0, '-2%'], fontSize: 24, fontWeight: 600, color: '#e8eef5',
          formatter: () => fmtPct(value) },
        data: [{ value: value == null ? 0 : value * 100, name: kpiLabel(key) }],
      }],
    };
  }

  // Grouped bars of the four figures per group (equipment or shift).
  function barsOption(groups, groupBy) {
    return {
      ...baseOption(),
      legend: { top: 0, textStyle: { color: INK.text }, itemWidth: 12, itemHeight: 8 },
      grid: { left: 8, right: 12, top: 30, bottom: 4, containLabel: true },
      tooltip: { ...baseOption().tooltip, valueFormatter: (v) => fmtPct(v / 100) },
      xAxis: categoryAxis(groups.map((g) => groupName(g, groupBy)), {
        axisLabel: { color: INK.text, fontSize: 11, interval: 0, rotate: groupBy === 'equipment' ? 28 : 0, width: 110, overflow: 'truncate' },
      }),
      yAxis: valueAxis({ min: 0, max: 100, scale: false, axisLabel: { color: INK.muted, formatter: '{value}%' } }),
      series: OEE_KEYS.map((k) => ({
        type: 'bar', name: kpiLabel(k), itemStyle: { color: KEY_COLOURS[k] }, barMaxWidth: 14,
        data: groups.map((g) => (g[k] == null ? null : +(g[k] * 100).toFixed(1))),
      })),
    };
  }

  function hourOption(groups, span) {
    return {
      ...baseOption(),
      legend: { top: 0, textStyle: { color: INK.text }, itemWidth: 12, itemHeight: 8 },
      grid: { left: 8, right: 16, top: 30, bottom: 4, containLabel: true },
      tooltip: { ...baseOption().tooltip, valueFormatter: (v) => fmtPct(v / 100) },
      xAxis: timeAxis(span),
      yAxis: valueAxis({ min: 0, max: 100, scale: false, axisLabel: { color: INK.muted, formatter: '{value}%' } }),
      series: OEE_KEYS.map((k) => ({
        type: 'line', name: kpiLabel(k), showSymbol: groups.length < 30, step: 'end', itemStyle: { color: KEY_COLOURS[k] },
        lineStyle: { width: k === 'oee' ? 2.5 : 1.2 },
        data: groups.map((g) => [g.start, g[k] == null ? null : +(g[k] * 100).toFixed(1)]),
      })),
    };
  }

  function paretoOption(rows) {
    return {
      ...baseOption(),
      grid: { left: 8, right: 8, top: 24, bottom: 4, containLabel: true },
      tooltip: {
        ...baseOption().tooltip,
        formatter: (items) => {
          const r = rows[items[0].dataIndex];
          return `${escapeHtml(r.label || reasonLabel(r.reason))}<br>${fmtDuration(r.duration_ms)} · ${t('web.oee.stops', { n: r.count })}<br>${t('web.oee.cumulative')}: ${items[1]?.value ?? ''}%`;
        },
      },
      xAxis: categoryAxis(rows.map((r) => r.label || reasonLabel(r.reason)), {
        axisLabel: { color: INK.text, fontSize: 11, interval: 0, rotate: 28, width: 110, overflow: 'truncate' },
      }),
      yAxis: [
        valueAxis({ name: t('web.oee.minutes'), nameTextStyle: { color: INK.muted }, scale: false }),
        valueAxis({ min: 0, max: 100, scale: false, splitLine: { show: false }, axisLabel: { color: INK.muted, formatter: '{value}%' } }),
      ],
      series: [
        { type: 'bar', barMaxWidth: 28, itemStyle: { color: '#ef6b5b' }, data: rows.map((r) => +(r.duration_ms / 60000).toFixed(1)) },
        { type: 'line', yAxisIndex: 1, symbolSize: 5, itemStyle: { color: '#f5a524' },
          data: rows.map((r) => +(r.cumulative_share * 100).toFixed(1)) },
      ],
    };
  }

  // ISO 22400 time elements and the line's output next to the gauges.
  function paintFacts(res) {
    const el = res.elements;
    const ln = res.lines?.[0];
    const facts = [
      ['oee.line.output', ln ? `${ln.output_good} / ${ln.output_produced}` : null],
      ['oee.line.bottleneck', ln?.bottleneck ? nameOf(plant.equipment.get(ln.bottleneck)) : null],
      ['oee.element.pbt', fmtDuration(el.pbt_ms)],
      ['oee.element.apt', fmtDuration(el.apt_ms)],
      ['oee.element.down', fmtDuration(el.down_ms)],
      ['oee.element.setup', fmtDuration(el.setup_ms)],
      ['oee.element.delay', fmtDuration(el.delay_ms)],
      ['oee.element.sq', `${el.sq} / ${el.pq}`],
    ].filter(([, v]) => v != null);
    // Times of a line are machine-hours: the sum over its machines (ISO 22400 elements per work unit).
    const machines = res.equipment?.length ?? 0;
    root.querySelector('#oee-facts').innerHTML = facts.map(([k, v]) =>
      `<div><dt>${t(k)}</dt><dd>${escapeHtml(v)}</dd></div>`).join('')
      + (machines > 1 ? `<p class="facts-note">${escapeHtml(t('web.oee.sum_note', { n: machines }))}</p>` : '');
  }

  async function load() {
    const [start, end] = periodRange(period);
    root.querySelector('#oee-range').textContent = `${fmtDateHm(start)} – ${fmtDateHm(end)}`;
    const scope = line.path;
    const [total, byEq, byShift, byHour, pareto] = await Promise.all([
      fetchOee({ scope, start, end }),
      fetchOee({ scope, start, end, group_by: 'equipment' }),
      fetchOee({ scope, start, end, group_by: 'shift' }),
      fetchOee({ scope, start, end, group_by: period === '7d' ? 'day' : 'hour' }),
      fetchPareto({ scope, start, end }),
    ].map((p) => p.catch((err) => { console.error(err); return null; })));
    if (disposed) return;
    for (const k of OEE_KEYS) (await chart(`g-${k}`)).setOption(gaugeOption(k, total?.[k]), { notMerge: true });
    if (total) paintFacts(total);
    (await chart('equipment')).setOption(barsOption(byEq?.groups ?? [], 'equipment'), { notMerge: true });
    (await chart('shift')).setOption(barsOption(byShift?.groups ?? [], 'shift'), { notMerge: true });
    (await chart('hour')).setOption(hourOption(byHour?.groups ?? [], end - start), { notMerge: true });
    (await chart('pareto')).setOption(paretoOption((pareto?.items ?? []).slice(0, 12)), { notMerge: true });
  }

  onSegment(root, 'period', (value) => { period = value; load(); });
  load();
  const timer = setInterval(load, 30000);
  return () => {
    disposed = true;
    clearInterval(timer);
    Object.values(charts).forEach((p) => p.then((c) => c.dispose()));
  };
}
