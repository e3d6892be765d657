// File import page: upload a CSV or Parquet file -> preview -> map columns (or tag names) to plant
// tags, pre-filled from the server's suggestion -> import with a progress bar -> result with bad rows.
import { api, ApiError, toLogin } from '../api.js';
import { escapeHtml, fmtNumber } from '../format.js';
import { currentLang, has, t } from '../i18n.js';
import { nameOf, plant } from '../plant.js';
import { can } from '../session.js';
import { tagLabel } from '../ui.js';

const POLL_MS = 400;
const TIME_FORMATS = ['iso8601', 'epoch_s', 'epoch_ms', '%Y/%m/%d %H:%M:%S', '%d.%m.%Y %H:%M:%S'];

const causeLabel = (cause) => (has(`connect.cause.${cause}`) ? t(`connect.cause.${cause}`) : cause);
const typeLabel = (type) => t(`connect.import.type.${type}`);

// multipart upload with progress (fetch cannot report upload progress)
function uploadFile(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/import/preview');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('Accept-Language', currentLang());
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) onProgress(ev.loaded / ev.total); };
    xhr.onerror = () => reject(new ApiError(0, 'network error'));
    xhr.onload = () => {
      if (xhr.status === 401) { toLogin(); reject(new ApiError(401, 'not signed in')); return; }
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { data = xhr.responseText; }
      if (xhr.status >= 400) {
        const detail = data && typeof data === 'object' ? data.detail : data;
        reject(new ApiError(xhr.status, typeof detail === 'string' ? detail : JSON.stringify(detail)));
      } else {
        resolve(data);
      }
    };
    const body = new FormData();
    body.append('file', file);
    xhr.send(body);
  });
}

// <option>s of every plant tag, grouped by equipment.
function tagOptions() {
  const groups = new Map();
  plant.tags.forEach((tag) => {
    const eq = tag.equipment;
    if (!groups.has(eq)) groups.set(eq, []);
    groups.get(eq).push(tag);
  });
  return [...groups].map(([eq, tags]) => `<optgroup label="${escapeHtml(`${nameOf(eq)} (${eq.id})`)}">${tags.map((tag) =>
    `<option value="${escapeHtml(tag.path)}">${escapeHtml(`${eq.id}/${tag.id} · ${tagLabel(tag)}`)}</option>`).join('')}</optgroup>`).join('');
}

const columnSelect = (name, columns, value, allowNone) => `<select data-opt="${name}">
  ${allowNone ? `<option value="">${t('connect.import.none')}</option>` : ''}
  ${columns.map((c) => `<option value="${escapeHtml(c)}" ${c === value ? 'selected' : ''}>${escapeHtml(c)}</option>`).join('')}</select>`;

