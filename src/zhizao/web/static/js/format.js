// Formatting of numbers, durations and plant-clock times (shown in the site's time zone).
import { currentLang, t } from './i18n.js';

let timeZone;

export function setTimeZone(tz) {
  timeZone = tz || undefined;
}

const formatters = new Map();
function formatter(kind) {
  const key = `${currentLang()}|${kind}`;
  if (!formatters.has(key)) {
    const opts = { timeZone, hourCycle: 'h23' };
    if (kind !== 'date') Object.assign(opts, { hour: '2-digit', minute: '2-digit' });
    if (kind === 'time' || kind === 'datetime') opts.second = '2-digit';
    if (kind !== 'time' && kind !== 'hm') Object.assign(opts, { month: '2-digit', day: '2-digit' });
    if (kind === 'date') opts.year = 'numeric';
    formatters.set(key, new Intl.DateTimeFormat(currentLang() === 'en' ? 'en-GB' : 'zh-CN', opts));
  }
  return formatters.get(key);
}

export const fmtTime = (ms) => (ms == null ? '--' : formatter('time').format(ms));
export const fmtHm = (ms) => (ms == null ? '--' : formatter('hm').format(ms));
export const fmtDateTime = (ms) => (ms == null ? '--' : formatter('datetime').format(ms));
export const fmtDateHm = (ms) => (ms == null ? '--' : formatter('datehm').format(ms));
export const fmtDate = (ms) => (ms == null ? '--' : formatter('date').format(ms));

// Decimals that suit a tag: from its range span, e.g. 0..150 -> 1, 24.9..25.1 -> 4.
export function decimalsFor(tag) {
  if (!tag || tag.data_type === 'int') return 0;
  if (!tag.range) return 1;
  const span = Math.abs(tag.range[1] - tag.range[0]) || 1;
  return Math.max(0, 2 - Math.floor(Math.log10(span)));
}

export function fmtValue(v, tag) {
  if (v === null || v === undefined) return '--';
  if (typeof v === 'boolean') return v ? t('web.value.true') : t('web.value.false');
  if (typeof v !== 'number') return String(v);
  return v.toFixed(decimalsFor(tag));
}

export function fmtNumber(v, decimals = 0) {
  return v === null || v === undefined || Number.isNaN(v) ? '--' : Number(v).toFixed(decimals);
}

// Ratio 0..1 as a percentage.
export function fmtPct(ratio, decimals = 1) {
  return ratio === null || ratio === undefined || Number.isNaN(ratio) ? '--' : `${(ratio * 100).toFixed(decimals)}%`;
}

// A duration in ms as "1 h 05 min" / "3 min 20 s".
export function fmtDuration(ms) {
  if (ms === null || ms === undefined) return '--';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h) return t('web.duration.hm', { h, m: String(m).padStart(2, '0') });
  if (m) return t('web.duration.ms', { m, s: String(s % 60).padStart(2, '0') });
  return t('web.duration.s', { s });
}

// Epoch ms of a wall-clock time in the plant's time zone.
function tzOffsetMs(ms) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    }).formatToParts(ms).map((p) => [p.type, Number(p.value)]),
  );
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

// Start of the plant-local day containing `ms`, and minutes since it.
export function plantDay(ms) {
  const offset = tzOffsetMs(ms);
  const local = ms + offset;
  const dayStartLocal = Math.floor(local / 86400000) * 86400000;
  return { start: dayStartLocal - offset, minutes: Math.floor((local - dayStartLocal) / 60000) };
}

export function escapeHtml(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
