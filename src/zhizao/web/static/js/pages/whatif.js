// What-if page: change the simulated line (extra machine, buffers, cycle time, shifts, maintenance,
// demand), run baseline and scenario side by side, and compare the KPIs with 95 % confidence intervals.
import { api } from '../api.js';
import { baseOption, categoryAxis, makeChart, PALETTE, valueAxis } from '../charts.js';
import { escapeHtml, fmtDateTime, fmtNumber } from '../format.js';
import { pick, t } from '../i18n.js';
import { can } from '../session.js';
import { useCss } from '../ui.js';

const POLL_MS = 700;
const PCT_KPIS = new Set(['on_time_rate', 'oee']);

const fmtKpi = (kpi, v) => (v == null ? '–' : PCT_KPIS.has(kpi) ? `${fmtNumber(v * 100, 1)} %` : fmtNumber(v, v >= 100 ? 0 : 2));
const fmtEst = (kpi, e) => (e.mean == null ? '–'
  : `${fmtKpi(kpi, e.mean)}${e.half_width != null ? ` <span class="muted">± ${fmtKpi(kpi, e.half_width)}</span>` : ''}`);

// Shift patterns offered: as modelled, then the modelled shifts from the first k (e.g. 1, 2 or 3 shifts).
function shiftPresets(shifts) {
  const presets = [{ key: 'modelled', label: t('whatif.shifts.as_modelled'), shifts: null }];
  for (let k = 1; k < shifts.length; k += 1) {
    const chosen = shifts.slice(0, k);
    presets.push({ key: `first${k}`, label: chosen.map((s) => pick(s.name) || s.id).join(' + '), shifts: chosen });
  }
  return presets;
}

