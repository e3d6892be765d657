// Copilot page (工业大模型助手): chat whose answers come as tables, charts, SQL and cited passages;
// the knowledge base (documents the user is cleared for, upload for engineers) and the agent's tool-call log.
import { api, ApiError } from '../api.js';
import { baseOption, categoryAxis, makeChart, valueAxis } from '../charts.js';
import { escapeHtml, fmtDateTime, fmtNumber } from '../format.js';
import { t } from '../i18n.js';
import { can } from '../session.js';
import { useCss } from '../ui.js';

const MAX_ROWS_SHOWN = 50;
const LEVELS = ['public', 'internal', 'confidential', 'secret'];
const EXAMPLES = ['copilot.example.data', 'copilot.example.kb', 'copilot.example.health', 'copilot.example.workorder'];

const cell = (v) => (typeof v === 'number' ? fmtNumber(v, Number.isInteger(v) ? 0 : 2) : escapeHtml(v ?? ''));
const levelChip = (level) => `<span class="chip cp-level cp-level-${escapeHtml(level)}">${t(`copilot.level.${level}`)}</span>`;

function tableHtml(columns, rows) {
  const shown = rows.slice(0, MAX_ROWS_SHOWN);
  const more = rows.length > shown.length ? `<div class="muted small">${t('copilot.rows_shown', { n: shown.length, total: rows.length })}</div>` : '';
  return `<div class="table-wrap cp-table"><table class="data compact"><thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead>
    <tbody>${shown.map((r) => `<tr>${r.map((v) => `<td class="${typeof v === 'number' ? 'num' : ''}">${cell(v)}</td>`).join('')}</tr>`).join('')}</tbody></table></div>${more}`;
}

// ECharts option from the answer's chart spec ({type, x, y, title}; optional own columns/rows).
function chartOption(spec, answer) {
  const columns = spec.columns || answer.columns;
  const rows = spec.rows || answer.rows;
  const xi = columns.indexOf(spec.x);
  const yi = (spec.y || []).map((y) => columns.indexOf(y)).filter((i) => i >= 0);
  if (xi < 0 || !yi.length || !rows.length) return null;
  const labels = rows.map((r) => String(r[xi] ?? ''));
  const option = baseOption();
  if (spec.type === 'pie') {
    option.tooltip = { ...option.tooltip, trigger: 'item' };
    option.series = [{ type: 'pie', radius: ['35%', '68%'], label: { color: '#c3cdd9' },
      data: rows.map((r) => ({ name: String(r[xi]), value: r[yi[0]] })) }];
    return option;
  }
  option.legend = yi.length > 1 ? { top: 0, textStyle: { color: '#c3cdd9' } } : undefined;
  option.grid = { left: 56, right: 16, top: yi.length > 1 ? 30 : 16, bottom: 48 };
  option.xAxis = categoryAxis(labels, { axisLabel: { color: '#c3cdd9', fontSize: 11, hideOverlap: true, rotate: labels.length > 8 ? 30 : 0 } });
  option.yAxis = valueAxis(spec.type === 'line' ? {} : { scale: false, min: 0 });  // bars start at zero
  option.series = yi.map((i) => ({ name: columns[i], type: spec.type === 'line' ? 'line' : 'bar', showSymbol: false,
    data: rows.map((r) => r[i]), barMaxWidth: 36 }));
  return option;
}

