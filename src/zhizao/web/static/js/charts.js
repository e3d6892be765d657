// ECharts (vendored, loaded on first use) with the console's dark palette.
import { fmtDateHm, fmtHm } from './format.js';

let loading = null;
export function loadEcharts() {
  loading ??= import('/static/vendor/echarts/echarts.esm.min.js');
  return loading;
}

// Canvas text needs a real font list (not 'inherit'); the same stack as the CSS --font.
const FONT = getComputedStyle(document.body).getPropertyValue('--font').trim() || 'sans-serif';

export const PALETTE = ['#4c9aff', '#22c55e', '#f5a524', '#a855f7', '#14b8a6', '#ef4444', '#eab308', '#ec4899'];
export const INK = { text: '#c3cdd9', muted: '#8593a3', axis: '#354150', split: '#222c38', bg: '#121922' };

// Creates a chart on `el` that follows the element's size; `dispose()` when done.
export async function makeChart(el, group) {
  const echarts = await loadEcharts();
  const chart = echarts.init(el, null, { renderer: 'canvas' });
  const observer = new ResizeObserver(() => chart.resize());
  observer.observe(el);
  if (group) {
    chart.group = group;
    echarts.connect(group);
  }
  const dispose = chart.dispose.bind(chart);
  chart.dispose = () => { observer.disconnect(); dispose(); };
  return chart;
}

export const baseOption = () => ({
  backgroundColor: 'transparent',
  color: PALETTE,
  animation: false,
  textStyle: { color: INK.text, fontFamily: FONT },
  tooltip: {
    trigger: 'axis', backgroundColor: '#1b2430', borderColor: INK.axis, textStyle: { color: INK.text, fontSize: 12 },
  },
  grid: { left: 48, right: 16, top: 28, bottom: 28, containLabel: false },
});

export const valueAxis = (extra = {}) => ({
  type: 'value',
  scale: true,
  axisLine: { show: false },
  axisLabel: { color: INK.muted, fontSize: 11 },
  splitLine: { lineStyle: { color: INK.split } },
  ...extra,
});

export const categoryAxis = (data, extra = {}) => ({
  type: 'category',
  data,
  axisLine: { lineStyle: { color: INK.axis } },
  axisTick: { show: false },
  axisLabel: { color: INK.text, fontSize: 11 },
  ...extra,
});

// Time axis labelled in plant time; spans over a day also show the date.
export const timeAxis = (spanMs, extra = {}) => ({
  type: 'time',
  axisLine: { lineStyle: { color: INK.axis } },
  axisLabel: { color: INK.muted, fontSize: 11, hideOverlap: true, formatter: (v) => (spanMs > 86400e3 ? fmtDateHm(v) : fmtHm(v)) },
  splitLine: { show: false },
  ...extra,
});
