// Machine page: live tag table, trend charts with history zoom, recent state changes.
import { api } from '../api.js';
import { alarms, onAlarms } from '../alarmstore.js';
import { baseOption, INK, makeChart, timeAxis, valueAxis } from '../charts.js';
import { escapeHtml, fmtDateTime, fmtDuration, fmtValue } from '../format.js';
import { t } from '../i18n.js';
import { live, onLive } from '../live.js';
import { fetchDowntime } from '../oeedata.js';
import { isBuffer, nameOf, plant } from '../plant.js';
import { can } from '../session.js';
import { reasonLabel, stateLabel, stateReason } from '../states.js';
import { onSegment, priorityChip, segmented, tagLabel } from '../ui.js';
import { writeDialog } from '../writedialog.js';

// History range -> aggregation interval (a few hundred points per chart).
const RANGES = { '1h': [3600e3, '10s'], '8h': [8 * 3600e3, '1m'], '24h': [24 * 3600e3, '5m'] };
const LIMIT_COLOURS = { hihi: '#ef4444', hi: '#f5a524', lo: '#f5a524', lolo: '#ef4444' };

// Numeric tags worth a trend: floats, and integers that are not counters or levels of buffers.
const trendable = (tag) => tag.data_type === 'float' || (tag.data_type === 'int' && tag.id === 'level');

function limitLines(tag) {
  const a = tag.alarms;
  if (!a) return [];
  return Object.keys(LIMIT_COLOURS).filter((k) => a[k] != null).map((k) => ({
    yAxis: a[k], name: k.toUpperCase(), lineStyle: { color: LIMIT_COLOURS[k], type: 'dashed', width: 1 },
    label: { formatter: k.toUpperCase(), color: LIMIT_COLOURS[k], fontSize: 10, position: 'insideEndTop' },
  }));
}

