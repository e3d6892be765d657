// Visual inspection page: first-pass yield, quality, defect Pareto, live results with thumbnails, model versions.
import { api } from '../api.js';
import { baseOption, categoryAxis, INK, makeChart, valueAxis } from '../charts.js';
import { escapeHtml, fmtDateTime, fmtPct } from '../format.js';
import { t } from '../i18n.js';
import { can } from '../session.js';
import { useCss } from '../ui.js';

const VERDICT_CLASS = { pass: 'good', fail: 'bad', review: 'warn' };

export const verdictChip = (v) => `<span class="insp-verdict insp-${escapeHtml(v)}">${t(`inspection.verdict.${v}`)}</span>`;

function paretoOption(rows) {
  return {
    ...baseOption(),
    grid: { left: 8, right: 8, top: 24, bottom: 4, containLabel: true },
    xAxis: categoryAxis(rows.map((r) => r.label), { axisLabel: { color: INK.text, fontSize: 11, interval: 0, rotate: 20 } }),
    yAxis: [
      valueAxis({ name: t('inspection.count'), nameTextStyle: { color: INK.muted }, scale: false }),
      valueAxis({ min: 0, max: 100, scale: false, splitLine: { show: false }, axisLabel: { color: INK.muted, formatter: '{value}%' } }),
    ],
    series: [
      { type: 'bar', barMaxWidth: 28, itemStyle: { color: '#ef6b5b' }, data: rows.map((r) => r.count) },
      { type: 'line', yAxisIndex: 1, symbolSize: 5, itemStyle: { color: '#f5a524' }, data: rows.map((r) => +(r.cumulative * 100).toFixed(1)) },
    ],
  };
}

