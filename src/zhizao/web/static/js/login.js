// Login page: sign in, then go to the console (or the page asked for in ?next=).
import { api } from './api.js';
import { applyI18n, savedLang, setLang, t } from './i18n.js';

const form = document.getElementById('login-form');
const error = document.getElementById('login-error');
const langSelect = document.getElementById('lang-select');

async function useLang(lang) {
  await setLang(lang);
  langSelect.value = lang;
  applyI18n();
  document.title = `${t('web.login.title')} · ${t('app.name')}`;
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  error.hidden = true;
  const button = form.querySelector('button');
  button.disabled = true;
  try {
    await api('/api/auth/login', {
      method: 'POST',
      body: { username: form.username.value.trim(), password: form.password.value },
    });
    const next = new URLSearchParams(location.search).get('next') || '';
    location.assign(`/${next.startsWith('#') ? next : ''}`);
  } catch (err) {
    error.textContent = err.status === 401 ? t('web.login.failed') : t('web.error.generic', { detail: err.message });
    error.hidden = false;
    button.disabled = false;
  }
});

langSelect.addEventListener('change', () => useLang(langSelect.value));

await useLang(savedLang());
document.body.classList.remove('booting');