export function mount(root) {
  useCss('whatif');
  let disposed = false;
  let timer = null;
  let chart = null;
  let opts = null;
  let presets = [];
  const engineer = can('engineer');

  root.innerHTML = `
    <section class="panel">
      <div class="panel-head"><h2>${t('whatif.title')}</h2></div>
      <p class="muted small">${t('whatif.intro')}</p>
      <form class="wi-form" id="wi-form"></form>
      <div class="wi-status" id="wi-status"></div>
    </section>
    <div class="grid-2">
      <section class="panel"><div class="panel-head"><h3>${t('whatif.results')}</h3><span class="muted small" id="wi-run-title"></span></div>
        <div class="table-wrap"><table class="wi-table" id="wi-table"></table></div></section>
      <section class="panel"><div class="panel-head"><h3>${t('whatif.col.difference')} (%)</h3></div><div class="chart tall" id="wi-chart"></div></section>
    </div>
    <section class="panel"><div class="panel-head"><h3>${t('whatif.history')}</h3></div>
      <div class="table-wrap"><table class="wi-history" id="wi-history"></table></div></section>`;
  const $ = (id) => root.querySelector(`#${id}`);

  function renderForm() {
    const machines = opts.machines.map((m) => `<option value="${escapeHtml(m.id)}">${escapeHtml(pick(m.name) || m.id)} (${escapeHtml(m.id)})</option>`).join('');
    $('wi-form').innerHTML = `
      <label>${t('whatif.name')}<input name="name" value="${escapeHtml(t('whatif.default_name'))}" maxlength="80"></label>
      <label>${t('whatif.extra_machine')}<select name="extra"><option value="">${t('whatif.none')}</option>${machines}</select></label>
      <label>${t('whatif.cycle')}<select name="cycle_eq"><option value="">${t('whatif.none')}</option>${machines}</select></label>
      <label>${t('whatif.cycle_factor')}<input name="cycle_factor" type="number" min="0.2" max="5" step="0.05" value="0.9"></label>
      <label>${t('whatif.shifts')}<select name="shifts">${presets.map((p) => `<option value="${p.key}">${escapeHtml(p.label)}</option>`).join('')}</select></label>
      <label>${t('whatif.pm')}<input name="pm" type="number" min="1" step="1" value="${opts.pm_interval_h}"></label>
      <label class="wi-check"><input name="rtf" type="checkbox"> ${t('whatif.run_to_failure')}</label>
      <label>${t('whatif.order_load')}<input name="load" type="number" min="5" max="150" step="1" value="${Math.round(opts.order_load * 100)}"></label>
      <fieldset class="wi-buffers"><legend>${t('whatif.buffers')}</legend>
        ${opts.buffers.map((b) => `<label>${escapeHtml(pick(b.name) || b.id)}<input data-buffer="${escapeHtml(b.id)}" type="number" min="1" max="10000" value="${b.capacity ?? ''}" data-modelled="${b.capacity ?? ''}"></label>`).join('')}
      </fieldset>
      <label>${t('whatif.days')}<input name="days" type="number" min="1" max="90" step="1" value="7"></label>
      <label>${t('whatif.replications')}<input name="reps" type="number" min="2" max="50" step="1" value="5"></label>
      <div class="wi-actions">${engineer ? `<button class="btn" type="submit" id="wi-run">${t('whatif.run')}</button>`
        : `<span class="muted">${t('whatif.engineer_only')}</span>`}</div>`;
  }

  function scenarioFromForm() {
    const f = $('wi-form');
    const v = (name) => f.elements[name].value;
    const scenario = { name: v('name') || 'scenario' };
    if (v('extra')) scenario.extra_machines = { [v('extra')]: 1 };
    if (v('cycle_eq')) scenario.cycle_factor = { [v('cycle_eq')]: Number(v('cycle_factor')) };
    const preset = presets.find((p) => p.key === v('shifts'));
    if (preset?.shifts) scenario.shifts = preset.shifts;
    if (f.elements.rtf.checked) scenario.run_to_failure = true;
    else if (Number(v('pm')) !== opts.pm_interval_h) scenario.pm_interval_h = Number(v('pm'));
    const load = Number(v('load')) / 100;
    if (Math.abs(load - opts.order_load) > 1e-9) scenario.order_load = load;
    const buffers = {};
    f.querySelectorAll('[data-buffer]').forEach((el) => {
      if (el.value && el.value !== el.dataset.modelled) buffers[el.dataset.buffer] = Number(el.value);
    });
    if (Object.keys(buffers).length) scenario.buffer_capacity = buffers;
    return { scenario, settings: { days: Number(v('days')), replications: Number(v('reps')) } };
  }

  function renderResult(run) {
    $('wi-run-title').textContent = `${run.scenario.name} · ${fmtDateTime(run.started_ms)}`;
    const kpis = run.result?.kpis || [];
    $('wi-table').innerHTML = `<thead><tr><th>${t('whatif.col.kpi')}</th><th>${t('whatif.col.baseline')}</th><th>${t('whatif.col.scenario')}</th>
      <th>${t('whatif.col.difference')}</th><th>${t('whatif.col.verdict')}</th></tr></thead><tbody>${kpis.map((k) => `<tr>
      <td>${t(`whatif.kpi.${k.kpi}`)}</td><td class="mono">${fmtEst(k.kpi, k.baseline)}</td><td class="mono">${fmtEst(k.kpi, k.scenario)}</td>
      <td class="mono">${fmtEst(k.kpi, k.difference)}</td><td><span class="chip wi-${k.verdict}">${t(`whatif.verdict.${k.verdict}`)}</span></td></tr>`).join('')}</tbody>`;
    if (!chart) return;
    // Relative change of each KPI with its interval, as a share of the baseline.
    const rows = kpis.filter((k) => k.baseline.mean);
    const rel = rows.map((k) => (100 * k.difference.mean) / Math.abs(k.baseline.mean));
    const err = rows.map((k) => (100 * (k.difference.half_width ?? 0)) / Math.abs(k.baseline.mean));
    const colour = { better: PALETTE[1], worse: PALETTE[5], no_difference: '#8593a3' };
    chart.setOption({
      ...baseOption(),
      grid: { left: 150, right: 30, top: 20, bottom: 30 },
      xAxis: valueAxis({ axisLabel: { formatter: '{value} %' } }),
      yAxis: categoryAxis(rows.map((k) => t(`whatif.kpi.${k.kpi}`)), { inverse: true }),
      series: [
        { type: 'bar', data: rows.map((k, i) => ({ value: rel[i], itemStyle: { color: colour[k.verdict] } })), barWidth: 14 },
        { type: 'custom', data: rows.map((_, i) => [rel[i] - err[i], rel[i] + err[i], i]),
          renderItem: (params, apiX) => {
            const lo = apiX.coord([apiX.value(0), apiX.value(2)]);
            const hi = apiX.coord([apiX.value(1), apiX.value(2)]);
            return { type: 'group', children: [
              { type: 'line', shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style: { stroke: '#c3cdd9', lineWidth: 1.5 } },
              { type: 'line', shape: { x1: lo[0], y1: lo[1] - 5, x2: lo[0], y2: lo[1] + 5 }, style: { stroke: '#c3cdd9' } },
              { type: 'line', shape: { x1: hi[0], y1: hi[1] - 5, x2: hi[0], y2: hi[1] + 5 }, style: { stroke: '#c3cdd9' } }] };
          } },
      ],
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' },
        valueFormatter: (v) => (Array.isArray(v) ? '' : `${fmtNumber(v, 1)} %`) },
    }, true);
  }

  async function refreshHistory() {
    const runs = await api('/api/whatif/runs');
    if (disposed) return;
    $('wi-history').innerHTML = `<tbody>${runs.map((r) => `<tr data-run="${escapeHtml(r.id)}" class="wi-run-row">
      <td>${fmtDateTime(r.started_ms)}</td><td>${escapeHtml(r.scenario.name)}</td><td>${escapeHtml(r.user)}</td>
      <td>${r.settings.replications} × ${r.settings.days} d</td><td>${escapeHtml(r.status)}</td></tr>`).join('')}</tbody>`;
    return runs;
  }

  async function showRun(id) {
    const run = await api(`/api/whatif/runs/${encodeURIComponent(id)}`);
    if (disposed) return;
    const status = $('wi-status');
    if (run.status === 'running') {
      status.innerHTML = `<div class="progress"><div style="width:${(100 * run.done) / run.total}%"></div></div>
        <span class="muted small">${t('whatif.running', { done: run.done, total: run.total })}</span>`;
      timer = setTimeout(() => showRun(id), POLL_MS);
      return;
    }
    status.innerHTML = run.status === 'failed' ? `<div class="form-error">${escapeHtml(t('whatif.failed', { error: run.error }))}</div>` : '';
    if (run.result) renderResult(run);
    refreshHistory();
  }

  (async () => {
    opts = await api('/api/whatif/options');
    if (disposed) return;
    presets = shiftPresets(opts.shifts);
    renderForm();
    chart = await makeChart($('wi-chart'));
    const runs = await refreshHistory();
    const latest = runs?.find((r) => r.status !== 'failed');
    if (latest) showRun(latest.id);
    $('wi-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearTimeout(timer);
      $('wi-status').innerHTML = '';
      try {
        const run = await api('/api/whatif/runs', { method: 'POST', body: scenarioFromForm() });
        showRun(run.id);
      } catch (err) {
        $('wi-status').innerHTML = `<div class="form-error">${escapeHtml(err.message)}</div>`;
      }
    });
    $('wi-history').addEventListener('click', (ev) => {
      const row = ev.target.closest('[data-run]');
      if (row) { clearTimeout(timer); showRun(row.dataset.run); }
    });
  })();

  return () => { disposed = true; clearTimeout(timer); chart?.dispose(); };
}
