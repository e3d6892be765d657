// Plant overview: each line drawn from its `flow` (machine tiles and buffer bars),
// shift KPIs, utilities/environment values, live state changes and active alarms.
import { alarms, isUnacked, onAlarms } from '../alarmstore.js';
import { escapeHtml, fmtDuration, fmtPct, fmtTime, fmtValue } from '../format.js';
import { t } from '../i18n.js';
import { live, onLive } from '../live.js';
import { fetchDowntime, fetchOee, kpiLabel, OEE_KEYS } from '../oeedata.js';
import { flowOf, isBuffer, nameOf, plant, shiftStart } from '../plant.js';
import { legendHtml, reasonLabel, stateLabel, stateReason } from '../states.js';
import { alarmValue, priorityChip, tagLabel } from '../ui.js';

const TILE_TAGS = ['temperature', 'vibration_rms', 'power', 'part_count'];
const MAX_EVENTS = 40;

const machineHref = (eq) => `#/machine/${eq.path}`;

function tileHtml(eq) {
  const rows = TILE_TAGS.map((id) => eq.tags.find((tag) => tag.id === id)).filter(Boolean).map((tag) => `
    <div class="tv" data-tag="${tag.path}">
      <dt>${t(`web.tile.${tag.id}`)}</dt>
      <dd><span class="v mono">--</span><small>${escapeHtml(tag.unit)}</small></dd>
    </div>`).join('');
  return `
    <a class="tile" href="${machineHref(eq)}" data-eq="${eq.path}" title="${escapeHtml(nameOf(eq))}">
      <div class="tile-head"><span class="tile-name">${escapeHtml(nameOf(eq))}</span><span class="tile-id mono">${eq.id}</span></div>
      <div class="tile-state"><span class="st-label"></span><span class="st-since mono"></span></div>
      <div class="tile-reason"></div>
      <dl class="tile-values">${rows}</dl>
      <span class="tile-alarm" hidden></span>
    </a>`;
}

function bufferHtml(eq) {
  const level = eq.tags.find((tag) => tag.id === 'level');
  return `
    <div class="buffer" data-buffer="${level?.path ?? ''}" data-capacity="${eq.capacity ?? ''}" title="${escapeHtml(nameOf(eq))}">
      <span class="buf-name">${escapeHtml(eq.id)}</span>
      <div class="buf-bar"><div class="buf-fill"></div></div>
      <span class="buf-level mono">--</span>
    </div>`;
}

function lineHtml(line) {
  const flow = flowOf(line);
  const columns = flow.map((eq) => (isBuffer(eq) ? '52px' : 'minmax(132px, 1fr)')).join(' ');
  return `
    <section class="panel line-panel" data-line="${line.path}">
      <div class="panel-head">
        <h2>${escapeHtml(nameOf(line))}</h2>
        <div class="line-kpis">
          ${OEE_KEYS.map((k) => `
            <div class="mini-kpi"><label>${kpiLabel(k)}</label><span class="mono" data-kpi="${k}">--</span></div>`).join('')}
          <div class="mini-kpi"><label>${t('web.overview.running')}</label><span class="mono" data-kpi="running">--</span></div>
        </div>
        <div class="legend">${legendHtml()}</div>
      </div>
      <div class="flow-scroll"><div class="flow" style="grid-template-columns:${columns}">
        ${flow.map((eq) => (isBuffer(eq) ? bufferHtml(eq) : tileHtml(eq))).join('')}
      </div></div>
    </section>`;
}

// Equipment outside every flow (environment sensors, meters) as compact value cards.
function utilitiesHtml() {
  const inFlow = new Set(plant.lines.flatMap((line) => flowOf(line).map((eq) => eq.path)));
  const others = [...plant.equipment.values()].filter((eq) => !inFlow.has(eq.path) && eq.tags.length);
  if (!others.length) return '';
  return `
    <section class="panel">
      <div class="panel-head"><h3>${t('web.overview.utilities')}</h3></div>
      <div class="util-grid">
        ${others.map((eq) => `
          <a class="util-card" href="${machineHref(eq)}">
            <div class="util-name">${escapeHtml(nameOf(eq))}</div>
            ${eq.tags.map((tag) => `
              <div class="util-row" data-tag="${tag.path}"><span>${escapeHtml(tagLabel(tag))}</span>
                <span><b class="v mono">--</b> <small>${escapeHtml(tag.unit)}</small></span></div>`).join('')}
          </a>`).join('')}
      </div>
    </section>`;
}

