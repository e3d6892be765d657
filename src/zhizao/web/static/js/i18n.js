// The message catalogue in the browser: the server's merged catalogue for one language.
const STORE_KEY = 'zhizao.lang';
export const LANGS = ['zh-CN', 'en'];

let lang = 'zh-CN';
let messages = {};

export function savedLang() {
  const saved = localStorage.getItem(STORE_KEY);
  return LANGS.includes(saved) ? saved : 'zh-CN';
}

export function currentLang() {
  return lang;
}

// Loads (and remembers) the catalogue of `next`.
export async function setLang(next) {
  const res = await fetch(`/api/i18n/${encodeURIComponent(next)}`);
  messages = res.ok ? await res.json() : {};
  lang = next;
  localStorage.setItem(STORE_KEY, next);
  document.documentElement.lang = next;
}

// Translates `key`, filling `{name}` placeholders from `params`; unknown keys show the key.
export function t(key, params = {}) {
  const text = messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

// True when the catalogue has `key` (used for optional texts such as reason codes).
export function has(key) {
  return key in messages;
}

// Picks the current language from a `{en, zh}` text of the asset model.
export function pick(text) {
  if (!text) return '';
  if (typeof text === 'string') return text;
  return (lang === 'en' ? text.en || text.zh : text.zh || text.en) || '';
}

// Fills elements marked with data-i18n / data-i18n-placeholder / data-i18n-title.
export function applyI18n(root = document) {
  root.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll('[data-i18n-placeholder]').forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  root.querySelectorAll('[data-i18n-title]').forEach((el) => { el.title = t(el.dataset.i18nTitle); });
}
