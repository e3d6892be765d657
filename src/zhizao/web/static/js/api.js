// JSON API client: every call goes through here so a lost session sends the user to /login.
import { currentLang } from './i18n.js';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function toLogin() {
  const next = location.hash ? `?next=${encodeURIComponent(location.hash)}` : '';
  location.assign(`/login${next}`);
}

export async function api(path, { method = 'GET', body, query } = {}) {
  let url = path;
  if (query) {
    const qs = new URLSearchParams();
    Object.entries(query).forEach(([k, v]) => { if (v !== undefined && v !== null && v !== '') qs.set(k, v); });
    if ([...qs].length) url += `?${qs}`;
  }
  const init = { method, headers: { Accept: 'application/json', 'Accept-Language': currentLang() }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url, init);
  if (res.status === 401 && path !== '/api/auth/login') {
    toLogin();
    throw new ApiError(401, 'not signed in');
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!res.ok) {
    const detail = data && typeof data === 'object' ? data.detail : data;
    throw new ApiError(res.status, typeof detail === 'string' ? detail : JSON.stringify(detail));
  }
  return data;
}
