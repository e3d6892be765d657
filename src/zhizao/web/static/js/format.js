// Formatting of numbers, durations and plant-clock times (shown in the site's time zone).
import { t } from './i18n.js';

let timeZone;

export function setTimeZone(tz) {
  timeZone = tz || undefined;
  partsFormat = null;
}

// Times read the same in both languages: "MM-DD HH:mm:ss" in the plant's time zone.
const PATTERNS = {
  time: 'hour:minute:second',
  hm: 'hour:minute',
  datetime: 'month-day hour:minute:second',
  datehm: 'month-day hour:minute',
  md: 'month-day',
};

let partsFormat = null;
function format(kind, ms) {
  if (ms === null || ms === undefined) return '--';
  partsFormat ??= new Intl.DateTimeFormat('en-GB', {
    timeZone, hourCycle: 'h23', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
  const parts = Object.fromEntries(partsFormat.formatToParts(ms).map((p) => [p.type, p.value]));
  return PATTERNS[kind].replace(/month|day|hour|minute|second/g, (name) => parts[name]);
}

export const fmtTime = (ms) => format('time', ms);
export const fmtHm = (ms) => format('hm', ms);
export const fmtDateTime = (ms) => format('datetime', ms);
export const fmtDateHm = (ms) => format('datehm', ms);
export const fmtMonthDay = (ms) => format('md', ms);

// Decimals that suit a tag: from its range span, e.g. 0..150 -> 1, 0..30 -> 2, 24.9..25.1 -> 4.
export function decimalsFor(tag) {
  if (!tag || tag.data_type === 'int') return 0;
  if (!tag.range) return 1;
  const span = Math.abs(tag.range[1] - tag.range[0]) || 1;
  return Math.max(0, 3 - Math.floor(Math.log10(span)));
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

// A duration in ms as "1 h 05 min" / "3 min 20 s"; `short` leaves out the seconds of minutes.
export function fmtDuration(ms, short = false) {
  if (ms === null || ms === undefined) return '--';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h) return t('web.duration.hm', { h, m: String(m).padStart(2, '0') });
  if (m && (short || !(s % 60))) return t('web.duration.m', { m });
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
