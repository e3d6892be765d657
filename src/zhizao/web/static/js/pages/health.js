// Equipment health (设备健康): the fleet ranked by risk; a machine's health index trend,
// contributing sensors, RUL with its interval, likely fault and early warnings.
import { api } from '../api.js';
import { baseOption, categoryAxis, INK, makeChart, timeAxis, valueAxis } from '../charts.js';
import { escapeHtml, fmtDateTime, fmtNumber, fmtPct } from '../format.js';
import { has, t } from '../i18n.js';
import { nameOf, plant } from '../plant.js';
import { can } from '../session.js';
import { stateLabel } from '../states.js';
import { useCss } from '../ui.js';

const REFRESH_MS = 10000;
const sensorLabel = (s) => t(`maintenance.sensor.${s}`);
const modeLabel = (m) => (has(`maintenance.mode.${m}`) ? t(`maintenance.mode.${m}`) : m);
const machineName = (row) => nameOf(plant.equipment.get(row.equipment)) || row.machine;

function healthClass(h, cfg = { warn_health: 75, critical_health: 20 }) {
  if (h == null) return 'hl-none';
  if (h < cfg.critical_health) return 'hl-critical';
  if (h < cfg.warn_health) return 'hl-warning';
  return 'hl-ok';
}

function rulText(cal) {
  if (!cal) return t('maintenance.health.rul_none');
  return t('maintenance.health.rul_interval', { median: fmtNumber(cal.median, 1), low: fmtNumber(cal.low, 1), high: fmtNumber(cal.high, 1) });
}

function modelText(row) {
  if (row.training) return t('maintenance.health.training');
  if (row.model_version == null) return t('maintenance.health.learning', { n: row.windows, min: row.min_windows });
  return `v${row.model_version}`;
}