export function mount(root) {
  if (!can('engineer')) {
    root.innerHTML = `<div class="panel error-panel">${t('connect.import.engineer_only')}</div>`;
    return null;
  }
  let preview = null;
  let options = null;
  let disposed = false;
  const tagOptionsHtml = tagOptions();

  root.innerHTML = `
    <section class="panel">
      <div class="panel-head"><h2>${t('connect.import.title')}</h2><span class="muted small">${t('connect.import.hint')}</span></div>
      <h3 class="sub">${t('connect.import.step1')}</h3>
      <form class="imp-upload" id="imp-form">
        <input type="file" id="imp-file" name="file" accept=".csv,.txt,.tsv,.parquet,.pq" required>
        <button class="btn primary" type="submit" id="imp-upload">${t('connect.import.upload')}</button>
        <span class="muted small" id="imp-upload-state"></span>
      </form>
      <p class="form-error" id="imp-error" hidden></p>
    </section>
    <section class="panel" id="imp-preview" hidden></section>
    <section class="panel" id="imp-map" hidden></section>
    <section class="panel" id="imp-run" hidden></section>`;

  const $ = (sel) => root.querySelector(sel);

  function showError(err) {
    $('#imp-error').textContent = err ? t('web.error.generic', { detail: err.message }) : '';
    $('#imp-error').hidden = !err;
  }

  function paintPreview() {
    const p = preview;
    const fact = (label, value) => `<div><dt>${label}</dt><dd class="mono">${escapeHtml(value ?? '--')}</dd></div>`;
    $('#imp-preview').innerHTML = `
      <div class="panel-head"><h3 class="sub">${t('connect.import.step2')}</h3>
        <span class="mono">${escapeHtml(p.file)}</span></div>
      <dl class="facts">
        ${fact(t('connect.import.format'), p.format.toUpperCase())}
        ${p.encoding ? fact(t('connect.import.encoding'), p.encoding) : ''}
        ${p.delimiter ? fact(t('connect.import.delimiter'), p.delimiter === '\t' ? 'TAB' : p.delimiter) : ''}
        ${fact(t('connect.import.rows'), fmtNumber(p.rows))}
        ${fact(t('connect.import.layout'), t(`connect.import.layout.${p.layout}`))}
        ${fact(t('connect.import.time_column'), p.time_column)}
        ${fact(t('connect.import.time_format'), p.time_format)}
        ${p.naive_times ? `<p class="facts-note">${t('connect.import.naive_note', { tz: escapeHtml(p.timezone) })}</p>` : ''}
        ${p.malformed.length ? `<p class="facts-note warn">${t('connect.import.malformed', { n: p.malformed.length })}</p>` : ''}
      </dl>
      <div class="table-wrap sample-wrap"><table class="data compact sample">
        <thead><tr>${p.columns.map((c) => `<th><div>${escapeHtml(c.name)}</div>
          <div class="col-type t-${c.type}">${typeLabel(c.type)}${c.bad ? ` · <span class="warn">${t('connect.import.bad_cells', { n: c.bad })}</span>` : ''}</div></th>`).join('')}</tr></thead>
        <tbody>${p.sample.map((row) => `<tr>${row.map((v) => `<td class="mono">${escapeHtml(v ?? '')}</td>`).join('')}</tr>`).join('')}</tbody>
      </table></div>
      <p class="muted small">${t('connect.import.sample')}: ${p.sample.length} / ${fmtNumber(p.rows)}</p>`;
    $('#imp-preview').hidden = false;
  }

  // Names to map: the columns (wide) or the tag names found in the file (long).
  const mappedNames = () => (options.layout === 'long'
    ? preview.tag_names
    : preview.columns.map((c) => c.name).filter((c) => c !== options.time_column));

  function paintMapping() {
    const columns = preview.columns.map((c) => c.name);
    const long = options.layout === 'long';
    const names = mappedNames();
    const types = Object.fromEntries(preview.columns.map((c) => [c.name, c.type]));
    $('#imp-map').innerHTML = `
      <div class="panel-head"><h3 class="sub">${t('connect.import.step3')}</h3>
        <span class="muted small" id="imp-mapped"></span></div>
      <div class="imp-options">
        <label>${t('connect.import.layout')}<select data-opt="layout">
          ${['wide', 'long'].map((l) => `<option value="${l}" ${l === options.layout ? 'selected' : ''}>${t(`connect.import.layout.${l}`)}</option>`).join('')}</select></label>
        <label>${t('connect.import.time_column')}${columnSelect('time_column', columns, options.time_column, false)}</label>
        <label title="${escapeHtml(t('connect.import.time_format_hint'))}">${t('connect.import.time_format')}
          <input data-opt="time_format" list="imp-formats" value="${escapeHtml(options.time_format || '')}" placeholder="iso8601">
          <datalist id="imp-formats">${TIME_FORMATS.map((f) => `<option value="${escapeHtml(f)}">`).join('')}</datalist></label>
        <label>${t('connect.import.timezone')}<input data-opt="timezone" value="${escapeHtml(options.timezone || '')}" placeholder="${escapeHtml(preview.timezone)}"></label>
        ${long ? `
        <label>${t('connect.import.tag_column')}${columnSelect('tag_column', columns, options.tag_column, false)}</label>
        <label>${t('connect.import.value_column')}${columnSelect('value_column', columns, options.value_column, false)}</label>
        <label>${t('connect.import.quality_column')}${columnSelect('quality_column', columns, options.quality_column, true)}</label>` : ''}
      </div>
      <div class="table-wrap scroll-y map-wrap"><table class="data compact mapping">
        <thead><tr><th>${t(long ? 'connect.import.col.name_in_file' : 'connect.import.col.column')}</th>
          ${long ? '' : `<th>${t('connect.import.col.type')}</th>`}<th>${t('connect.import.col.tag')}</th><th>${t('connect.import.col.match')}</th></tr></thead>
        <tbody>${names.map((name) => `<tr data-name="${escapeHtml(name)}">
          <td class="mono">${escapeHtml(name)}</td>
          ${long ? '' : `<td class="col-type t-${types[name]}">${typeLabel(types[name])}</td>`}
          <td><select class="map-select" data-map="${escapeHtml(name)}"><option value="">${t('connect.import.skip')}</option>${tagOptionsHtml}</select></td>
          <td class="match muted small"></td></tr>`).join('')}</tbody>
      </table></div>
      <div class="imp-actions"><button class="btn primary" id="imp-commit">${t('connect.import.commit')}</button></div>`;
    root.querySelectorAll('select[data-map]').forEach((sel) => {
      sel.value = options.mapping[sel.dataset.map] || '';
      paintMatch(sel);
    });
    updateMapped();
    $('#imp-map').hidden = false;
  }

  function paintMatch(sel) {
    const name = sel.dataset.map;
    const how = sel.value && sel.value === preview.mapping[name] ? preview.matches[name] : (sel.value ? 'manual' : null);
    sel.closest('tr').querySelector('.match').textContent = how ? t(`connect.import.match.${how}`) : '';
    sel.classList.toggle('unmapped', !sel.value);
  }

  function updateMapped() {
    const names = mappedNames();
    const n = names.filter((name) => options.mapping[name]).length;
    $('#imp-mapped').textContent = t('connect.import.mapped', { n, total: names.length });
  }

  function onMapChange(ev) {
    const el = ev.target;
    if (el.dataset.map !== undefined) {
      options.mapping[el.dataset.map] = el.value || null;
      paintMatch(el);
      updateMapped();
      return;
    }
    const key = el.dataset.opt;
    if (!key) return;
    options[key] = el.value || null;
    if (key === 'layout' || key === 'time_column') paintMapping();
  }

  function commitOptions() {
    const long = options.layout === 'long';
    const names = new Set(mappedNames());
    return {
      layout: options.layout,
      time_column: options.time_column,
      time_format: options.time_format || null,
      timezone: options.timezone || null,
      tag_column: long ? options.tag_column : null,
      value_column: long ? options.value_column : null,
      quality_column: long ? options.quality_column : null,
      // wide: only the columns of the file; long: the names seen (others are matched on import)
      mapping: Object.fromEntries(Object.entries(options.mapping).filter(([name, path]) => names.has(name) && (long || path))),
      auto_map: true,
      delimiter: preview.delimiter,
    };
  }

  const anotherButton = () => `<div class="imp-actions"><button class="btn" data-another>${t('connect.import.another')}</button></div>`;

  function paintRun(job) {
    const run = $('#imp-run');
    run.hidden = false;
    if (job.state === 'running') {
      const pct = Math.round(job.progress * 100);
      run.innerHTML = `
        <div class="panel-head"><h3 class="sub">${t('connect.import.step4')}</h3></div>
        <p>${t('connect.import.running', { file: escapeHtml(job.file), done: fmtNumber(job.rows_done), total: fmtNumber(job.rows_total) })}</p>
        <div class="progress" role="progressbar" aria-valuenow="${pct}" aria-valuemin="0" aria-valuemax="100"><div style="width:${pct}%"></div><span>${pct}%</span></div>`;
      return;
    }
    if (job.state === 'failed') {
      run.innerHTML = `<div class="panel-head"><h3 class="sub">${t('connect.import.step4')}</h3></div>
        <p class="form-error">${t('connect.import.failed', { detail: escapeHtml(job.error) })}</p>${anotherButton()}`;
      return;
    }
    const r = job.result;
    const rejected = Object.entries(r.rejected);
    run.innerHTML = `
      <div class="panel-head"><h3 class="sub">${t('connect.import.step4')}</h3>
        <span class="good">${t('connect.import.done', { file: escapeHtml(r.file), s: r.duration_s })}</span></div>
      <div class="progress done"><div style="width:100%"></div><span>100%</span></div>
      <div class="imp-result" id="imp-result">
        <div class="kpi"><label>${t('connect.import.rows')}</label><span class="mono">${fmtNumber(r.rows)}</span></div>
        <div class="kpi"><label>${t('connect.import.accepted')}</label><span class="mono good" id="imp-accepted">${fmtNumber(r.accepted)}</span></div>
        <div class="kpi"><label>${t('connect.import.rejected')}</label><span class="mono ${r.rejected_total ? 'bad' : ''}">${fmtNumber(r.rejected_total)}</span>
          <div class="causes">${rejected.map(([c, n]) => `<span class="counter problem" data-cause="${escapeHtml(c)}">${escapeHtml(causeLabel(c))} <b class="mono">${n}</b></span>`).join('')}</div></div>
        <div class="kpi"><label>${t('connect.import.empty_cells')}</label><span class="mono">${fmtNumber(r.empty)}</span></div>
        ${r.skipped_columns.length ? `<div class="kpi"><label>${t('connect.import.skipped')}</label><span class="small">${r.skipped_columns.map(escapeHtml).join(', ')}</span></div>` : ''}
      </div>
      ${r.stored ? '' : `<p class="muted small">${t('connect.import.not_stored')}</p>`}
      <h3 class="sub">${t('connect.import.bad_rows')}</h3>
      <div class="table-wrap scroll-y"><table class="data compact bad-rows">
        <thead><tr><th class="num">${t('connect.import.col.row')}</th><th class="num">${t('connect.import.col.line')}</th>
          <th>${t('connect.import.col.column')}</th><th>${t('connect.col.cause')}</th><th>${t('connect.col.detail')}</th>
          <th>${t('connect.import.col.value')}</th></tr></thead>
        <tbody>${r.bad_rows.map((b) => `<tr><td class="num mono">${b.row}</td><td class="num mono">${b.line ?? ''}</td>
          <td class="mono">${escapeHtml(b.column)}</td><td><span class="counter problem">${escapeHtml(causeLabel(b.cause))}</span></td>
          <td class="detail">${escapeHtml(b.detail)}</td><td class="mono">${escapeHtml(b.value)}</td></tr>`).join('')
          || `<tr class="empty"><td colspan="6">${t('connect.import.no_bad_rows')}</td></tr>`}</tbody>
      </table></div>
      ${anotherButton()}`;
  }

  async function commit() {
    const btn = $('#imp-commit');
    btn.disabled = true;
    showError(null);
    try {
      let job = await api('/api/import/commit', { method: 'POST', body: { upload_id: preview.upload_id, options: commitOptions() } });
      root.querySelectorAll('#imp-map select, #imp-map input').forEach((el) => { el.disabled = true; });
      paintRun(job);
      $('#imp-run').scrollIntoView({ block: 'start' });
      while (job.state === 'running' && !disposed) {
        await new Promise((resolve) => { setTimeout(resolve, POLL_MS); });
        job = await api(`/api/import/jobs/${job.id}`);
        if (!disposed) paintRun(job);
      }
      if (!disposed) $('#imp-run').scrollIntoView({ block: 'start' });
    } catch (err) {
      btn.disabled = false;
      showError(err);
    }
  }

  function reset() {
    preview = null;
    options = null;
    ['#imp-preview', '#imp-map', '#imp-run'].forEach((sel) => { $(sel).hidden = true; $(sel).innerHTML = ''; });
    $('#imp-form').reset();
    $('#imp-upload-state').textContent = '';
    showError(null);
  }

  $('#imp-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const file = $('#imp-file').files[0];
    if (!file) return;
    const state = $('#imp-upload-state');
    const btn = $('#imp-upload');
    btn.disabled = true;
    ['#imp-preview', '#imp-map', '#imp-run'].forEach((sel) => { $(sel).hidden = true; });
    showError(null);
    try {
      preview = await uploadFile(file, (share) => {
        state.textContent = `${t('connect.import.uploading', { name: file.name })} ${Math.round(share * 100)}%`;
      });
      if (disposed) return;
      state.textContent = '';
      options = preview.options
        ? { ...preview.options, mapping: { ...preview.options.mapping } }
        : { layout: preview.layout, time_column: preview.columns[0]?.name, mapping: {} };
      paintPreview();
      paintMapping();
    } catch (err) {
      state.textContent = '';
      showError(err);
    } finally {
      btn.disabled = false;
    }
  });
  $('#imp-map').addEventListener('change', onMapChange);
  $('#imp-map').addEventListener('click', (ev) => { if (ev.target.id === 'imp-commit') commit(); });
  $('#imp-run').addEventListener('click', (ev) => { if (ev.target.closest('[data-another]')) reset(); });
  return () => { disposed = true; };
}
