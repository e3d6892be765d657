// Work orders (维修工单, EAM-lite): a board by state with the actions the user's role allows,
// a form for new orders (also opened from the health page), and reliability KPIs per machine.
import { api } from '../api.js';
import { escapeHtml, fmtDateTime, fmtNumber } from '../format.js';
import { t } from '../i18n.js';
import { nameOf, plant } from '../plant.js';
import { can } from '../session.js';
import { priorityChip, useCss } from '../ui.js';

const COLUMNS = ['open', 'assigned', 'in_progress', 'done', 'cancelled'];
const ACTIONS = { open: ['assign', 'cancel'], assigned: ['start', 'assign', 'cancel'], in_progress: ['complete', 'cancel'] };
const PRIORITIES = ['low', 'medium', 'high', 'urgent'];
const CLOSED_SHOWN = 12;
const REFRESH_MS = 10000;

const eqName = (path) => nameOf(plant.equipment.get(path)) || path.split('/').pop();

// "part × qty" lines -> [{part, qty}]; throws naming the bad line.
function parseParts(text) {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).map((line, i) => {
    const m = line.match(/^(.+?)\s*(?:[×x*]\s*([\d.]+))?$/);
    const qty = m && m[2] !== undefined ? Number(m[2]) : 1;
    if (!m || !(qty > 0)) throw new Error(t('maintenance.wo.bad_parts', { line: i + 1 }));
    return { part: m[1].trim(), qty };
  });
}

