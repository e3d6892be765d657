// SPC page: control chart with centre line, limits and sigma zones, violating points marked with
// their rule numbers, the range / moving-range chart, capability histogram with the spec limits,
// the rule list, and a p / u chart of defect counts.
import { api } from '../api.js';
import { baseOption, INK, makeChart, timeAxis, valueAxis } from '../charts.js';
import { escapeHtml, fmtDateHm, fmtNumber } from '../format.js';
import { t } from '../i18n.js';
import { live } from '../live.js';
import { onSegment, segmented, useCss } from '../ui.js';

const PERIODS = [['8h', 8], ['24h', 24], ['7d', 168]];
const RED = '#ef4444';
const ZONE = ['rgba(34,197,94,0.07)', 'rgba(245,165,36,0.07)', 'rgba(239,68,68,0.08)'];

// Rule numbers of each point index, e.g. {12: [1, 5]}.
function rulesByIndex(series) {
  const out = {};
  for (const v of series.violations) (out[v.index] ??= []).includes(v.rule) || out[v.index].push(v.rule);
  return out;
}

function decimalsOf(values) {
  const finite = values.filter((v) => v != null);
  if (!finite.length) return 3;
  const span = Math.max(...finite) - Math.min(...finite) || Math.abs(finite[0]) || 1;
  return Math.min(6, Math.max(0, 3 - Math.floor(Math.log10(span))));
}

// Line series of a chart with its limits and zone boundaries (limits may differ point by point).
function chartOption(s, span, title) {
  const rules = rulesByIndex(s);
  const d = decimalsOf(s.values.concat(s.ucl, s.lcl));
  const at = (arr) => s.ts.map((ts, i) => [ts, arr[i]]);
  const zone = (k) => s.ts.map((ts, i) => [ts, s.sigma[i] == null ? null : s.centre[i] + k * s.sigma[i]]);
  const dashed = (name, data, color, width = 1) => ({
    type: 'line', name, data, step: 'middle', showSymbol: false, silent: true,
    lineStyle: { color, width, type: width > 1 ? 'solid' : 'dashed' }, z: 1,
  });
  const zones = s.sigma.some((v) => v != null) && s.kind !== 'cusum' && s.kind !== 'r' && s.kind !== 'mr'
    ? [1, 2, -1, -2].map((k) => dashed(`${k > 0 ? '+' : ''}${k}σ`, zone(k), INK.axis)) : [];
  const series = [
    ...zones,
    dashed(t('spc.ucl'), at(s.ucl), RED, 1.5),
    dashed(t('spc.lcl'), at(s.lcl), RED, 1.5),
    dashed(t('spc.cl'), at(s.centre), '#22c55e', 1.5),
    {
      type: 'line', name: title, data: at(s.values), symbolSize: 5, lineStyle: { color: '#4c9aff', width: 1.4 },
      itemStyle: { color: '#4c9aff' }, z: 3,
    },
    {
      type: 'scatter', name: t('spc.violations'), z: 4, symbolSize: 9, itemStyle: { color: RED },
      label: { show: true, position: 'top', color: '#fca5a5', fontSize: 10, formatter: (p) => p.data[2] },
      data: Object.entries(rules).map(([i, r]) => [s.ts[i], s.values[i], r.sort().join(',')]),
    },
  ];
  if (s.lower) {
    series.push({ type: 'line', name: 'C⁻', data: at(s.lower), symbolSize: 4, lineStyle: { color: '#a855f7' },
      itemStyle: { color: '#a855f7' }, z: 3 });
  }
  return {
    ...baseOption(),
    grid: { left: 8, right: 16, top: 26, bottom: 4, containLabel: true },
    legend: { show: false },
    title: { text: title, left: 4, top: 0, textStyle: { color: INK.text, fontSize: 12, fontWeight: 500 } },
    tooltip: { ...baseOption().tooltip, valueFormatter: (v) => (v == null ? '--' : Number(v).toFixed(d)) },
    xAxis: timeAxis(span),
    yAxis: valueAxis({ axisLabel: { color: INK.muted, fontSize: 11, formatter: (v) => v.toFixed(d) } }),
    series,
  };
}

