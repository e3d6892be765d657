// OEE and downtime from the API, in the shapes the pages draw.
import { api } from './api.js';

export const OEE_KEYS = ['oee', 'availability', 'performance', 'quality'];

// ISO 22400 calls performance "effectiveness"; accept either.
function figures(obj) {
  const out = { ...obj };
  out.performance ??= obj.effectiveness;
  for (const k of OEE_KEYS) out[k] = typeof out[k] === 'number' ? out[k] : null;
  return out;
}

export async function fetchOee(query) {
  const res = await api('/api/oee', { query });
  const out = figures(res.total ?? res.overall ?? res);
  out.groups = (res.groups ?? res.items ?? []).map(figures);
  return out;
}

// Downtime/state-change records: {equipment, ts, end, duration_ms, state, reason}.
export async function fetchDowntime(query) {
  const res = await api('/api/downtime', { query });
  return (Array.isArray(res) ? res : res.events ?? res.items ?? []).map((e) => ({
    ...e,
    ts: e.ts ?? e.start,
    duration_ms: e.duration_ms ?? (e.end != null ? e.end - (e.ts ?? e.start) : null),
  }));
}

// Pareto rows, largest first: {reason, duration_ms, count}.
export async function fetchPareto(query) {
  const res = await api('/api/downtime/pareto', { query });
  return (Array.isArray(res) ? res : res.reasons ?? res.items ?? []).map((r) => ({
    ...r,
    duration_ms: r.duration_ms ?? r.duration ?? 0,
  }));
}
