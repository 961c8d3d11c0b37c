// streak-import's page: upload → review grid (problems on their cells) → fix inline → plan →
// import with a live bar. Every request carries the access token; the server holds the truth
// (a reload shows the same grid and a run in flight).
"use strict";

const T = window.TOKEN;
const ROW_H = 29; // px: a row's height (28 + its border), for drawing only the visible rows
const $ = (id) => document.getElementById(id);
const state = { columns: [], rows: null, view: [], active: { r: 0, c: 0 }, editing: null, run: null };

async function api(path, options = {}) {
  const headers = Object.assign({ "x-token": T }, options.headers || {});
  const res = await fetch(path, Object.assign({}, options, { headers }));
  const type = res.headers.get("content-type") || "";
  const body = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw new Error((body && body.error) || `HTTP ${res.status}`);
  return body;
}

function showError(message) {
  const e = $("error");
  e.textContent = message || "";
  e.hidden = !message;
}

// --- the grid's columns: row number, status, the live streak's id, the message, every template column
function gridColumns() {
  return ["row", "status", "id", "message", ...state.columns];
}
const FIRST_DATA = 4;

function problemsAt(row, c) {
  return row.problems.filter((p) => p.column === c);
}

function describe(ps) {
  return ps.map((p) => `${p.code}: ${p.message}${p.hint ? ` (${p.hint})` : ""}`).join("\n");
}

function applyView() {
  const only = $("only-problems").checked;
  state.view = [];
  (state.rows || []).forEach((r, i) => {
    if (!only || r.problems.length > 0 || ["invalid", "failed", "conflict", "differs", "not_sent"].includes(r.status)) {
      state.view.push(i);
    }
  });
  if (state.active.r >= state.view.length) state.active.r = Math.max(0, state.view.length - 1);
  render();
}

function cellValue(row, c) {
  if (c === 0) return String(row.row);
  if (c === 1) return row.plan ? `${row.status} · plan ${row.plan}` : row.status;
  if (c === 2) return row.target_group_id == null ? "" : String(row.target_group_id);
  if (c === 3) return row.message || "";
  return row.cells[c - FIRST_DATA] || "";
}

function renderHead() {
  const head = $("head");
  head.innerHTML = "";
  gridColumns().forEach((name) => {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = name;
    head.appendChild(th);
  });
}

function spacer(height, span) {
  const tr = document.createElement("tr");
  tr.className = "spacer";
  tr.setAttribute("aria-hidden", "true");
  const td = document.createElement("td");
  td.colSpan = span;
  td.style.height = `${height}px`;
  tr.appendChild(td);
  return tr;
}

// Only the rows in view (and a margin) are in the document: 20,000 rows stay responsive.
function render() {
  const wrap = $("grid-wrap");
  const body = $("body");
  const cols = gridColumns();
  const total = state.view.length;
  const first = Math.max(0, Math.floor(wrap.scrollTop / ROW_H) - 10);
  const last = Math.min(total, first + Math.ceil(wrap.clientHeight / ROW_H) + 20);
  const hadFocus = body.contains(document.activeElement);
  body.innerHTML = "";
  body.appendChild(spacer(first * ROW_H, cols.length));
  for (let v = first; v < last; v++) {
    const i = state.view[v];
    const row = state.rows[i];
    const tr = document.createElement("tr");
    tr.dataset.index = i;
    tr.setAttribute("aria-rowindex", String(v + 2));
    for (let c = 0; c < cols.length; c++) {
      const td = document.createElement("td");
      td.setAttribute("role", "gridcell");
      td.dataset.v = v;
      td.dataset.c = c;
      td.tabIndex = v === state.active.r && c === state.active.c ? 0 : -1;
      td.textContent = cellValue(row, c);
      if (c === 1) td.className = `status-${row.status}`;
      if (c === 3 && row.message) td.title = row.message;
      if (c >= FIRST_DATA) {
        td.dataset.column = cols[c];
        const ps = problemsAt(row, c - FIRST_DATA);
        const errors = ps.filter((p) => !p.warning);
        if (errors.length > 0) td.setAttribute("aria-invalid", "true");
        else if (ps.length > 0) td.classList.add("warn");
        if (ps.length > 0) {
          const text = describe(ps);
          td.setAttribute("aria-description", text);
          td.title = text;
        }
      }
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  body.appendChild(spacer((total - last) * ROW_H, cols.length));
  if (hadFocus) focusActive();
}

function activeCell() {
  return $("body").querySelector(`td[data-v="${state.active.r}"][data-c="${state.active.c}"]`);
}

function focusActive() {
  const td = activeCell();
  if (td) td.focus({ preventScroll: false });
}

function moveTo(r, c) {
  const cols = gridColumns().length;
  state.active = { r: Math.max(0, Math.min(state.view.length - 1, r)), c: Math.max(0, Math.min(cols - 1, c)) };
  const wrap = $("grid-wrap");
  const top = state.active.r * ROW_H;
  if (top < wrap.scrollTop + ROW_H) wrap.scrollTop = Math.max(0, top - ROW_H);
  else if (top > wrap.scrollTop + wrap.clientHeight - 2 * ROW_H) wrap.scrollTop = top - wrap.clientHeight + 2 * ROW_H;
  render();
  focusActive();
}

function showTip(td) {
  const tip = $("tip");
  const text = td && td.getAttribute("aria-description");
  if (!text) { tip.hidden = true; return; }
  const box = td.getBoundingClientRect();
  tip.textContent = text;
  tip.style.left = `${box.left}px`;
  tip.style.top = `${box.bottom + 4}px`;
  tip.hidden = false;
}

function startEdit(td, initial) {
  const c = Number(td.dataset.c);
  const cols = gridColumns();
  if (c < FIRST_DATA || (state.run && state.run.running)) return;
  const index = Number(td.parentElement.dataset.index);
  const input = document.createElement("input");
  input.setAttribute("aria-label", `${cols[c]}, row ${state.rows[index].row}`);
  input.value = initial != null ? initial : td.textContent;
  state.editing = { index, column: c - FIRST_DATA };
  td.textContent = "";
  td.appendChild(input);
  input.focus();
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      commit(input.value, e.key === "Tab" ? 1 : 0, e.key === "Enter" ? 1 : 0);
    } else if (e.key === "Escape") {
      state.editing = null;
      render();
      focusActive();
    }
    e.stopPropagation();
  });
  input.addEventListener("blur", () => {
    if (state.editing) commit(input.value, 0, 0);
  });
}

