// The OPC UA browse dialog of the Connectors page: browse a connector's server from a start
// node, tick the variables to keep, adjust their proposed tag ids, pick the equipment and import.
import { api } from './api.js';
import { escapeHtml } from './format.js';
import { pick, t } from './i18n.js';

const OBJECTS = 'i=85';
const DEFAULT_DEPTH = 8; // enterprise/site/area/line/cell/equipment/tag sits 7 levels below Objects

// Every equipment of the /api/assets tree, in tree order.
function equipmentOf(tree) {
  return tree.enterprise.sites.flatMap((site) => site.areas.flatMap((area) => area.lines.flatMap(
    (line) => line.cells.flatMap((cell) => cell.equipment))));
}

export function browseDialog(root, { onImported } = {}) {
  const dlg = document.createElement('dialog');
  dlg.className = 'dialog browse-dialog';
  root.appendChild(dlg);
  let connector = '';
  let variables = [];

  const $ = (sel) => dlg.querySelector(sel);

  function paint() {
    dlg.innerHTML = `
      <h3>${escapeHtml(t('connect.browse.title', { name: connector }))}</h3>
      <form class="bd-query" novalidate>
        <label>${t('connect.browse.node')}
          <input name="node" class="mono" value="${OBJECTS}" autocomplete="off" title="${t('connect.browse.node_hint')}"></label>
        <label>${t('connect.browse.depth')}
          <input name="depth" type="number" class="mono" min="1" max="12" step="1" value="${DEFAULT_DEPTH}"></label>
        <label class="bd-check"><input name="include_standard" type="checkbox"> ${t('connect.browse.include_standard')}</label>
        <button type="submit" class="btn primary" data-act="browse">${t('connect.browse.do')}</button>
        <span class="spacer"></span>
        <input name="filter" class="bd-filter" placeholder="${t('connect.browse.filter')}" autocomplete="off">
      </form>
      <p class="muted small bd-status">${t('connect.browse.node_hint')}</p>
      <p class="form-error bd-error" hidden></p>
      <div class="table-wrap bd-table"><table class="data compact">
        <thead><tr>
          <th><input type="checkbox" class="bd-all" aria-label="${t('connect.browse.all')}"></th>
          <th>${t('connect.browse.col.path')}</th><th>${t('connect.browse.col.node_id')}</th>
          <th>${t('connect.browse.col.type')}</th><th>${t('connect.browse.col.unit')}</th>
          <th>${t('connect.browse.col.tag_id')}</th>
        </tr></thead>
        <tbody class="bd-rows"><tr class="empty"><td colspan="6">${t('connect.browse.none_yet')}</td></tr></tbody>
      </table></div>
      <div class="bd-foot">
        <label>${t('connect.browse.equipment')}<select name="equipment" class="bd-equipment"></select></label>
        <span class="muted small bd-count"></span>
        <span class="spacer"></span>
        <button type="button" class="btn ghost" data-act="close">${t('connect.write.close')}</button>
        <button type="button" class="btn primary" data-act="import" disabled>${t('connect.browse.import')}</button>
      </div>
      <div class="bd-result" hidden></div>`;
  }

  function showError(message) {
    const el = $('.bd-error');
    el.textContent = message || '';
    el.hidden = !message;
  }

  const checked = () => [...dlg.querySelectorAll('.bd-rows input.bd-pick:checked')];

  function updateCount() {
    const n = checked().length;
    $('.bd-count').textContent = variables.length ? t('connect.browse.selected', { n }) : '';
    $('[data-act="import"]').disabled = n === 0 || !$('.bd-equipment').value;
  }

  function paintRows() {
    $('.bd-rows').innerHTML = variables.map((v, i) => {
      const usable = v.tag !== null;
      return `<tr data-path="${escapeHtml(v.browse_path)}" class="${usable ? '' : 'unusable'}" title="${escapeHtml(v.description)}">
        <td><input type="checkbox" class="bd-pick" data-i="${i}" ${usable ? '' : 'disabled'}
          aria-label="${escapeHtml(v.browse_path)}"></td>
        <td class="mono small bd-path">${escapeHtml(v.browse_path).replaceAll('/', '/<wbr>')}</td>
        <td class="mono small muted bd-node" title="${escapeHtml(v.node_id)}">${escapeHtml(v.node_id)}</td>
        <td class="nowrap">${usable ? escapeHtml(v.data_type) : `<span class="warn">${t('connect.browse.unsupported')}</span>`}
          <span class="muted small">${escapeHtml(v.opc_type)}</span></td>
        <td>${escapeHtml(v.unit)}</td>
        <td>${usable ? `<input class="mono bd-tag-id" data-i="${i}" value="${escapeHtml(v.tag.id)}" autocomplete="off"
          aria-label="${t('connect.browse.col.tag_id')}">` : ''}</td>
      </tr>`;
    }).join('') || `<tr class="empty"><td colspan="6">${t('connect.browse.none')}</td></tr>`;
    $('.bd-all').checked = false;
    applyFilter();
    updateCount();
  }

  function applyFilter() {
    const needle = $('[name="filter"]').value.trim().toLowerCase();
    dlg.querySelectorAll('.bd-rows tr[data-path]').forEach((tr) => {
      tr.hidden = !!needle && !tr.dataset.path.toLowerCase().includes(needle);
    });
  }

  async function doBrowse() {
    const depth = Number($('[name="depth"]').value);
    if (!Number.isInteger(depth) || depth < 1 || depth > 12) {
      showError(t('connect.browse.err.depth'));
      return;
    }
    const body = { node: $('[name="node"]').value.trim() || OBJECTS, depth,
      include_standard: $('[name="include_standard"]').checked };
    const button = $('[data-act="browse"]');
    button.disabled = true;
    showError('');
    $('.bd-result').hidden = true;
    $('.bd-status').textContent = t('connect.browse.browsing');
    try {
      const res = await api(`/api/connectors/${encodeURIComponent(connector)}/browse`, { method: 'POST', body });
      if (!dlg.open) return;
      variables = res.variables;
      const notes = [t('connect.browse.found', { n: variables.length, endpoint: res.endpoint })];
      if (res.truncated) notes.push(t('connect.browse.truncated'));
      if (res.deeper) notes.push(t('connect.browse.deeper'));
      $('.bd-status').textContent = notes.join(' · ');
      paintRows();
    } catch (err) {
      $('.bd-status').textContent = '';
      showError(t('connect.browse.failed', { detail: err.message }));
    } finally {
      button.disabled = false;
    }
  }

  async function doImport() {
    const picks = checked().map((box) => Number(box.dataset.i));
    const tags = [];
    for (const i of picks) {
      const id = dlg.querySelector(`.bd-tag-id[data-i="${i}"]`).value.trim();
      if (!id) {
        showError(t('connect.browse.err.tag_id', { path: variables[i].browse_path }));
        return;
      }
      tags.push({ ...variables[i].tag, id });
    }
    const button = $('[data-act="import"]');
    button.disabled = true;
    showError('');
    const result = $('.bd-result');
    try {
      const res = await api(`/api/connectors/${encodeURIComponent(connector)}/import`,
        { method: 'POST', body: { equipment: $('.bd-equipment').value, tags } });
      result.className = 'bd-result ok';
      result.innerHTML = `<p>✔ ${escapeHtml(t('connect.browse.added', { n: res.added.length, equipment: res.equipment }))}</p>
        <ul class="mono small">${res.added.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul>`;
      checked().forEach((box) => { box.checked = false; });
      onImported?.(res);
    } catch (err) {
      result.className = 'bd-result form-error';
      result.textContent = t('connect.browse.import_failed', { detail: err.message });
    }
    result.hidden = false;
    updateCount();
  }

  async function loadEquipment() {
    const select = $('.bd-equipment');
    try {
      const list = equipmentOf(await api('/api/assets'));
      select.innerHTML = `<option value="">${t('connect.browse.pick_equipment')}</option>${list.map((eq) =>
        `<option value="${escapeHtml(eq.path)}">${escapeHtml(`${pick(eq.name) || eq.id} · ${eq.path}`)}</option>`).join('')}`;
    } catch (err) {
      showError(t('connect.browse.failed', { detail: err.message }));
    }
    updateCount();
  }

  dlg.addEventListener('submit', (ev) => {
    ev.preventDefault();
    doBrowse();
  });
  dlg.addEventListener('click', (ev) => {
    const act = ev.target.closest('button')?.dataset.act;
    if (act === 'close') dlg.close();
    if (act === 'import') doImport();
  });
  dlg.addEventListener('input', (ev) => {
    if (ev.target.name === 'filter') applyFilter();
  });
  dlg.addEventListener('change', (ev) => {
    if (ev.target.classList.contains('bd-all')) {
      dlg.querySelectorAll('.bd-rows tr[data-path]:not([hidden]) input.bd-pick:not(:disabled)').forEach((box) => {
        box.checked = ev.target.checked;
      });
    }
    updateCount();
  });

  return {
    open(name) {
      connector = name;
      variables = [];
      paint();
      dlg.showModal();
      loadEquipment();
      $('[data-act="browse"]').focus();
    },
  };
}