export function mount(root) {
  useCss('copilot');
  let disposed = false;
  let conversation = null;
  const charts = [];
  const engineer = can('engineer');

  root.innerHTML = `
    <div class="cp-layout">
      <section class="panel cp-chat">
        <div class="panel-head"><h2>${t('copilot.title')}</h2><span class="muted small" id="cp-mode"></span>
          <span class="spacer"></span><button class="btn small ghost" id="cp-new" type="button">${t('copilot.new')}</button></div>
        <div class="cp-log" id="cp-log">
          <div class="cp-intro"><p class="muted">${t('copilot.intro')}</p>
            <div class="cp-examples">${EXAMPLES.map((k) => `<button type="button" class="chip cp-example">${escapeHtml(t(k))}</button>`).join('')}</div></div>
        </div>
        <form class="cp-ask" id="cp-form">
          <textarea id="cp-q" rows="2" maxlength="2000" placeholder="${escapeHtml(t('copilot.placeholder'))}"></textarea>
          <button class="btn primary" id="cp-send" type="submit">${t('copilot.send')}</button>
        </form>
      </section>
      <div class="cp-side">
        <section class="panel">
          <div class="panel-head"><h3>${t('copilot.kb.title')}</h3><span class="muted small" id="cp-clearance"></span></div>
          ${engineer ? `<form class="cp-upload" id="cp-upload">
            <input type="file" id="cp-files" multiple accept=".txt,.md,.markdown,.html,.htm,.pdf,.docx">
            <select id="cp-class">${LEVELS.map((l) => `<option value="${l}" ${l === 'internal' ? 'selected' : ''}>${t(`copilot.level.${l}`)}</option>`).join('')}</select>
            <button class="btn small" type="submit">${t('copilot.kb.upload')}</button></form><div id="cp-upload-result"></div>` : ''}
          <div class="table-wrap scroll-y"><table class="data compact" id="cp-docs"></table></div>
        </section>
        <section class="panel">
          <div class="panel-head"><h3>${t('copilot.calls.title')}</h3></div>
          <div class="table-wrap scroll-y"><table class="data compact" id="cp-calls"></table></div>
        </section>
      </div>
    </div>`;
  const $ = (id) => root.querySelector(`#${id}`);
  const log = $('cp-log');

  function addMessage(html, who) {
    const el = document.createElement('div');
    el.className = `cp-msg cp-${who}`;
    el.innerHTML = html;
    log.append(el);
    log.scrollTop = log.scrollHeight;
    return el;
  }

  function draftHtml(draft) {
    const facts = Object.entries(draft.body).map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(typeof v === 'object' ? JSON.stringify(v) : v)}</dd>`).join('');
    return `<div class="cp-draft"><div class="cp-draft-head"><b>${escapeHtml(draft.label)}</b><span class="muted small">${t('copilot.draft_note')}</span></div>
      <dl>${facts}</dl><button class="btn small primary cp-confirm" type="button">${t('copilot.confirm')}</button><span class="cp-confirm-result small"></span></div>`;
  }

  async function renderAnswer(a) {
    const parts = [`<div class="cp-meta">${a.tool ? `<span class="chip">${t(`copilot.tool.${a.tool}`)}</span>` : ''}
      <span class="chip cp-kind-${escapeHtml(a.kind)}">${t(`copilot.kind.${a.kind}`)}</span>
      <span class="muted small">${t(`copilot.planner.${a.planner}`)}</span></div>`,
    `<div class="cp-text">${escapeHtml(a.text).replace(/\n/g, '<br>')}</div>`];
    const chartable = a.chart && ['bar', 'line', 'pie'].includes(a.chart.type);
    if (a.chart && a.chart.type === 'number' && a.rows.length) {
      parts.push(`<div class="cp-number">${cell(a.rows[0][0])}<span class="muted small"> ${escapeHtml(a.columns[0])}</span></div>`);
    }
    if (chartable) parts.push('<div class="chart cp-chart"></div>');
    if (a.columns.length && !(a.chart && a.chart.type === 'number')) parts.push(tableHtml(a.columns, a.rows));
    if (a.sql) parts.push(`<details class="cp-sql"><summary>${t('copilot.sql')}</summary><pre class="mono">${escapeHtml(a.sql)}</pre></details>`);
    if (a.citations.length) {
      parts.push(`<div class="cp-cites"><div class="muted small">${t('copilot.citations')}</div><ol>${a.citations.map((c) => `
        <li><div class="cp-cite-src"><b>${escapeHtml(c.source)}</b> <span class="muted small">${escapeHtml(c.position)}${c.section ? ` · ${escapeHtml(c.section)}` : ''}</span> ${levelChip(c.classification)}</div>
        <blockquote>${escapeHtml(c.text)}</blockquote></li>`).join('')}</ol></div>`);
    }
    if (a.draft) parts.push(draftHtml(a.draft));
    const el = addMessage(parts.join(''), 'bot');
    if (a.draft) {
      const button = el.querySelector('.cp-confirm');
      button.addEventListener('click', async () => {
        button.disabled = true;
        const out = el.querySelector('.cp-confirm-result');
        try {
          const res = await api(a.draft.url, { method: a.draft.method, body: a.draft.body });
          out.className = 'cp-confirm-result small good';
          out.textContent = res && res.id != null ? t('copilot.confirmed_id', { id: res.id }) : t('copilot.confirmed');
          loadCalls();
        } catch (err) {
          out.className = 'cp-confirm-result small bad';
          out.textContent = err.message;
          button.disabled = false;
        }
      });
    }
    if (chartable) {
      const option = chartOption(a.chart, a);
      const holder = el.querySelector('.cp-chart');
      if (!option) { holder.remove(); return; }
      const chart = await makeChart(holder);
      if (disposed) { chart.dispose(); return; }
      chart.setOption(option);
      charts.push(chart);
    }
    log.scrollTop = log.scrollHeight;
  }

  async function ask(question) {
    if (!question.trim()) return;
    root.querySelector('.cp-intro')?.remove();
    addMessage(escapeHtml(question), 'user');
    const waiting = addMessage(`<span class="muted">${t('copilot.thinking')}</span>`, 'bot cp-waiting');
    $('cp-send').disabled = true;
    try {
      const answer = await api('/api/copilot/chat', { method: 'POST', body: { question, conversation } });
      conversation = answer.conversation;
      waiting.remove();
      if (!disposed) await renderAnswer(answer);
      loadCalls();
    } catch (err) {
      waiting.innerHTML = `<span class="bad">${escapeHtml(err instanceof ApiError ? err.message : t('copilot.error.generic'))}</span>`;
    } finally {
      $('cp-send').disabled = false;
    }
  }

  async function loadDocs() {
    const docs = await api('/api/copilot/kb');
    if (disposed) return;
    $('cp-docs').innerHTML = `<thead><tr><th>${t('copilot.kb.col.source')}</th><th>${t('copilot.kb.col.classification')}</th>
      <th class="num">${t('copilot.kb.col.passages')}</th><th>${t('copilot.kb.col.added')}</th></tr></thead><tbody>${docs.length ? docs.map((d) => `
      <tr><td>${escapeHtml(d.source)}${d.kind === 'records' ? ` <span class="muted small">${t('copilot.kb.records')}</span>` : ''}</td>
      <td>${levelChip(d.classification)}</td><td class="num">${d.chunks}</td><td class="nowrap small">${fmtDateTime(d.added_ms)}</td></tr>`).join('')
    : `<tr class="empty"><td colspan="4">${t('copilot.kb.empty')}</td></tr>`}</tbody>`;
  }

  async function loadCalls() {
    const calls = await api('/api/copilot/toolcalls', { query: { limit: 30 } });
    if (disposed) return;
    $('cp-calls').innerHTML = `<thead><tr><th>${t('copilot.calls.col.time')}</th><th>${t('copilot.calls.col.user')}</th>
      <th>${t('copilot.calls.col.tool')}</th><th>${t('copilot.calls.col.summary')}</th><th class="num">${t('copilot.calls.col.duration')}</th></tr></thead>
      <tbody>${calls.length ? calls.map((c) => `<tr><td class="nowrap small">${fmtDateTime(c.ts)}</td><td>${escapeHtml(c.user)}</td>
      <td class="nowrap"><span class="${c.ok ? 'good' : 'bad'}">●</span> ${t(`copilot.tool.${c.tool}`)}</td>
      <td class="small cp-summary" title="${escapeHtml(JSON.stringify(c.arguments))}">${escapeHtml(c.summary)}</td>
      <td class="num small">${fmtNumber(c.duration_ms, 0)} ms</td></tr>`).join('')
    : `<tr class="empty"><td colspan="5">${t('copilot.calls.empty')}</td></tr>`}</tbody>`;
  }

  async function loadMe() {
    const me = await api('/api/copilot/me');
    if (disposed) return;
    $('cp-clearance').innerHTML = `${t('copilot.clearance')} ${levelChip(me.clearance)}`;
    $('cp-mode').textContent = me.llm ? t('copilot.llm_on') : t('copilot.llm_off');
  }

  $('cp-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = $('cp-q').value;
    $('cp-q').value = '';
    ask(q);
  });
  $('cp-q').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      $('cp-form').requestSubmit();
    }
  });
  log.addEventListener('click', (ev) => {
    const example = ev.target.closest('.cp-example');
    if (example) ask(example.textContent);
  });
  $('cp-new').addEventListener('click', () => {
    conversation = null;
    charts.splice(0).forEach((c) => c.dispose());
    log.innerHTML = '';
    addMessage(`<span class="muted">${t('copilot.new_started')}</span>`, 'bot');
  });
  if (engineer) {
    $('cp-upload').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const files = $('cp-files').files;
      const out = $('cp-upload-result');
      if (!files.length) { out.innerHTML = `<div class="form-error">${t('copilot.kb.choose')}</div>`; return; }
      const form = new FormData();
      [...files].forEach((f) => form.append('files', f));
      form.append('classification', $('cp-class').value);
      out.innerHTML = `<div class="muted small">${t('copilot.kb.uploading')}</div>`;
      try {
        const res = await fetch('/api/copilot/kb', { method: 'POST', body: form, credentials: 'same-origin' });
        const data = await res.json();
        if (!res.ok) throw new Error(typeof data.detail === 'string' ? data.detail : JSON.stringify(data.detail));
        out.innerHTML = `<div class="small good">${t('copilot.kb.added', { n: data.added.length })}</div>${data.errors.map((e) =>
          `<div class="form-error small">${escapeHtml(e.error)}</div>`).join('')}`;
        $('cp-files').value = '';
        loadDocs();
      } catch (err) {
        out.innerHTML = `<div class="form-error">${escapeHtml(err.message)}</div>`;
      }
    });
  }

  loadMe();
  loadDocs();
  loadCalls();
  return () => {
    disposed = true;
    charts.forEach((c) => c.dispose());
  };
}