function histogramOption(cap) {
  const mids = cap.counts.map((_, i) => (cap.bin_edges[i] + cap.bin_edges[i + 1]) / 2);
  const width = cap.bin_edges[1] - cap.bin_edges[0];
  const d = decimalsOf(cap.bin_edges);
  const sigma = cap.sigma_overall;
  const curve = sigma > 0 ? mids.map((x) => [x, cap.n * width * Math.exp(-0.5 * ((x - cap.mean) / sigma) ** 2) / (sigma * Math.sqrt(2 * Math.PI))]) : [];
  const spec = [[cap.lsl, t('spc.lsl')], [cap.usl, t('spc.usl')]].filter(([v]) => v != null);
  const top = Math.max(...cap.counts, 1) * 1.08;
  return {
    ...baseOption(),
    grid: { left: 8, right: 56, top: 26, bottom: 4, containLabel: true },
    tooltip: { ...baseOption().tooltip, trigger: 'item' },
    xAxis: { type: 'value', scale: true, min: cap.bin_edges[0], max: cap.bin_edges.at(-1),
      axisLabel: { color: INK.muted, fontSize: 11, formatter: (v) => v.toFixed(d) }, splitLine: { show: false } },
    yAxis: valueAxis({ scale: false }),
    series: [
      { type: 'bar', barWidth: '96%', itemStyle: { color: '#4c9aff' }, data: mids.map((x, i) => [x, cap.counts[i]]) },
      { type: 'line', showSymbol: false, smooth: true, lineStyle: { color: '#f5a524' }, data: curve },
      ...spec.map(([v, name]) => ({
        type: 'line', name, showSymbol: false, lineStyle: { color: RED, width: 2 }, data: [[v, 0], [v, top]],
        endLabel: { show: true, color: '#fca5a5', formatter: () => name },
      })),
    ],
  };
}

function fmtIndex(i) {
  return i ? `${fmtNumber(i.value, 2)} <span class="muted small">(${fmtNumber(i.low, 2)}–${fmtNumber(i.high, 2)})</span>` : '--';
}