export function mount(root) {
  useCss('inspection');
  let disposed = false;
  let chart = null;
  root.innerHTML = `
    <section class="panel">
      <div class="panel-head">
        <h2>${t('inspection.title')}</h2>
        <span class="muted small">${t('inspection.period_8h')}</span>
        <span class="spacer"></span>
        <span class="muted small" id="insp-model"></span>
      </div>
      <dl class="facts insp-kpis" id="insp-kpis"></dl>
    </section>
    <div class="grid-2">
      <section class="panel"><div class="panel-head"><h3>${t('inspection.pareto')}</h3></div>
        <div class="chart" data-chart="pareto"></div><p class="muted small" id="insp-pareto-empty" hidden>${t('inspection.no_defects')}</p></section>
      <section class="panel"><div class="panel-head"><h3>${t('inspection.models')}</h3><span class="spacer"></span>
        ${can('engineer') ? `<button class="btn small" data-act="retrain">${t('inspection.retrain')}</button>
        <button class="btn small" data-act="rollback">${t('inspection.rollback')}</button>` : ''}</div>
        <div class="table-wrap scroll-y"><table class="data compact" id="insp-models"></table></div>
        <p class="form-error" id="insp-model-error" hidden></p></section>
    </div>
    <section class="panel">
      <div class="panel-head"><h3>${t('inspection.latest')}</h3><span class="spacer"></span>
        <a class="btn small" href="#/review">${t('web.nav.review')}</a></div>
      <div class="insp-grid" id="insp-results"></div>
    </section>`;

  function paintKpis(s) {
    const facts = [
      ['inspection.fpy', fmtPct(s.first_pass_yield)],
      ['inspection.quality', fmtPct(s.quality)],
      ['inspection.inspected', s.inspected],
      ['inspection.passed', s.passed],
      ['inspection.failed', s.failed],
      ['inspection.pending', s.pending_review],
      ['inspection.dropped', s.dropped_images + s.rejected_files],
    ];
    root.querySelector('#insp-kpis').innerHTML = facts.map(([k, v]) =>
      `<div><dt>${t(k)}</dt><dd class="mono">${escapeHtml(v)}</dd></div>`).join('');
    root.querySelector('#insp-model').textContent = s.model_version == null ? t('inspection.no_model')
      : `${t('inspection.model_version')} v${s.model_version} · ${t('inspection.threshold')} ${fmtPct(s.reject_threshold)}`;
  }

  function paintModels(info) {
    const training = info.training?.state === 'running'
      ? `<tr><td colspan="6" class="warn">${t('inspection.training')} ${fmtPct(info.training.progress ?? 0, 0)}</td></tr>` : '';
    const rows = [...info.versions].reverse().map((v) => `<tr>
      <td class="mono">v${v.version}${v.version === info.deployed ? ` <span class="chip">${t('inspection.deployed')}</span>` : ''}</td>
      <td>${fmtDateTime(v.created_ms)}</td>
      <td class="num">${v.metrics.holdout_accuracy == null ? '–' : fmtPct(v.metrics.holdout_accuracy)}</td>
      <td class="num">${v.metrics.ece_after ?? '–'}</td>
      <td class="small muted">${escapeHtml(v.notes || '')}</td>
      <td>${can('engineer') && v.version !== info.deployed ? `<button class="btn small" data-promote="${v.version}">${t('inspection.promote')}</button>` : ''}</td>
    </tr>`).join('');
    root.querySelector('#insp-models').innerHTML = `<thead><tr><th>${t('inspection.version')}</th><th>${t('inspection.created')}</th>
      <th class="num">${t('inspection.accuracy')}</th><th class="num">ECE</th><th>${t('inspection.notes')}</th><th></th></tr></thead>
      <tbody>${training}${rows || `<tr class="empty"><td colspan="6">${t('inspection.no_model')}</td></tr>`}</tbody>`;
  }

  let shown = '';
  function paintResults(results) {
    const key = results.map((r) => `${r.id}:${r.final_verdict}`).join(',');
    if (key === shown) return; // unchanged: keep the loaded thumbnails
    shown = key;
    root.querySelector('#insp-results').innerHTML = results.map((r) => `
      <figure class="insp-card insp-border-${VERDICT_CLASS[r.final_verdict]}">
        ${r.has_image ? `<img src="/api/inspection/results/${r.id}/image" alt="${escapeHtml(r.image_id)}">` : '<div class="insp-noimg"></div>'}
        <figcaption>${verdictChip(r.final_verdict)} <b>${escapeHtml(r.final_label)}</b>
          <span class="mono small">${fmtPct(r.confidence)}</span><br>
          <span class="muted small">${escapeHtml(r.order || r.part || r.station)} · ${fmtDateTime(r.ts)}</span></figcaption>
      </figure>`).join('') || `<p class="muted">${t('inspection.no_results')}</p>`;
  }

  async function load() {
    const [stats, results, models] = await Promise.all([
      api('/api/inspection/stats'), api('/api/inspection/results', { query: { limit: 24 } }), api('/api/inspection/models'),
    ].map((p) => p.catch((err) => { console.error(err); return null; })));
    if (disposed) return;
    if (stats) {
      paintKpis(stats);
      chart ??= makeChart(root.querySelector('[data-chart="pareto"]'));
      (await chart).setOption(paretoOption(stats.pareto.slice(0, 10)), { notMerge: true });
      root.querySelector('#insp-pareto-empty').hidden = stats.pareto.length > 0;
    }
    if (results) paintResults(results);
    if (models) paintModels(models);
  }

  async function act(path) {
    const err = root.querySelector('#insp-model-error');
    err.hidden = true;
    try {
      await api(path, { method: 'POST', body: {} });
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    }
    load();
  }

  root.addEventListener('click', (ev) => {
    const promote = ev.target.closest('[data-promote]');
    if (promote) act(`/api/inspection/models/${promote.dataset.promote}/promote`);
    const btn = ev.target.closest('[data-act]');
    if (btn) act(`/api/inspection/models/${btn.dataset.act}`);
  });
  load();
  const timer = setInterval(load, 5000);
  return () => {
    disposed = true;
    clearInterval(timer);
    if (chart) chart.then((c) => c.dispose());
  };
}