async function commit(value, right, down) {
  const edit = state.editing;
  state.editing = null;
  if (!edit) return;
  if ((state.rows[edit.index].cells[edit.column] || "") === value) {
    render();
    moveTo(state.active.r + down, state.active.c + right);
    return;
  }
  state.rows[edit.index].cells[edit.column] = value;
  try {
    const answer = await api("/api/edit", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ index: edit.index, column: edit.column, value }),
    });
    for (const { index, row } of answer.rows) state.rows[index] = row;
    showCounts(answer.counts);
    $("file-note").textContent = `Edited: plan and import use ${answer.file}.`;
    showError("");
  } catch (e) {
    showError(`The edit could not be checked: ${e.message}`);
  }
  render();
  moveTo(state.active.r + down, state.active.c + right);
}

function showCounts(c) {
  $("counts").textContent = `${c.rows} rows · ${c.valid} valid · ${c.invalid} invalid · ${c.warnings} with warnings`;
}

function showApi(a) {
  const line = a.kind === "sandbox" ? "API: the sandbox (a rehearsal; nothing reaches Capillary)"
    : a.kind === "remote" ? `API: ${a.base_url}`
    : a.kind === "needs_credentials" ? `API: ${a.base_url} (credentials needed)`
    : `No API: ${a.why}`;
  $("api").textContent = line;
  const needs = a.kind === "needs_credentials";
  $("credentials").hidden = !needs;
  if (needs) {
    $("credentials-why").textContent = a.why;
    $("credentials-state").textContent = a.typed ? "credentials set (kept in the server's memory only)" : "";
  }
  const can = a.kind !== "none";
  $("plan").disabled = !can;
  $("import").disabled = !can;
}

function showState(s) {
  state.columns = s.columns;
  showApi(s.api);
  if (!s.rows) {
    $("empty").hidden = false;
    $("loaded").hidden = true;
    return;
  }
  state.rows = s.rows;
  $("empty").hidden = true;
  $("loaded").hidden = false;
  $("sheet-name").textContent = `${s.name} (sheet ${s.sheet})`;
  showCounts(s.counts);
  $("file-note").textContent = s.edited ? `Edited: plan and import use ${s.file}.` : `Plan and import use ${s.file}; the command line resumes the same run with that file.`;
  $("download-fixed").href = `/api/fixed?token=${T}`;
  for (const k of ["json", "csv", "xlsx"]) $(`report-${k}`).href = `/api/report/${k}?token=${T}`;
  renderHead();
  showRun(s.run);
  applyView();
}

function showRun(run) {
  state.run = run;
  if (!run || (!run.running && !run.summary)) { $("run").hidden = true; return; }
  $("run").hidden = false;
  const pct = run.total ? Math.round((100 * run.position) / run.total) : (run.running ? 0 : 100);
  const bar = $("progress");
  bar.setAttribute("aria-valuenow", String(run.running ? pct : 100));
  bar.setAttribute("aria-valuetext", run.total ? `${run.label}: ${run.position} of ${run.total}` : run.label || "");
  $("progress-fill").style.width = `${run.running ? pct : 100}%`;
  $("run-label").textContent = run.running ? `${run.kind}: ${run.label} ${run.position}${run.total ? ` / ${run.total}` : ""}` : "";
  $("run-counts").textContent = `created ${run.created} · existing ${run.existing} · failed ${run.failed}`;
  $("run-summary").textContent = run.summary || "";
  $("reports").hidden = run.running || !run.summary;
  $("plan").disabled = run.running;
  $("import").disabled = run.running;
}

async function refresh() {
  try {
    showState(await api("/api/state"));
  } catch (e) {
    showError(e.message);
  }
}