export function mount(root, path) {
  const eq = plant.equipment.get(path);
  if (!eq) {
    root.innerHTML = `<div class="panel error-panel">${t('web.machine.unknown', { path: escapeHtml(path) })}</div>`;
    return null;
  }
  const trendTags = eq.tags.filter(trendable);
  let range = '1h';
  let disposed = false;
  const charts = new Map(); // tag path -> {chart, data}
  const history = [];

  root.innerHTML = `
    <div class="page-head">
      <nav class="crumbs"><a href="#/overview">${t('web.nav.overview')}</a><span>/</span>${escapeHtml(nameOf(eq.line))}<span>/</span>${escapeHtml(nameOf(eq.cell))}</nav>
      <div class="machine-title">
        <h1>${escapeHtml(nameOf(eq))} <span class="muted mono">${eq.id}</span></h1>
        ${isBuffer(eq) ? '' : '<span class="state-chip" id="m-state"></span>'}
        <span class="muted" id="m-reason"></span>
      </div>
      <dl class="facts">
        <div><dt>${t('web.machine.kind')}</dt><dd>${t(`web.kind.${eq.kind}`)}</dd></div>
        ${eq.ideal_cycle_s ? `<div><dt>${t('web.machine.ideal_cycle')}</dt><dd class="mono">${eq.ideal_cycle_s} s</dd></div>` : ''}
        ${eq.rated_power_kw != null ? `<div><dt>${t('web.machine.rated_power')}</dt><dd class="mono">${eq.rated_power_kw} kW</dd></div>` : ''}
        ${eq.capacity ? `<div><dt>${t('web.machine.capacity')}</dt><dd class="mono">${eq.capacity}</dd></div>` : ''}
        <div><dt>${t('web.machine.path')}</dt><dd class="mono small">${escapeHtml(eq.path)}</dd></div>
      </dl>
    </div>
    <div class="grid-machine">
      <section class="panel">
        <div class="panel-head"><h3>${t('web.machine.tags')}</h3><span class="muted small">${t('web.machine.tags_hint', { n: eq.tags.length })}</span></div>
        <div class="table-wrap"><table class="data">
          <thead><tr><th>${t('web.col.tag')}</th><th>${t('web.col.description')}</th><th class="num">${t('web.col.value')}</th>
            <th>${t('web.col.unit')}</th><th>${t('web.col.time')}</th><th>${t('web.col.quality')}</th></tr></thead>
          <tbody>${eq.tags.map((tag) => `
            <tr data-tag="${tag.path}">
              <td class="mono">${tag.id}${tag.writable ? ` <span class="chip">${t('web.machine.writable')}</span>` : ''}${
                tag.writable && can('engineer') ? ` <button class="btn small write-btn" data-write="${tag.path}">${t('connect.write.button')}</button>` : ''}</td>
              <td>${escapeHtml(tagLabel(tag))}</td>
              <td class="num mono v">--</td><td>${escapeHtml(tag.unit)}</td><td class="mono ts">--</td><td class="q">--</td>
            </tr>`).join('')}</tbody>
        </table></div>
      </section>
      <section class="panel">
        <div class="panel-head"><h3>${t('web.machine.states')}</h3><span class="muted small">${t('web.machine.states_hint')}</span></div>
        <div class="table-wrap scroll-y"><table class="data compact">
          <thead><tr><th>${t('web.col.start')}</th><th>${t('web.col.state')}</th><th>${t('web.col.reason')}</th><th class="num">${t('web.col.duration')}</th></tr></thead>
          <tbody id="m-history"><tr class="empty"><td colspan="4">${t('web.loading')}</td></tr></tbody>
        </table></div>
      </section>
    </div>
    ${trendTags.length ? `
    <section class="panel">
      <div class="panel-head">
        <h3>${t('web.machine.trends')}</h3>
        <span class="muted small">${t('web.machine.trends_hint')}</span>
        <span class="spacer"></span>
        <span class="muted small" id="m-interval"></span>
        ${segmented('range', Object.keys(RANGES).map((k) => [k, t(`web.range.${k}`)]), range)}
      </div>
      <div class="trend-grid">${trendTags.map((tag) => `
        <div class="trend"><div class="trend-title">${escapeHtml(tagLabel(tag))} <span class="muted">${escapeHtml(tag.unit)}</span></div>
          <div class="chart" data-chart="${tag.path}"></div></div>`).join('')}
      </div>
    </section>` : ''}`;

  const rows = new Map([...root.querySelectorAll('tr[data-tag]')].map((tr) => [tr.dataset.tag, tr]));
  const writer = writeDialog(root);
  root.querySelector('.grid-machine').addEventListener('click', (ev) => {
    const btn = ev.target.closest('button[data-write]');
    if (btn) writer.open(plant.tags.get(btn.dataset.write));
  });

  function paintTable() {
    rows.forEach((tr, tagPath) => {
      const point = live.values[tagPath];
      const tag = plant.tags.get(tagPath);
      const alarm = alarms.byTag.get(tagPath);
      const text = tag?.id === 'state' && point ? stateLabel(point.v) : fmtValue(point?.v, tag);
      tr.querySelector('.v').innerHTML = `${escapeHtml(text)}${alarm ? ` ${priorityChip(alarm.priority)}` : ''}`;
      tr.querySelector('.ts').textContent = fmtDateTime(point?.ts);
      const q = tr.querySelector('.q');
      q.textContent = point ? t(`web.quality.${point.q || 'good'}`) : '--';
      q.className = `q q-${point?.q || 'none'}`;
      tr.classList.toggle('in-alarm', !!alarm);
    });
    const st = live.states[eq.path];
    const chip = root.querySelector('#m-state');
    if (chip) {
      chip.className = `state-chip st-${st?.state || 'unknown'}`;
      chip.textContent = stateLabel(st?.state);
      const since = st?.ts && live.clock ? t('web.machine.since', { d: fmtDuration(Math.max(0, live.clock - st.ts), true) }) : '';
      root.querySelector('#m-reason').textContent = [stateReason(st), since].filter(Boolean).join(' · ');
    }
  }

  function paintHistory() {
    root.querySelector('#m-history').innerHTML = history.slice(0, 60).map((e) => `
      <tr><td class="mono">${fmtDateTime(e.ts)}</td><td><i class="dot st-${e.state}"></i>${stateLabel(e.state)}</td>
        <td>${escapeHtml(reasonLabel(e.reason))}</td><td class="num mono">${e.duration_ms != null ? fmtDuration(e.duration_ms) : t('web.machine.ongoing')}</td></tr>`).join('')
      || `<tr class="empty"><td colspan="4">${t('web.empty.events')}</td></tr>`;
  }

  async function loadHistoryList() {
    const end = live.clock;
    const list = await fetchDowntime({ scope: eq.path, start: end - 24 * 3600e3, end }).catch(() => []);
    history.push(...list.filter((e) => !history.some((h) => h.ts === e.ts)));
    history.sort((a, b) => b.ts - a.ts);
    paintHistory();
  }

  function chartOption(tag, data) {
    const [span] = RANGES[range];
    const end = live.clock;
    return {
      ...baseOption(),
      grid: { left: 6, right: 14, top: 10, bottom: 42, containLabel: true },
      tooltip: { ...baseOption().tooltip, valueFormatter: (v) => `${fmtValue(v, tag)} ${tag.unit}` },
      xAxis: timeAxis(span, { min: end - span, max: end }),
      yAxis: valueAxis(),
      dataZoom: [
        { type: 'inside', filterMode: 'none' },
        { type: 'slider', height: 14, bottom: 6, borderColor: INK.axis, fillerColor: 'rgba(76,154,255,.15)',
          dataBackground: { lineStyle: { color: INK.axis }, areaStyle: { color: INK.split } },
          showDetail: false, filterMode: 'none' },
      ],
      series: [{
        type: 'line', name: tagLabel(tag), data, showSymbol: false, sampling: 'lttb',
        lineStyle: { width: 1.5 }, areaStyle: { opacity: 0.08 },
        markLine: { silent: true, symbol: 'none', data: limitLines(tag) },
      }],
    };
  }

  // Loads aggregated history for every trend tag over the chosen range.
  async function loadTrends() {
    const [span, interval] = RANGES[range];
    const end = live.clock;
    root.querySelector('#m-interval').textContent = t('web.machine.interval', { interval });
    await Promise.all(trendTags.map(async (tag) => {
      const res = await api(`/api/tags/${tag.path}/history`, { query: { start: end - span, end, interval, agg: 'avg' } })
        .catch(() => ({ points: [] }));
      const data = res.points.filter((p) => p[1] !== null);
      let entry = charts.get(tag.path);
      if (!entry) {
        const chart = await makeChart(root.querySelector(`[data-chart="${CSS.escape(tag.path)}"]`), `m-${eq.path}`);
        if (disposed) { chart.dispose(); return; }
        entry = { chart, data };
        charts.set(tag.path, entry);
      }
      entry.data = data;
      entry.chart.setOption(chartOption(tag, data), { notMerge: true });
    }));
  }

  // Appends live points and slides the window to the plant clock.
  function appendLive(values) {
    const [span] = RANGES[range];
    const end = live.clock;
    charts.forEach((entry, tagPath) => {
      const point = values[tagPath];
      if (point && typeof point.v === 'number') entry.data.push([point.ts, point.v]);
      while (entry.data.length && entry.data[0][0] < end - span) entry.data.shift();
      entry.chart.setOption({ xAxis: { min: end - span, max: end }, series: [{ data: entry.data }] });
    });
  }

  paintTable();
  loadHistoryList();
  if (trendTags.length) {
    onSegment(root, 'range', (value) => { range = value; loadTrends(); });
    loadTrends();
  }
  const offs = [
    onLive((type, data) => {
      if (type === 'tags') { paintTable(); appendLive(data.values || {}); }
      if (type === 'state' && data.equipment === eq.path) {
        const open = history.find((h) => h.duration_ms == null);
        if (open) open.duration_ms = data.ts - open.ts;
        history.unshift({ ...data, duration_ms: null });
        paintHistory();
        paintTable();
      }
    }),
    onAlarms(paintTable),
  ];
  return () => {
    disposed = true;
    writer.close();
    offs.forEach((off) => off());
    charts.forEach(({ chart }) => chart.dispose());
  };
}