export function mount(root) {
  useCss('spc');
  let hours = 8;
  let tag = null;
  let disposed = false;
  const charts = {};
  root.innerHTML = `
    <section class="panel">
      <div class="panel-head">
        <h2>${t('spc.title')}</h2>
        <select id="spc-tag" aria-label="${escapeHtml(t('spc.tag'))}"></select>
        ${segmented('spc-period', PERIODS.map(([k]) => [k, t(`spc.period.${k}`)]), '8h')}
        <span class="spacer"></span>
        <span class="chip" id="spc-phase"></span>
      </div>
      <dl class="facts" id="spc-facts"></dl>
    </section>
    <div class="grid-2">
      <section class="panel"><div class="chart tall" data-chart="main"></div></section>
      <section class="panel"><div class="chart tall" data-chart="spread"></div></section>
      <section class="panel">
        <div class="panel-head"><h3>${t('spc.capability')}</h3></div>
        <div class="chart" data-chart="hist"></div>
        <dl class="facts" id="spc-cap"></dl>
      </section>
      <section class="panel">
        <div class="panel-head"><h3>${t('spc.rules')}</h3></div>
        <table class="data compact spc-rules"><tbody id="spc-rules"></tbody></table>
      </section>
      <section class="panel">
        <div class="panel-head"><h3>${t('spc.attributes')}</h3>
          <select id="spc-source" aria-label="${escapeHtml(t('spc.station'))}"></select></div>
        <div class="chart" data-chart="attr"></div>
      </section>
    </div>`;
  const el = (id) => root.querySelector(id);

  async function chart(name) {
    charts[name] ??= makeChart(root.querySelector(`[data-chart="${name}"]`));
    return charts[name];
  }

  async function loadTags() {
    const tags = await api('/api/spc/tags');
    el('#spc-tag').innerHTML = tags.map((s) => `<option value="${escapeHtml(s.tag)}">${escapeHtml(s.name)}</option>`).join('');
    tag = tags[0]?.tag ?? null;
    return tags;
  }

  async function loadSources() {
    const sources = await api('/api/spc/attributes/sources');
    const opts = [...sources.p.map((s) => ['p', s]), ...sources.u.map((s) => ['u', s])];
    el('#spc-source').innerHTML = opts.map(([k, s]) =>
      `<option value="${k}|${escapeHtml(s)}">${k} · ${escapeHtml(s.split('/').at(-1))}</option>`).join('');
    const insp = opts.findIndex(([, s]) => s.includes('insp'));
    if (insp >= 0) el('#spc-source').selectedIndex = insp;
  }

  function paintRules(res, rulesInfo) {
    const counts = {};
    for (const s of res.series) for (const v of s.violations) counts[v.rule] = (counts[v.rule] || 0) + 1;
    el('#spc-rules').innerHTML = rulesInfo.map((r) => `<tr class="${counts[r.rule] ? 'hit' : ''}">
      <td class="num mono">${r.rule}</td><td><b>${escapeHtml(r.title)}</b><br><span class="muted small">${escapeHtml(r.text)}</span></td>
      <td class="num">${counts[r.rule] ? `<span class="bad">${counts[r.rule]}</span>` : '<span class="muted">0</span>'}</td></tr>`).join('');
  }

  let rulesInfo = [];
  async function load() {
    if (!tag) return;
    const end = live.clock || Date.now();
    const start = end - hours * 3600e3;
    const [res, cap] = await Promise.all([
      api('/api/spc/chart', { query: { tag, start, end } }),
      api('/api/spc/capability', { query: { tag, start, end } }).catch(() => null),
    ]);
    if (disposed) return;
    const phase = el('#spc-phase');
    phase.textContent = t(`spc.phase.${res.phase}`);
    phase.className = `chip phase-${res.phase}`;
    const b = res.baseline;
    const facts = [
      [t('spc.chart_type'), t(`spc.kind.${res.chart}`)],
      [t('spc.points'), String(res.points)],
      [t('spc.lsl'), res.lsl ?? '--'], [t('spc.usl'), res.usl ?? '--'],
      ...(b ? [[t('spc.baseline'), `${t('spc.mean')} ${b.mean.toPrecision(6)} · σ ${b.sigma.toPrecision(3)} · n ${b.n} · ${fmtDateHm(b.frozen_at)} ${escapeHtml(b.frozen_by)}`]] : []),
    ];
    el('#spc-facts').innerHTML = facts.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd>${v}</dd></div>`).join('');
    const [main, spread] = res.series;
    (await chart('main')).setOption(main ? chartOption(main, end - start, t(`spc.chart.${main.kind}`))
      : { title: { text: t('spc.no_data'), left: 'center', top: 'middle', textStyle: { color: INK.muted, fontSize: 13 } } }, { notMerge: true });
    (await chart('spread')).setOption(spread ? chartOption(spread, end - start, t(`spc.chart.${spread.kind}`))
      : { title: { text: main ? t('spc.no_spread') : t('spc.no_data'), left: 'center', top: 'middle', textStyle: { color: INK.muted, fontSize: 13 } } }, { notMerge: true });
    paintRules(res, rulesInfo);
    if (cap) {
      (await chart('hist')).setOption(histogramOption(cap), { notMerge: true });
      el('#spc-cap').innerHTML = [['Cp', cap.cp], ['Cpk', cap.cpk], ['Pp', cap.pp], ['Ppk', cap.ppk]]
        .map(([k, v]) => `<div><dt>${k}</dt><dd>${fmtIndex(v)}</dd></div>`).join('')
        + `<div><dt>${t('spc.out_of_spec')}</dt><dd>${cap.out_of_spec} / ${cap.n}</dd></div>`
        + `<p class="facts-note">${escapeHtml(t('spc.ci_note', { p: Math.round(cap.confidence * 100) }))}</p>`;
    }
    const [kind, source] = (el('#spc-source').value || '').split('|');
    if (source) {
      const attr = await api('/api/spc/attributes', { query: { kind, station: source, start: end - 7 * 86400e3, end } }).catch(() => null);
      if (!disposed && attr) (await chart('attr')).setOption(chartOption(attr.series, 7 * 86400e3, t(`spc.chart.${kind}`)), { notMerge: true });
    }
  }

  (async () => {
    rulesInfo = await api('/api/spc/rules');
    await Promise.all([loadTags(), loadSources()]);
    if (!disposed) load();
  })();
  el('#spc-tag').addEventListener('change', (ev) => { tag = ev.target.value; load(); });
  el('#spc-source').addEventListener('change', () => load());
  onSegment(root, 'spc-period', (v) => { hours = PERIODS.find(([k]) => k === v)[1]; load(); });
  const timer = setInterval(load, 30000);
  return () => {
    disposed = true;
    clearInterval(timer);
    Object.values(charts).forEach((p) => p.then((c) => c.dispose()));
  };
}
