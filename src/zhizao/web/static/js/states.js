// Machine states and reason codes (docs/CONTRACTS.md) as labels and colours.
import { has, t } from './i18n.js';

export const STATES = ['running', 'idle', 'setup', 'down', 'maintenance', 'off'];

// Same palette as the CSS variables --st-<state>, for charts.
export const STATE_COLOURS = {
  running: '#22c55e', idle: '#f5a524', setup: '#3b82f6', down: '#ef4444', maintenance: '#a855f7', off: '#6b7280',
};

export const stateLabel = (state) => (state ? t(`state.${state}`) : t('web.state.unknown'));

// "failure.bearing" -> "Failure: bearing"; unknown codes are shown as they are.
export function reasonLabel(reason) {
  if (!reason) return '';
  if (has(`web.reason.${reason}`)) return t(`web.reason.${reason}`);
  const [head, ...rest] = reason.split('.');
  if (head === 'failure' && rest.length) {
    const mode = rest.join('.');
    return t('web.reason.failure', { mode: has(`web.failure.${mode}`) ? t(`web.failure.${mode}`) : mode });
  }
  return reason;
}

export function legendHtml() {
  return STATES.map((s) => `<span class="legend-item"><i class="dot st-${s}"></i>${stateLabel(s)}</span>`).join('');
}
