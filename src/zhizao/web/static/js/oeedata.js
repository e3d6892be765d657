// OEE and downtime from the API (zhizao.apps.oee), in the shapes the pages draw.
import { api } from './api.js';
import { t } from './i18n.js';

// The four figures; ISO 22400 calls performance "effectiveness".
export const OEE_KEYS = ['oee', 'availability', 'effectiveness', 'quality'];

export const kpiLabel = (key) => (key === 'oee' ? t('web.oee.oee') : t(`oee.${key}`));

// {oee, availability, effectiveness, quality, elements, groups, equipment, lines, ...}; KPIs are 0..1 or null.
export function fetchOee(query) {
  return api('/api/oee', { query });
}

// Downtime events, newest first: {equipment, state, reason, label, ts, end, duration_ms}; open ones have end null.
export async function fetchDowntime(query) {
  const res = await api('/api/downtime', { query });
  return res.events.map((e) => ({ ...e, ts: e.start }));
}

// Downtime by reason, longest first: {items: [{key, label, reason, count, duration_ms, cumulative_share}], total_ms}.
export function fetchPareto(query) {
  return api('/api/downtime/pareto', { query });
}