export function mount(root) {
  root.innerHTML = `
    ${plant.lines.map(lineHtml).join('')}
    <div class="grid-3">
      <section class="panel">
        <div class="panel-head"><h3>${t('web.overview.events')}</h3><span class="muted small">${t('web.overview.events_hint')}</span></div>
        <div class="table-wrap scroll-y"><table class="data compact">
          <thead><tr><th>${t('web.col.time')}</th><th>${t('web.col.equipment')}</th><th>${t('web.col.state')}</th><th>${t('web.col.reason')}</th></tr></thead>
          <tbody id="ov-events"><tr class="empty"><td colspan="4">${t('web.empty.events')}</td></tr></tbody>
        </table></div>
      </section>
      <section class="panel">
        <div class="panel-head"><h3>${t('web.overview.alarms')}</h3><a class="small" href="#/alarms">${t('web.overview.all_alarms')}</a></div>
        <div class="table-wrap"><table class="data compact">
          <thead><tr><th>${t('web.col.priority')}</th><th>${t('web.col.time')}</th><th>${t('web.col.tag')}</th><th>${t('web.col.value')}</th></tr></thead>
          <tbody id="ov-alarms"></tbody>
        </table></div>
      </section>
      ${utilitiesHtml()}
    </div>`;

  const tiles = new Map([...root.querySelectorAll('[data-eq]')].map((el) => [el.dataset.eq, el]));
  const valueEls = [...root.querySelectorAll('[data-tag]')];
  const buffers = [...root.querySelectorAll('[data-buffer]')];
  const eventsBody = root.querySelector('#ov-events');
  const events = [];

  function paintTile(path, el) {
    const st = live.states[path] || {};
    el.className = `tile st-${st.state || 'unknown'}`;
    el.querySelector('.st-label').textContent = stateLabel(st.state);
    el.querySelector('.st-since').textContent = st.ts && live.clock ? fmtDuration(Math.max(0, live.clock - st.ts), true) : '';
    el.querySelector('.tile-reason').textContent = stateReason(st) || '\u00a0';
  }

  function paintValues() {
    for (const el of valueEls) {
      const tag = plant.tags.get(el.dataset.tag);
      const point = live.values[el.dataset.tag];
      el.querySelector('.v').textContent = fmtValue(point?.v, tag);
      el.classList.toggle('in-alarm', alarms.byTag.has(el.dataset.tag));
      el.classList.toggle('stale', point?.q && point.q !== 'good');
    }
    for (const el of buffers) {
      const level = live.values[el.dataset.buffer]?.v;
      const cap = Number(el.dataset.capacity) || null;
      const ratio = level != null && cap ? Math.min(1, level / cap) : 0;
      el.querySelector('.buf-fill').style.height = `${ratio * 100}%`;
      el.querySelector('.buf-level').textContent = level == null ? '--' : cap ? `${level}/${cap}` : String(level);
      el.classList.toggle('full', ratio >= 1);
      el.classList.toggle('empty', level === 0);
    }
    let running = 0;
    tiles.forEach((el, path) => { paintTile(path, el); if (live.states[path]?.state === 'running') running += 1; });
    root.querySelectorAll('[data-kpi="running"]').forEach((el) => { el.textContent = `${running}/${tiles.size}`; });
  }

  function paintAlarms() {
    tiles.forEach((el, path) => {
      const mine = alarms.list.filter((a) => a.tag?.startsWith(`${path}/`));
      const badge = el.querySelector('.tile-alarm');
      badge.hidden = !mine.length;
      badge.textContent = `⚠ ${mine.length}`;
      badge.classList.toggle('unacked', mine.some(isUnacked));
    });
    const body = root.querySelector('#ov-alarms');
    body.innerHTML = alarms.list.slice(0, 12).map((a) => {
      const tag = plant.tags.get(a.tag);
      return `<tr class="${isUnacked(a) ? 'unacked' : ''}"><td>${priorityChip(a.priority)}</td><td class="mono">${fmtTime(a.active_since)}</td>
        <td>${escapeHtml(tag ? `${nameOf(tag.equipment)} · ${tagLabel(tag)}` : a.tag)}</td>
        <td class="mono num">${alarmValue(a, tag)}</td></tr>`;
    }).join('') || `<tr class="empty"><td colspan="4">${t('web.empty.alarms')}</td></tr>`;
    paintValues();
  }

  function paintEvents() {
    eventsBody.innerHTML = events.map((e) => {
      const eq = plant.equipment.get(e.equipment);
      return `<tr><td class="mono">${fmtTime(e.ts)}</td><td>${escapeHtml(eq ? nameOf(eq) : e.equipment)}</td>
        <td><i class="dot st-${e.state}"></i>${stateLabel(e.state)}</td><td>${escapeHtml(reasonLabel(e.reason))}</td></tr>`;
    }).join('') || `<tr class="empty"><td colspan="4">${t('web.empty.events')}</td></tr>`;
  }

  function addEvent(ev) {
    if (!plant.equipment.has(ev.equipment)) return;
    events.unshift(ev);
    events.length = Math.min(events.length, MAX_EVENTS);
    paintEvents();
  }

  async function loadKpis() {
    for (const line of plant.lines) {
      const panel = root.querySelector(`[data-line="${line.path}"]`);
      const res = await fetchOee({ scope: line.path, start: shiftStart(live.clock), end: live.clock }).catch(() => null);
      for (const k of OEE_KEYS) {
        panel.querySelector(`[data-kpi="${k}"]`).textContent = fmtPct(res?.[k]);
      }
    }
  }

  // Earlier state changes of the last 8 h (plant clock) from the downtime API.
  async function loadRecentEvents() {
    const end = live.clock;
    const recent = await fetchDowntime({ scope: plant.enterprise.id, start: end - 8 * 3600e3, end }).catch(() => []);
    const seen = new Set(events.map((e) => `${e.equipment}|${e.ts}`));
    for (const e of recent) if (!seen.has(`${e.equipment}|${e.ts}`)) events.push(e);
    events.sort((a, b) => b.ts - a.ts);
    events.length = Math.min(events.length, MAX_EVENTS);
    paintEvents();
  }

  paintValues();
  paintAlarms();
  loadKpis();
  loadRecentEvents();
  const kpiTimer = setInterval(loadKpis, 15000);
  const offs = [
    onLive((type, data) => {
      if (type === 'tags') paintValues();
      else if (type === 'state') { addEvent(data); paintValues(); }
    }),
    onAlarms(paintAlarms),
  ];
  return () => { clearInterval(kpiTimer); offs.forEach((off) => off()); };
}