export function mount(root, param) {
  useCss('workorders');
  let disposed = false;
  const machines = [...plant.equipment.values()].filter((eq) => !['buffer', 'environment', 'utility'].includes(eq.kind) && eq.path);

  root.innerHTML = `
    <section class="panel">
      <div class="panel-head"><h2>${t('maintenance.wo.title')}</h2><span class="spacer"></span>
        ${can('operator') ? `<button class="btn primary" id="wo-new">${t('maintenance.wo.new')}</button>` : ''}</div>
      <p class="form-error" id="wo-error" hidden></p>
      <div class="wo-board" id="wo-board">${COLUMNS.map((c) => `
        <div class="wo-col" data-col="${c}"><h3>${t(`maintenance.wo.state.${c}`)} <span class="muted" data-count></span></h3>
          <div class="wo-cards"></div></div>`).join('')}</div>
    </section>
    <section class="panel wo-kpis">
      <div class="panel-head"><h2>${t('maintenance.health.kpis')}</h2></div>
      <div class="table-wrap"><table class="data compact"><thead><tr>
        <th>${t('maintenance.health.machine')}</th><th class="num">${t('maintenance.health.kpi.failures')}</th>
        <th class="num">${t('maintenance.health.kpi.mtbf')}</th><th class="num">${t('maintenance.health.kpi.mttr')}</th>
        <th class="num">${t('maintenance.health.kpi.unplanned')}</th></tr></thead><tbody id="wo-kpis"></tbody></table></div>
    </section>
    <dialog id="wo-dialog" class="dialog wo-dialog">
      <form method="dialog" id="wo-form">
        <h3>${t('maintenance.wo.new')}</h3>
        <label>${t('maintenance.wo.equipment')}<select name="equipment">${machines.map((eq) =>
          `<option value="${escapeHtml(eq.id)}">${escapeHtml(nameOf(eq))} (${escapeHtml(eq.id)})</option>`).join('')}</select></label>
        <label>${t('maintenance.wo.title_field')}<input name="title" required maxlength="256"></label>
        <label>${t('maintenance.wo.description')}<textarea name="description" rows="3" maxlength="4000"></textarea></label>
        <div class="wo-row">
          <label>${t('maintenance.wo.priority')}<select name="priority">${PRIORITIES.map((p) =>
            `<option value="${p}" ${p === 'medium' ? 'selected' : ''}>${t(`maintenance.wo.priority.${p}`)}</option>`).join('')}</select></label>
          <label>${t('maintenance.wo.duration')}<input name="duration_min" type="number" min="1" max="10080" value="30"></label>
        </div>
        <label>${t('maintenance.wo.parts')}<textarea name="parts" rows="2" placeholder="${escapeHtml(t('maintenance.wo.parts_hint'))}"></textarea></label>
        <p class="form-error" id="wo-form-error" hidden></p>
        <div class="dialog-actions">
          <button type="button" class="btn ghost" id="wo-cancel">${t('maintenance.wo.close')}</button>
          <button type="submit" class="btn primary">${t('maintenance.wo.create')}</button>
        </div>
      </form>
    </dialog>`;

  const board = root.querySelector('#wo-board');
  const errorEl = root.querySelector('#wo-error');
  const dialog = root.querySelector('#wo-dialog');
  const form = root.querySelector('#wo-form');
  const formError = root.querySelector('#wo-form-error');

  function showError(err) {
    errorEl.hidden = !err;
    errorEl.textContent = err ? err.message : '';
  }

  function card(wo) {
    const actions = can('engineer') ? (ACTIONS[wo.state] || []) : [];
    const parts = wo.spare_parts.map((p) => `${escapeHtml(p.part)} × ${fmtNumber(p.qty, p.qty % 1 ? 1 : 0)}`).join(', ');
    const lastNote = wo.notes[wo.notes.length - 1];
    return `<article class="wo-card pr-${escapeHtml(wo.priority)}" data-wo="${wo.id}">
      <header><span class="mono muted">#${wo.id}</span>${priorityChip(wo.priority === 'urgent' ? 'urgent' : wo.priority)}
        <span class="chip">${t(`maintenance.wo.source.${wo.source === 'warning' ? 'warning' : 'manual'}`)}</span></header>
      <div class="wo-title">${escapeHtml(wo.title)}</div>
      <div class="small"><b>${escapeHtml(eqName(wo.equipment))}</b>${wo.assignee ? ` · ${t('maintenance.wo.assignee')}: ${escapeHtml(wo.assignee)}` : ''}</div>
      ${parts ? `<div class="small muted">${t('maintenance.wo.parts')}: ${parts}</div>` : ''}
      ${lastNote ? `<div class="small wo-note">“${escapeHtml(lastNote.text)}” — ${escapeHtml(lastNote.user)}</div>` : ''}
      ${wo.restore ? `<div class="small good">${escapeHtml(t('maintenance.wo.restored', { time: fmtDateTime(wo.restore.at_ms) }))}</div>` : ''}
      <div class="small muted">${escapeHtml(t('maintenance.wo.created', { time: fmtDateTime(wo.created_ms), user: wo.created_by }))}</div>
      <footer>${actions.map((a) => `<button class="btn small" data-act="${a}">${t(`maintenance.wo.action.${a}`)}</button>`).join('')}
        ${can('operator') && !['done', 'cancelled'].includes(wo.state) ? `<button class="btn small ghost" data-note>${t('maintenance.wo.add_note')}</button>` : ''}</footer>
    </article>`;
  }

  function paint(list) {
    for (const col of COLUMNS) {
      let items = list.filter((w) => w.state === col);
      const el = board.querySelector(`[data-col="${col}"]`);
      el.querySelector('[data-count]').textContent = items.length;
      if (col === 'done' || col === 'cancelled') items = items.slice(0, CLOSED_SHOWN);
      el.querySelector('.wo-cards').innerHTML = items.map(card).join('') || `<p class="muted small">${t('maintenance.wo.empty')}</p>`;
    }
  }

  function paintKpis(rows) {
    root.querySelector('#wo-kpis').innerHTML = rows.map((k) => `<tr>
      <td>${escapeHtml(eqName(k.equipment))}</td><td class="num">${k.failures}</td>
      <td class="num">${k.mtbf_h == null ? '–' : `${fmtNumber(k.mtbf_h, 1)} h`}</td>
      <td class="num">${k.mttr_h == null ? '–' : `${fmtNumber(k.mttr_h * 60, 0)} min`}</td>
      <td class="num">${fmtNumber(k.unplanned_downtime_h, 1)} h</td></tr>`).join('');
  }

  async function load() {
    try {
      const [list, kpis] = await Promise.all([api('/api/maintenance/workorders'), api('/api/maintenance/kpis')]);
      if (disposed) return;
      paint(list);
      paintKpis(kpis);
    } catch (err) {
      showError(err);
    }
  }

  board.addEventListener('click', async (ev) => {
    const btn = ev.target.closest('button');
    const cardEl = ev.target.closest('[data-wo]');
    if (!btn || !cardEl) return;
    const id = cardEl.dataset.wo;
    try {
      if (btn.dataset.note !== undefined) {
        const text = prompt(t('maintenance.wo.note_prompt'));
        if (!text) return;
        await api(`/api/maintenance/workorders/${id}/notes`, { method: 'POST', body: { text } });
      } else {
        const body = { action: btn.dataset.act };
        if (body.action === 'assign') {
          body.assignee = prompt(t('maintenance.wo.assignee_prompt'));
          if (!body.assignee) return;
        }
        btn.disabled = true;
        await api(`/api/maintenance/workorders/${id}/actions`, { method: 'POST', body });
      }
      showError(null);
    } catch (err) {
      showError(err);
    }
    load();
  });

  function openForm(machine) {
    form.reset();
    formError.hidden = true;
    if (machine) form.equipment.value = machine;
    dialog.showModal();
  }
  root.querySelector('#wo-new')?.addEventListener('click', () => openForm());
  root.querySelector('#wo-cancel').addEventListener('click', () => dialog.close());
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const body = {
        equipment: form.equipment.value, title: form.title.value.trim(), description: form.description.value,
        priority: form.priority.value, duration_min: Number(form.duration_min.value), spare_parts: parseParts(form.parts.value),
      };
      await api('/api/maintenance/workorders', { method: 'POST', body });
      dialog.close();
      load();
    } catch (err) {
      formError.hidden = false;
      formError.textContent = err.message;
    }
  });

  const [verb, machine] = (param || '').split('/');
  if (verb === 'new' && can('operator')) openForm(machine);
  load();
  const timer = setInterval(load, REFRESH_MS);
  return () => {
    disposed = true;
    clearInterval(timer);
  };
}
