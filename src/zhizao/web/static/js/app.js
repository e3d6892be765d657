// The console shell: header (plant clock, shift, OEE, alarms, link), navigation and hash routing.
import { api } from './api.js';
import { alarms, isUnacked, onAlarms, refreshAlarms, scheduleAlarmRefresh } from './alarmstore.js';
import { fmtDateTime, fmtPct } from './format.js';
import { applyI18n, pick, savedLang, setLang, t } from './i18n.js';
import { connectLive, live, onLive, seedLive } from './live.js';
import { loadPlant, nameOf, plant, shiftAt, shiftStart } from './plant.js';
import { can, session } from './session.js';

// Every menu entry names a module in ./pages (apps add theirs to the menu on the server);
// the machine page is reached from the overview.
const pages = new Set(['machine', ...[...document.querySelectorAll('[data-nav]')].map((a) => a.dataset.nav)]);

const $ = (id) => document.getElementById(id);
const pageEl = $('page');
let unmount = null;
let renderSeq = 0;

// Route = "#/<page>/<params...>", e.g. "#/machine/zhizao/suzhou/machining/line1/turning/cnc1".
async function render() {
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const route = pages.has(name) ? name : 'overview';
  const seq = ++renderSeq;
  const mod = await import(`./pages/${route}.js`);
  if (seq !== renderSeq) return; // a newer navigation won
  unmount?.();
  pageEl.replaceChildren();
  pageEl.className = `page page-${route}`;
  document.title = `${t(`web.nav.${route === 'machine' ? 'overview' : route}`)} · ${t('app.name')}`;
  document.querySelectorAll('[data-nav]').forEach((a) => {
    a.classList.toggle('active', a.dataset.nav === route || (route === 'machine' && a.dataset.nav === 'overview'));
  });
  unmount = mod.mount(pageEl, rest.map(decodeURIComponent).join('/')) || null;
}

function renderHeader() {
  const line = plant.lines[0];
  $('plant-name').textContent = line ? `${pick(line.site.name)} · ${nameOf(line)}` : nameOf(plant.enterprise);
  $('user-name').textContent = session.user.display_name || session.user.username;
  $('user-role').textContent = t(`web.role.${session.user.role}`);
  // menu entries marked data-role="engineer" are for that role and above
  document.querySelectorAll('[data-nav][data-role]').forEach((a) => { a.hidden = !can(a.dataset.role); });
  updateClock();
  updateAlarmCount();
}

function updateClock() {
  $('hdr-clock').textContent = fmtDateTime(live.clock);
  const shift = shiftAt(live.clock);
  $('hdr-shift').textContent = shift ? nameOf(shift) : '--';
}

function updateAlarmCount() {
  const el = $('hdr-alarms');
  const active = alarms.list.filter((a) => a.active).length;
  const unacked = alarms.list.filter(isUnacked).length;
  el.textContent = `${active} / ${unacked}`;
  el.title = t('web.header.alarms_hint');
  el.classList.toggle('bad', active > 0);
  el.classList.toggle('blink', unacked > 0);
}

function updateLink(up) {
  const el = $('hdr-link');
  el.textContent = t(up ? 'web.link.live' : 'web.link.lost');
  el.className = `link-state ${up ? 'good' : 'bad'}`;
}

// Line OEE of the current shift, refreshed every 15 s.
async function updateOee() {
  const line = plant.lines[0];
  if (!line || !live.clock) return;
  try {
    const res = await api('/api/oee', { query: { scope: line.path, start: shiftStart(live.clock), end: live.clock } });
    const el = $('hdr-oee');
    el.textContent = fmtPct(res.oee);
    el.className = `mono ${res.oee >= 0.85 ? 'good' : res.oee >= 0.6 ? 'warn' : 'bad'}`;
  } catch {
    $('hdr-oee').textContent = '--';
  }
}

async function changeLang(lang) {
  await setLang(lang);
  applyI18n();
  renderHeader();
  updateLink(live.connected);
  render();
}

async function boot() {
  await setLang(savedLang());
  session.user = await api('/api/auth/me');
  await loadPlant();
  applyI18n();
  const prefix = plant.enterprise.id;
  await seedLive(prefix).catch(console.error);
  await refreshAlarms().catch(console.error);
  renderHeader();
  updateLink(false);
  connectLive(prefix);

  onLive((type, data) => {
    if (type === 'tags' || type === 'state') updateClock();
    else if (type === 'alarm') scheduleAlarmRefresh();
    else if (type === 'link') updateLink(data);
  });
  onAlarms(updateAlarmCount);
  updateOee();
  setInterval(updateOee, 15000);
  setInterval(() => refreshAlarms().catch(console.error), 30000);

  const langSelect = $('lang-select');
  langSelect.value = savedLang();
  langSelect.addEventListener('change', () => changeLang(langSelect.value));
  $('logout').addEventListener('click', async () => {
    await api('/api/auth/logout', { method: 'POST' }).catch(() => {});
    location.assign('/login');
  });
  window.addEventListener('hashchange', render);
  await render();
  document.body.classList.remove('booting');
}

boot().catch((err) => {
  if (err.status === 401) return; // api() is already on its way to /login
  document.body.classList.remove('booting');
  const box = document.createElement('div');
  box.className = 'panel error-panel';
  box.textContent = t('web.error.boot', { detail: err.message });
  pageEl.replaceChildren(box);
});
