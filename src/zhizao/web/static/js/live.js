// Live data: one Server-Sent-Events connection for the whole console.
// Keeps the latest value of every tag, each machine's state and reason, and the plant
// clock; pages subscribe with `onLive(fn)` and get ('tags' | 'state' | 'alarm' | 'order' | 'link', data).
import { api, toLogin } from './api.js';

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

// Seeds states from the simulator (reasons included) and values from the latest API.
export async function seedLive(prefix) {
  const [latest, sim] = await Promise.all([
    api('/api/tags/latest', { query: { prefix } }),
    api('/api/sim/status').catch(() => null),
  ]);
  Object.assign(live.values, latest);
  for (const [path, point] of Object.entries(latest)) {
    if (path.endsWith('/state')) live.states[path.slice(0, -6)] = { state: point.v, ts: point.ts, reason: null };
  }
  for (const [eq, st] of Object.entries(simStates(sim))) {
    live.states[eq] = { ...live.states[eq], ...st };
  }
  live.clock = sim?.clock ?? Math.max(0, ...Object.values(latest).map((p) => p.ts));
}

// /api/sim/status lists states as {path: {state, reason, since}} or [{equipment, state, reason}].
function simStates(sim) {
  const raw = sim?.states ?? sim?.equipment ?? {};
  const out = {};
  const entries = Array.isArray(raw) ? raw.map((s) => [s.equipment ?? s.path, s]) : Object.entries(raw);
  for (const [path, s] of entries) {
    if (!path) continue;
    out[path] = typeof s === 'string' ? { state: s } : { state: s.state, reason: s.reason ?? null, ts: s.since ?? s.ts };
  }
  return out;
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
