// Demand forecast page: the series, the chosen model with its backtest accuracy, and a chart of
// history, forecast and the prediction-interval band.
import { api } from '../api.js';
import { baseOption, categoryAxis, INK, makeChart, PALETTE, valueAxis } from '../charts.js';
import { escapeHtml, fmtDateHm, fmtNumber } from '../format.js';
import { currentLang, t } from '../i18n.js';
import { useCss } from '../ui.js';

const nameOf = (s) => (currentLang() === 'zh-CN' ? s.name_zh : s.name_en) || s.id;
const fmtAcc = (v, d = 1) => (v == null ? '–' : fmtNumber(v, d));

// "theta+lgbm" / "mean(theta+lgbm)" -> readable names of the parts.
function modelLabel(model) {
  if (!model) return '–';
  const m = model.match(/^(mean|median)\((.*)\)$/);
  const parts = (m ? m[2] : model).split('+').map((p) => t(`forecasting.model.${p}`));
  const joined = parts.join(' + ');
  if (m) return `${t(`forecasting.combine.${m[1]}`)}(${joined})`;
  return parts.length > 1 ? `${t('forecasting.combine.mean')}(${joined})` : joined;
}

export function mount(root) {
  useCss('forecast');
  let disposed = false;
  let selected = null;
  let timer = null;
  let chart = null;

  root.innerHTML = `
    <section class="panel">
      <div class="panel-head">
        <h2>${t('forecasting.title')}</h2>
        <span class="muted small" id="fc-status"></span>
        <span class="spacer"></span>
        <button type="button" class="btn small" id="fc-rerun">${t('forecasting.rerun')}</button>
      </div>
      <p class="muted small">${t('forecasting.intro')}</p>
    </section>
    <div class="fc-grid">
      <section class="panel">
        <div class="panel-head"><h3>${t('forecasting.series')}</h3></div>
        <div class="table-wrap"><table class="data compact" id="fc-table">
          <thead><tr><th>${t('forecasting.col.item')}</th><th>${t('forecasting.col.model')}</th>
          <th class="num">sMAPE %</th><th class="num">MASE</th></tr></thead><tbody></tbody></table></div>
      </section>
      <section class="panel">
        <div class="panel-head"><h3 id="fc-title"></h3></div>
        <div class="chart tall" id="fc-chart"></div>
        <dl class="facts" id="fc-facts"></dl>
        <h4 class="fc-sub">${t('forecasting.candidates')}</h4>
        <div class="table-wrap"><table class="data compact" id="fc-candidates">
          <thead><tr><th>${t('forecasting.col.model')}</th><th class="num">OWA</th>
          <th class="num">sMAPE %</th><th class="num">MASE</th></tr></thead><tbody></tbody></table></div>
      </section>
    </div>`;

  function paintStatus(st) {
    const el = root.querySelector('#fc-status');
    const when = st.updated_ms ? fmtDateHm(st.updated_ms) : '';
    el.textContent = `${t(`forecasting.state.${st.state}`)}${when ? ` · ${when}` : ''}${st.seconds != null ? ` · ${st.seconds} s` : ''}`
      + ` · ${t('forecasting.horizon_days', { n: st.horizon })}${st.error ? ` · ${st.error}` : ''}`;
  }

  function chartOption(d) {
    const dates = [...d.history_dates, ...(d.forecast_dates || [])];
    const pad = (arr, before) => [...Array(before).fill(null), ...arr];
    const n = d.history.length;
    const lower = pad(d.lower || [], n);
    const band = pad((d.upper || []).map((u, i) => u - d.lower[i]), n);
    return {
      ...baseOption(),
      legend: { top: 0, textStyle: { color: INK.text }, itemWidth: 12, itemHeight: 8,
        data: [t('forecasting.history'), t('forecasting.forecast'), t('forecasting.band', { level: d.status.level })] },
      grid: { left: 8, right: 16, top: 30, bottom: 4, containLabel: true },
      tooltip: { ...baseOption().tooltip, valueFormatter: (v) => (v == null ? '' : fmtNumber(v, 1)) },
      xAxis: categoryAxis(dates, { boundaryGap: false, axisLabel: { color: INK.muted, fontSize: 11, hideOverlap: true } }),
      yAxis: valueAxis({ min: 0 }),
      series: [
        { type: 'line', name: t('forecasting.history'), data: d.history, showSymbol: false, itemStyle: { color: PALETTE[0] },
          lineStyle: { width: 1.4 } },
        { type: 'line', name: 'lower', stack: 'band', data: lower, showSymbol: false, lineStyle: { opacity: 0 },
          tooltip: { show: false }, silent: true },
        { type: 'line', name: t('forecasting.band', { level: d.status.level }), stack: 'band', data: band, showSymbol: false,
          lineStyle: { opacity: 0 }, areaStyle: { color: 'rgba(245,165,36,0.22)' }, itemStyle: { color: 'rgba(245,165,36,0.5)' },
          tooltip: { show: false } },
        { type: 'line', name: t('forecasting.forecast'), data: pad(d.forecast || [], n), showSymbol: false,
          itemStyle: { color: PALETTE[2] }, lineStyle: { width: 2 } },
      ],
    };
  }

  async function showSeries(id) {
    selected = id;
    root.querySelectorAll('#fc-table tbody tr').forEach((tr) => tr.classList.toggle('selected', tr.dataset.id === id));
    const d = await api(`/api/forecast/series/${encodeURIComponent(id)}`, { query: { history: 120 } });
    if (disposed) return;
    root.querySelector('#fc-title').textContent = `${nameOf(d)} · ${t(`forecasting.kind.${d.kind}`)}`;
    chart ??= await makeChart(root.querySelector('#fc-chart'));
    chart.setOption(chartOption(d), { notMerge: true });
    const acc = d.accuracy;
    const facts = [
      [t('forecasting.col.model'), modelLabel(d.model)],
      [t('forecasting.group'), d.group ? t(`forecasting.group.${d.group}`) : '–'],
      ['sMAPE', acc ? `${fmtAcc(acc.smape)} %` : '–'],
      ['MASE', fmtAcc(acc?.mase, 2)],
      ['RMSE', fmtAcc(acc?.rmse, 1)],
      [t('forecasting.next_week'), d.forecast?.length ? fmtNumber(d.forecast.slice(0, 7).reduce((a, b) => a + b, 0), 0) : '–'],
    ];
    root.querySelector('#fc-facts').innerHTML = facts.map(([k, v]) =>
      `<div><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd></div>`).join('')
      + `<p class="facts-note">${t('forecasting.accuracy_note')}</p>`;
    const rows = (d.candidates || []).map((c) => `<tr class="${c.model === d.model ? 'selected' : ''}">
      <td>${escapeHtml(modelLabel(c.model))}</td><td class="num">${fmtAcc(c.owa, 3)}</td>
      <td class="num">${fmtAcc(c.smape)}</td><td class="num">${fmtAcc(c.mase, 2)}</td></tr>`);
    root.querySelector('#fc-candidates tbody').innerHTML = rows.join('')
      || `<tr class="empty"><td colspan="4">${t('forecasting.no_backtest')}</td></tr>`;
  }

  async function load() {
    const [st, rows] = await Promise.all([api('/api/forecast/status'), api('/api/forecast/series')]);
    if (disposed) return;
    paintStatus(st);
    root.querySelector('#fc-table tbody').innerHTML = rows.map((r) => `
      <tr class="clickable" data-id="${escapeHtml(r.id)}"><td>${escapeHtml(nameOf(r))}
        <span class="muted small">${t(`forecasting.kind.${r.kind}`)}</span></td>
      <td>${escapeHtml(modelLabel(r.model))}</td><td class="num">${fmtAcc(r.accuracy?.smape)}</td>
      <td class="num">${fmtAcc(r.accuracy?.mase, 2)}</td></tr>`).join('');
    if (rows.length) await showSeries(selected ?? rows[0].id);
    clearTimeout(timer);
    timer = setTimeout(load, st.state === 'running' ? 3000 : 60000);
  }

  root.querySelector('#fc-table').addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr[data-id]');
    if (tr) showSeries(tr.dataset.id);
  });
  root.querySelector('#fc-rerun').addEventListener('click', async () => {
    try {
      paintStatus(await api('/api/forecast/run', { method: 'POST', body: {} }));
      clearTimeout(timer);
      timer = setTimeout(load, 2000);
    } catch (err) {
      root.querySelector('#fc-status').textContent = err.message;
    }
  });
  load().catch((err) => { root.querySelector('#fc-status').textContent = err.message; });
  return () => {
    disposed = true;
    clearTimeout(timer);
    chart?.dispose();
  };
}
