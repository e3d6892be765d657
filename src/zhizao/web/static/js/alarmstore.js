// The alarm list (active or unacknowledged) shared by the header, the overview tiles and the alarms page.
// Refreshed from the API when an alarm event arrives (debounced) and every 30 s.
import { api } from './api.js';

export const alarms = {
  list: [], // alarm records in the API's order: unacknowledged, priority, newest
  byTag: new Map(), // tag path -> its first listed alarm whose condition is still active
};

const listeners = new Set();
let timer = null;

export function onAlarms(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export const isUnacked = (a) => a.state === 'unack_active' || a.state === 'unack_rtn';

export async function refreshAlarms() {
  // No state filter: the ISA-18.2 alarm list; a hi under an active hihi is left out.
  const list = (await api('/api/alarms')).filter((a) => !a.superseded);
  alarms.list = list;
  alarms.byTag = new Map();
  for (const a of list) if (a.active && !alarms.byTag.has(a.tag)) alarms.byTag.set(a.tag, a);
  listeners.forEach((fn) => fn(alarms));
}

// Coalesces bursts of alarm events into one refresh.
export function scheduleAlarmRefresh(delay = 400) {
  clearTimeout(timer);
  timer = setTimeout(() => refreshAlarms().catch(console.error), delay);
}
