// Machine states and reason codes (docs/CONTRACTS.md) as labels and colours.
import { has, t } from './i18n.js';

export const STATES = ['running', 'idle', 'setup', 'down', 'maintenance', 'off'];

// Same palette as the CSS variables --st-<state>, for charts.
export const STATE_COLOURS = {
  running: '#22c55e', idle: '#f5a524', setup: '#3b82f6', down: '#ef4444', maintenance: '#a855f7', off: '#6b7280',
};

export const stateLabel = (state) => (state ? t(`state.${state}`) : t('web.state.unknown'));

// Reason codes as words ("failure.bearing" -> "Bearing failure"); unknown codes as they are.
export function reasonLabel(reason) {
  if (!reason) return '';
  if (has(`reason.${reason}`)) return t(`reason.${reason}`);
  if (reason.startsWith('failure.')) return t('reason.failure.other', { mode: reason.slice(8) });
  return reason;
}

// A machine state's reason; running machines are producing unless told otherwise.
export const stateReason = (st) => reasonLabel(st?.reason || (st?.state === 'running' ? 'producing' : ''));

export function legendHtml() {
  return STATES.map((s) => `<span class="legend-item"><i class="dot st-${s}"></i>${stateLabel(s)}</span>`).join('');
}
