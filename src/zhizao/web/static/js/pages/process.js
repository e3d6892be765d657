// Process optimisation page: key parameters, recommended setpoints with the expected outcome, and the
// closed loop on the simulated process (Bayesian optimisation versus random search).
import { api } from '../api.js';
import { baseOption, categoryAxis, makeChart, PALETTE, valueAxis } from '../charts.js';
import { escapeHtml, fmtNumber } from '../format.js';
import { pick, t } from '../i18n.js';
import { can } from '../session.js';
import { useCss } from '../ui.js';

const bestSoFar = (xs) => xs.reduce((acc, x) => [...acc, Math.max(x, acc.length ? acc[acc.length - 1] : -Infinity)], []);

export function mount(root) {
  useCss('process');
  let disposed = false;
  const charts = {};
  root.innerHTML = `
    <section class="panel">
      <div class="panel-head"><h2>${t('process.title')}</h2><span class="spacer"></span><span class="muted small" id="po-facts"></span></div>
      <p class="muted small">${t('process.intro')}</p>
    </section>
    <div class="grid-2">
      <section class="panel"><div class="panel-head"><h3>${t('process.importance')}</h3></div><div class="chart tall" id="po-importance"></div></section>
      <section class="panel"><div class="panel-head"><h3>${t('process.recommendation')}</h3></div>
        <div class="table-wrap"><table class="po-table" id="po-rec"></table></div><p class="muted small">${t('process.rec_note')}</p></section>
    </div>
    <section class="panel">
      <div class="panel-head"><h3>${t('process.closed_loop')}</h3><span class="spacer"></span>
        ${can('engineer') ? `<label class="small muted">${t('process.budget')} <input id="po-budget" type="number" min="5" max="100" value="30"></label>
        <button class="btn" id="po-run">${t('process.run')}</button>` : ''}</div>
      <div id="po-loop-status" class="muted small">${t('process.loop_hint')}</div>
      <div class="chart tall" id="po-loop"></div>
    </section>`;
  const $ = (id) => root.querySelector(`#${id}`);

  (async () => {
    const [analysis, records] = await Promise.all([api('/api/process/analysis'), api('/api/process/batches')]);
    if (disposed) return;
    const spec = analysis.spec;
    const label = (name) => { const p = spec.parameters.find((q) => q.name === name); return p ? pick(p.label) || p.name : name; };
    $('po-facts').textContent = t('process.facts', { batches: analysis.batches, r2: fmtNumber(analysis.surrogate_r2_cv, 3) });
    charts.importance = await makeChart($('po-importance'));
    const imp = analysis.importance;
    charts.importance.setOption({
      ...baseOption(),
      grid: { left: 130, right: 30, top: 10, bottom: 30 },
      xAxis: valueAxis(),
      yAxis: categoryAxis(imp.map((i) => label(i.parameter)), { inverse: true }),
      series: [{ type: 'bar', data: imp.map((i) => i.importance), itemStyle: { color: PALETTE[0] }, barWidth: 14 }],
      tooltip: { trigger: 'axis', valueFormatter: (v) => fmtNumber(v, 3) },
    });
    const best = records.batches.reduce((a, b) => (b[spec.outcome] > a[spec.outcome] ? b : a));
    const rec = analysis.recommendation;
    $('po-rec').innerHTML = `<thead><tr><th>${t('process.parameter')}</th><th>${t('process.best_batch')}</th><th>${t('process.recommended')}</th></tr></thead>
      <tbody>${spec.parameters.map((p) => `<tr><td>${escapeHtml(label(p.name))} <span class="muted">${escapeHtml(p.unit)}</span></td>
        <td class="mono">${fmtNumber(best[p.name], 1)}</td><td class="mono">${fmtNumber(rec.setpoints[p.name], 1)}</td></tr>`).join('')}
      <tr class="po-outcome"><td>${t('process.outcome')} (${escapeHtml(spec.outcome)})</td><td class="mono">${fmtNumber(best[spec.outcome], 2)}</td>
        <td class="mono">${fmtNumber(rec.predicted, 2)} ± ${fmtNumber(rec.predicted_std, 2)}</td></tr></tbody>`;
    charts.loop = await makeChart($('po-loop'));
    $('po-run')?.addEventListener('click', async () => {
      $('po-run').disabled = true;
      $('po-loop-status').textContent = t('process.running');
      try {
        const res = await api('/api/process/optimise', { method: 'POST', query: { budget: $('po-budget').value } });
        if (disposed) return;
        const b = res.bayes;
        const r = res.random;
        $('po-loop-status').textContent = t('process.loop_result', {
          bayes: fmtNumber(b.gap_pct, 2), random: fmtNumber(r.gap_pct, 2), n: b.recommendation.evaluations,
          optimum: fmtNumber(b.optimum, 2) });
        const xs = b.trace.map((_, i) => String(i + 1));
        charts.loop.setOption({
          ...baseOption(),
          legend: { top: 0, textStyle: { color: '#c3cdd9' } },
          grid: { left: 50, right: 20, top: 30, bottom: 30 },
          xAxis: categoryAxis(xs, { name: t('process.batch') }),
          yAxis: valueAxis({ name: spec.outcome, min: (v) => Math.floor(v.min - 1) }),
          series: [
            { name: t('process.bayes'), type: 'line', step: 'end', data: bestSoFar(b.trace), itemStyle: { color: PALETTE[1] } },
            { name: t('process.random'), type: 'line', step: 'end', data: bestSoFar(r.trace), itemStyle: { color: PALETTE[2] } },
            { name: t('process.optimum'), type: 'line', data: xs.map(() => b.optimum), symbol: 'none', lineStyle: { type: 'dashed', color: '#8593a3' } },
          ],
          tooltip: { trigger: 'axis', valueFormatter: (v) => fmtNumber(v, 2) },
        }, true);
      } catch (err) {
        $('po-loop-status').textContent = err.message;
      } finally {
        if ($('po-run')) $('po-run').disabled = false;
      }
    });
  })();
  return () => { disposed = true; Object.values(charts).forEach((c) => c.dispose()); };
}