// --- upload
async function upload(sheet, periods) {
  showError("");
  try {
    if (periods) {
      await api(`/api/upload?kind=periods&name=${encodeURIComponent(periods.name)}`, { method: "POST", body: periods });
    }
    const s = await api(`/api/upload?name=${encodeURIComponent(sheet.name)}${periods ? "&periods=1" : ""}`, { method: "POST", body: sheet });
    state.active = { r: 0, c: FIRST_DATA };
    $("grid-wrap").scrollTop = 0;
    showState(s);
  } catch (e) {
    showError(`${sheet.name}: ${e.message}`);
  }
}

$("sheet").addEventListener("change", () => {
  const f = $("sheet").files[0];
  if (f) upload(f, $("periods").files[0]);
});

const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("dragging"); });
drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("dragging");
  const files = [...e.dataTransfer.files];
  const periods = files.find((f) => /-periods\.(csv|tsv)$/i.test(f.name));
  const sheet = files.find((f) => f !== periods);
  if (sheet) upload(sheet, periods);
});

// --- the grid's keys and pointer
$("grid-wrap").addEventListener("scroll", () => { if (!state.editing) render(); });
$("body").addEventListener("click", (e) => {
  const td = e.target.closest("td[data-c]");
  if (!td || state.editing) return;
  state.active = { r: Number(td.dataset.v), c: Number(td.dataset.c) };
  render();
  focusActive();
});
$("body").addEventListener("dblclick", (e) => {
  const td = e.target.closest("td[data-c]");
  if (td) startEdit(td);
});
$("body").addEventListener("keydown", (e) => {
  if (state.editing) return;
  const { r, c } = state.active;
  const page = Math.floor($("grid-wrap").clientHeight / ROW_H) - 1;
  const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1], PageUp: [-page, 0], PageDown: [page, 0] };
  if (moves[e.key]) {
    e.preventDefault();
    moveTo(r + moves[e.key][0], c + moves[e.key][1]);
  } else if (e.key === "Home") { e.preventDefault(); moveTo(r, 0); }
  else if (e.key === "End") { e.preventDefault(); moveTo(r, gridColumns().length - 1); }
  else if (e.key === "Enter" || e.key === "F2") {
    e.preventDefault();
    const td = activeCell();
    if (td) startEdit(td);
  } else if (e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey) {
    // As in a spreadsheet: typing into a cell replaces its value.
    e.preventDefault();
    const td = activeCell();
    if (td) startEdit(td, e.key);
  }
});
$("body").addEventListener("focusin", (e) => showTip(e.target.closest("td")));
$("body").addEventListener("focusout", () => { $("tip").hidden = true; });
$("body").addEventListener("mouseover", (e) => showTip(e.target.closest("td")));
$("body").addEventListener("mouseleave", () => { $("tip").hidden = true; });
$("only-problems").addEventListener("change", () => { state.active.r = 0; applyView(); });

// --- credentials, plan, import
$("save-credentials").addEventListener("click", async () => {
  try {
    await api("/api/credentials", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: $("username").value, password: $("password").value }),
    });
    $("password").value = "";
    $("credentials-state").textContent = "credentials set (kept in the server's memory only)";
    showError("");
  } catch (e) {
    showError(e.message);
  }
});

async function startRun(kind) {
  showError("");
  try {
    await api(`/api/${kind}`, { method: "POST" });
    showRun({ running: true, kind, label: "starting", position: 0, total: null, created: 0, existing: 0, failed: 0 });
  } catch (e) {
    showError(e.message);
  }
}
$("plan").addEventListener("click", () => startRun("plan"));
$("import").addEventListener("click", () => startRun("import"));

// --- the run's events, as they come. Rows land faster than a screen refreshes: the grid and
// the bar are drawn at most once a frame, whatever the number of events.
let frame = null;
let pendingRun = null;
let gridDirty = false;
function schedule() {
  if (frame !== null) return;
  frame = requestAnimationFrame(() => {
    frame = null;
    if (pendingRun) { showRun(pendingRun); pendingRun = null; }
    if (gridDirty && !state.editing) { gridDirty = false; render(); }
  });
}

function listen() {
  const events = new EventSource(`/api/events?token=${T}`);
  events.onmessage = (m) => {
    const e = JSON.parse(m.data);
    const run = pendingRun || state.run || { created: 0, existing: 0, failed: 0 };
    if (e.type === "phase") {
      pendingRun = Object.assign({}, run, { running: true, kind: e.kind, label: e.label, position: e.position, total: e.total });
      schedule();
    } else if (e.type === "row" && e.index != null && state.rows) {
      const row = state.rows[e.index];
      if (!row) return;
      Object.assign(row, { status: e.status, target_group_id: e.target_group_id, plan: e.plan });
      if (e.message) row.message = e.message;
      gridDirty = true;
      schedule();
    } else if (e.type === "counts") {
      pendingRun = Object.assign({}, run, { created: e.created, existing: e.existing, failed: e.failed });
      schedule();
    } else if (e.type === "done") {
      refresh();
    } else if (e.type === "warning") {
      showError(e.text);
    }
  };
  // The browser reconnects by itself; the state is reloaded then, so nothing is missed.
  events.onopen = () => refresh();
}

refresh();
listen();