export function mount(root, param) {
  useCss('health');
  let selected = param || null;
  let disposed = false;
  const charts = {};

  root.innerHTML = `
    <section class="panel">
      <div class="panel-head"><h2>${t('maintenance.health.fleet')}</h2><span class="spacer"></span>
        <span class="muted small" id="hl-status"></span></div>
      <div class="table-wrap"><table class="data hl-fleet">
        <thead><tr>
          <th>${t('maintenance.health.machine')}</th><th>${t('maintenance.health.state')}</th>
          <th class="num">${t('maintenance.health.index')}</th><th></th><th class="num">${t('maintenance.health.trend')}</th>
          <th>${t('maintenance.health.rul')}</th><th>${t('maintenance.health.top_sensor')}</th>
          <th>${t('maintenance.health.phase')}</th><th>${t('maintenance.health.model')}</th>
        </tr></thead>
        <tbody id="hl-fleet"><tr class="empty"><td colspan="9">${t('web.loading')}</td></tr></tbody>
      </table></div>
    </section>
    <section class="panel hl-detail" id="hl-detail"><p class="muted">${t('maintenance.health.select')}</p></section>`;

  const fleetEl = root.querySelector('#hl-fleet');
  const detailEl = root.querySelector('#hl-detail');

  fleetEl.addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr[data-machine]');
    if (!tr) return;
    selected = tr.dataset.machine;
    history.replaceState(null, '', `#/health/${selected}`);
    fleetEl.querySelectorAll('tr').forEach((r) => r.classList.toggle('sel', r === tr));
    detailEl.dataset.machine = '';
    loadDetail();
  });

  function paintFleet(rows) {
    fleetEl.innerHTML = rows.map((r) => `
      <tr data-machine="${escapeHtml(r.machine)}" class="${r.machine === selected ? 'sel' : ''}">
        <td><b>${escapeHtml(machineName(r))}</b> <span class="muted small mono">${escapeHtml(r.machine)}</span></td>
        <td>${r.state ? `<span class="state-chip st-${escapeHtml(r.state)}">${escapeHtml(stateLabel(r.state))}</span>` : ''}</td>
        <td class="num"><b class="${healthClass(r.health)}">${r.health == null ? '--' : fmtNumber(r.health, 0)}</b></td>
        <td class="hl-bar-cell"><div class="hl-bar"><div class="${healthClass(r.health)}" style="width:${r.health ?? 0}%"></div></div></td>
        <td class="num">${r.trend_per_h == null ? '' : fmtNumber(r.trend_per_h, 1)}</td>
        <td>${r.rul_calendar_h ? escapeHtml(rulText(r.rul_calendar_h)) : '<span class="muted">–</span>'}</td>
        <td>${r.top_sensor ? escapeHtml(sensorLabel(r.top_sensor)) : ''}</td>
        <td><span class="hl-phase ph-${escapeHtml(r.phase)}">${t(`maintenance.health.phase.${r.phase}`)}</span></td>
        <td class="muted small">${escapeHtml(modelText(r))}</td>
      </tr>`).join('') || `<tr class="empty"><td colspan="9">${t('maintenance.wo.empty')}</td></tr>`;
    const trained = rows.filter((r) => r.model_version != null).length;
    root.querySelector('#hl-status').textContent = `${t('maintenance.health.model')}: ${trained}/${rows.length}`;
  }

  async function chart(name) {
    const el = detailEl.querySelector(`[data-chart="${name}"]`);
    if (!charts[name] || charts[name].el !== el) {
      charts[name]?.promise.then((c) => c.dispose());
      charts[name] = { el, promise: makeChart(el) };
    }
    return charts[name].promise;
  }

  function trendOption(m) {
    const pts = m.history.map((p) => [p.ts, p.health]);
    const span = pts.length ? pts[pts.length - 1][0] - pts[0][0] : 0;
    const line = (y, colour, label) => ({ yAxis: y, lineStyle: { color: colour, type: 'dashed' }, label: { color: colour, formatter: label, position: 'insideEndTop' } });
    const warnings = (m.warnings || []).map((w) => ({ xAxis: w.ts, lineStyle: { color: w.level === 'critical' ? '#ef4444' : '#f5a524' }, label: { show: false } }));
    return {
      ...baseOption(),
      grid: { left: 40, right: 16, top: 16, bottom: 24 },
      tooltip: { ...baseOption().tooltip, valueFormatter: (v) => fmtNumber(v, 1) },
      xAxis: timeAxis(span),
      yAxis: valueAxis({ min: 0, max: 100, scale: false }),
      series: [{
        type: 'line', name: t('maintenance.health.index'), showSymbol: false, data: pts, lineStyle: { width: 2, color: '#4c9aff' },
        areaStyle: { color: 'rgba(76,154,255,.12)' },
        markLine: { symbol: 'none', silent: true, data: [
          line(m.config.warn_health, '#f5a524', t('maintenance.health.warn_line')),
          line(m.config.critical_health, '#ef4444', t('maintenance.health.critical_line')), ...warnings] },
      }],
    };
  }

  function contributionOption(m) {
    const entries = Object.entries(m.contributions).sort((a, b) => a[1] - b[1]);
    return {
      ...baseOption(),
      grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
      tooltip: { ...baseOption().tooltip, trigger: 'item',
        formatter: (p) => `${escapeHtml(p.name)}: ${fmtPct(p.value)} · ${fmtNumber(m.residuals[entries[p.dataIndex][0]], 1)}σ` },
      xAxis: valueAxis({ min: 0, max: 1, scale: false, axisLabel: { color: INK.muted, formatter: (v) => `${Math.round(v * 100)}%` } }),
      yAxis: categoryAxis(entries.map(([s]) => sensorLabel(s))),
      series: [{ type: 'bar', barMaxWidth: 18, data: entries.map(([, v]) => v),
        itemStyle: { color: (p) => (p.dataIndex === entries.length - 1 ? '#ef6b5b' : '#4c9aff') },
        label: { show: true, position: 'right', color: INK.text, formatter: (p) => fmtPct(p.value, 0) } }],
    };
  }

  function drifted(d) {
    if (d.exceedance_share == null || d.fresh_windows < 12) return t('maintenance.health.drift_unknown');
    return t(d.drifted ? 'maintenance.health.drift_yes' : 'maintenance.health.drift_ok', { share: fmtPct(d.exceedance_share, 0) });
  }

  function warningRows(list) {
    if (!list.length) return `<tr class="empty"><td colspan="5">${t('maintenance.health.warnings_none')}</td></tr>`;
    return list.map((w) => `<tr>
      <td class="nowrap">${fmtDateTime(w.ts)}</td>
      <td><span class="hl-phase ph-${escapeHtml(w.level)}">${t(`maintenance.health.level.${w.level}`)}</span></td>
      <td class="num">${fmtNumber(w.health, 0)}</td>
      <td>${w.lead_time_h == null ? '–' : `${fmtNumber(w.lead_time_h, 1)} h`}</td>
      <td>${escapeHtml((w.sensors || []).slice(0, 2).map((s) => sensorLabel(s.sensor)).join(', '))}</td></tr>`).join('');
  }

  async function loadDetail() {
    if (!selected) return;
    let m;
    let warnings;
    try {
      [m, warnings] = await Promise.all([api(`/api/maintenance/machines/${encodeURIComponent(selected)}`),
        api('/api/maintenance/warnings', { query: { equipment: selected, limit: 20 } })]);
    } catch (err) {
      detailEl.innerHTML = `<p class="form-error">${escapeHtml(err.message)}</p>`;
      return;
    }
    if (disposed) return;
    m.warnings = warnings.filter((w) => m.history.length && w.ts >= m.history[0].ts);
    if (detailEl.dataset.machine !== m.machine) {
      detailEl.dataset.machine = m.machine;
      detailEl.innerHTML = `
        <div class="panel-head"><h2>${escapeHtml(machineName(m))}</h2>
          <span class="muted mono small">${escapeHtml(m.equipment)}</span><span class="spacer"></span>
          ${can('operator') ? `<a class="btn" id="hl-wo" href="#/workorders/new/${escapeHtml(m.machine)}">${t('maintenance.health.create_wo')}</a>` : ''}</div>
        <dl class="facts hl-facts" id="hl-facts"></dl>
        <div class="grid-2">
          <div><h3>${t('maintenance.health.trend_chart')}</h3><div class="chart tall" data-chart="trend"></div></div>
          <div><h3>${t('maintenance.health.contributions')}</h3><div class="chart tall" data-chart="contrib"></div></div>
        </div>
        <h3>${t('maintenance.health.warnings')}</h3>
        <div class="table-wrap scroll-y"><table class="data compact"><thead><tr>
          <th>${t('web.col.time')}</th><th>${t('maintenance.health.phase')}</th><th class="num">${t('maintenance.health.index')}</th>
          <th>${t('maintenance.health.lead_time')}</th><th>${t('maintenance.health.top_sensor')}</th></tr></thead>
          <tbody id="hl-warnings"></tbody></table></div>`;
    }
    const faults = m.faults.length
      ? m.faults.map((f) => `${escapeHtml(modeLabel(f.mode))} ${fmtPct(f.probability, 0)}`).join(' · ')
      : t('maintenance.health.faults_none');
    const rul = m.rul_calendar_h
      ? `<b>${escapeHtml(rulText(m.rul_calendar_h))}</b><span class="facts-note">${escapeHtml(t('maintenance.health.rul_note', {
        median: fmtNumber(m.rul_h.median, 1), low: fmtNumber(m.rul_h.low, 1), high: fmtNumber(m.rul_h.high, 1) }))}</span>`
      : t('maintenance.health.rul_none');
    root.querySelector('#hl-facts').innerHTML = [
      [t('maintenance.health.index'), `<b class="hl-big ${healthClass(m.health, m.config)}" id="hl-index">${m.health == null ? '--' : fmtNumber(m.health, 0)}</b>`],
      [t('maintenance.health.phase'), `<span class="hl-phase ph-${escapeHtml(m.phase)}">${t(`maintenance.health.phase.${m.phase}`)}</span>`],
      [t('maintenance.health.rul'), `<span id="hl-rul">${rul}</span>`],
      [t('maintenance.health.faults'), `<span id="hl-faults">${faults}</span>`],
      [t('maintenance.health.model'), escapeHtml(modelText(m))],
      [t('maintenance.health.drift'), escapeHtml(drifted(m.drift))],
    ].map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join('');
    root.querySelector('#hl-warnings').innerHTML = warningRows(warnings);
    (await chart('trend')).setOption(trendOption(m), { notMerge: true });
    (await chart('contrib')).setOption(contributionOption(m), { notMerge: true });
  }

  async function load() {
    try {
      const rows = await api('/api/maintenance/fleet');
      if (disposed) return;
      paintFleet(rows);
      if (!selected && rows.length) selected = rows[0].machine;
      await loadDetail();
    } catch (err) {
      fleetEl.innerHTML = `<tr class="empty"><td colspan="9">${escapeHtml(err.message)}</td></tr>`;
    }
  }

  load();
  const timer = setInterval(load, REFRESH_MS);
  return () => {
    disposed = true;
    clearInterval(timer);
    Object.values(charts).forEach((c) => c.promise.then((ch) => ch.dispose()));
  };
}
