// Active alarms shared by the header, the overview tiles and the alarms page.
// Refreshed from the API when an alarm event arrives (debounced) and every 30 s.
import { api } from './api.js';

export const alarms = {
  active: [], // alarm records, newest first
  byTag: new Map(), // tag path -> highest-priority active alarm
};

const PRIORITY_RANK = { urgent: 4, high: 3, medium: 2, low: 1 };
export const priorityRank = (p) => PRIORITY_RANK[p] || 0;

const listeners = new Set();
let timer = null;

export function onAlarms(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export const isUnacked = (a) => a.acked === false || /unack/.test(a.state || '');

export async function refreshAlarms() {
  const data = await api('/api/alarms', { query: { state: 'active' } });
  const list = Array.isArray(data) ? data : data.alarms || data.items || [];
  list.sort((a, b) => priorityRank(b.priority) - priorityRank(a.priority) || (b.ts ?? 0) - (a.ts ?? 0));
  alarms.active = list;
  alarms.byTag = new Map();
  for (const a of list) if (!alarms.byTag.has(a.tag)) alarms.byTag.set(a.tag, a);
  listeners.forEach((fn) => fn(alarms));
}

// Coalesces bursts of alarm events into one refresh.
export function scheduleAlarmRefresh(delay = 400) {
  clearTimeout(timer);
  timer = setTimeout(() => refreshAlarms().catch(console.error), delay);
}
