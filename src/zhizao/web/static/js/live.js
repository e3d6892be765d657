// Live data: one Server-Sent-Events connection for the whole console.
// Keeps the latest value of every tag, each machine's state and reason, and the plant
// clock; pages subscribe with `onLive(fn)` and get ('tags' | 'state' | 'alarm' | 'order' | 'link', data).
import { api, toLogin } from './api.js';
import { fetchDowntime } from './oeedata.js';

export const live = {
  values: {}, // tag path -> {ts, v, q}
  states: {}, // equipment path -> {state, reason, ts, previous}
  clock: null, // plant clock (epoch ms) of the last 'tags' event
  connected: false,
};

const listeners = new Set();
let source = null;

export function onLive(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(type, data) {
  listeners.forEach((fn) => {
    try { fn(type, data); } catch (err) { console.error(err); }
  });
}

// Seeds the plant clock, the latest values, and each machine's state with its reason and
// start: a machine that is not running has an open downtime event saying why.
export async function seedLive(prefix) {
  const [health, latest] = await Promise.all([api('/api/health'), api('/api/tags/latest', { query: { prefix } })]);
  live.clock = health.clock;
  Object.assign(live.values, latest);
  for (const [path, point] of Object.entries(latest)) {
    if (path.endsWith('/state')) live.states[path.slice(0, -6)] = { state: point.v, ts: point.ts, reason: null };
  }
  const open = await fetchDowntime({ scope: prefix, start: live.clock - 7 * 86400e3, end: live.clock, limit: 200 })
    .catch(() => []);
  for (const e of open.filter((d) => d.end == null)) {
    const st = live.states[e.equipment];
    if (!st || st.state === e.state) live.states[e.equipment] = { state: e.state, reason: e.reason, ts: e.ts };
  }
}

export function connectLive(prefix) {
  source?.close();
  source = new EventSource(`/api/stream?prefix=${encodeURIComponent(prefix)}`);
  source.onopen = () => { live.connected = true; emit('link', true); };
  source.onerror = async () => {
    live.connected = false;
    emit('link', false);
    // EventSource hides the HTTP status: ask the API whether the session is gone.
    try { await api('/api/auth/me'); } catch (err) { if (err.status === 401) toLogin(); }
  };
  source.addEventListener('tags', (e) => {
    const data = JSON.parse(e.data);
    if (data.clock) live.clock = data.clock;
    for (const [path, point] of Object.entries(data.values || {})) {
      live.values[path] = point;
      if (path.endsWith('/state')) {
        const eq = path.slice(0, -6);
        const prev = live.states[eq];
        if (!prev || prev.state !== point.v) live.states[eq] = { state: point.v, ts: point.ts, reason: null };
      }
    }
    emit('tags', data);
  });
  source.addEventListener('state', (e) => {
    const ev = JSON.parse(e.data);
    live.states[ev.equipment] = { state: ev.state, reason: ev.reason, ts: ev.ts, previous: ev.previous };
    live.clock = Math.max(live.clock ?? 0, ev.ts); // events arrive between the once-a-second clock ticks
    emit('state', ev);
  });
  for (const kind of ['alarm', 'order']) {
    source.addEventListener(kind, (e) => emit(kind, JSON.parse(e.data)));
  }
}

export function disconnectLive() {
  source?.close();
  source = null;
}
