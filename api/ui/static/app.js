// The dashboard: evaluations (live progress, counts by category, pass@k, the time split, two
// runs compared), a job (result, statistics, search tree, live progress) and a submit form.
// It reads the API's open GET routes and submits with the key kept in session storage.
// Every text from the API (theorem names, tactics, goals, errors) is untrusted: it goes into
// the page as text (textContent), never as HTML.
"use strict";

const KEY_ITEM = "dcoprover-api-key";
const TERMINAL = new Set(["proved", "failed", "timeout", "error", "cancelled"]);
const STATUSES = ["proved", "failed", "timeout", "error", "cancelled"];
const TIME_PARTS = [
  ["prover", "time_prover_s", "#0b57d0"],
  ["policy", "time_policy_s", "#b26a00"],
  ["check", "time_check_s", "#1a7f37"],
  ["waiting for a prover", "time_waiting_s", "#9aa0a6"],
  ["search (ours)", null, "#6f42c1"],
];
let cleanups = [];

// -- small helpers ----------------------------------------------------------------------
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    // CSSOM, not a style attribute: the page's CSP allows no inline style.
    else if (name === "style") Object.assign(el.style, value);
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function showError(message) {
  document.getElementById("error").textContent = message || "";
}

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  // An id with a "/" in it could otherwise point the page at an event stream, which never ends.
  const type = response.headers.get("Content-Type") || "";
  if (!type.startsWith("application/json")) throw new Error(`${url}: not JSON (${type})`);
  return response.json();
}

/** A link inside the page: ids are encoded, so that "%", "/" or "#" in one stays in it. */
function link(section, ...ids) {
  return `#/${[section, ...ids.map((id) => encodeURIComponent(id))].join("/")}`;
}


async function getRows(evalId) {
  const response = await fetch(`/v1/evals/${encodeURIComponent(evalId)}/results.jsonl`);
  if (!response.ok) throw new Error(`results of ${evalId}: ${response.status}`);
  return (await response.text()).split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

/** Follow a stream until its last event (``done``, or a job's ``result``): the server ends
 * the stream there, and an EventSource left open would reconnect to it again and again. */
function watch(url, handlers) {
  const source = new EventSource(url);
  for (const kind of new Set([...Object.keys(handlers), "done", "result"])) {
    source.addEventListener(kind, (e) => {
      if (handlers[kind]) handlers[kind](JSON.parse(e.data));
      if (kind === "done" || kind === "result") source.close();
    });
  }
  // A refusal (503: the server's streams are all taken) closes an EventSource for good, and
  // it ignores Retry-After: say so, and open a new one a little later.
  source.onerror = () => {
    if (source.readyState !== EventSource.CLOSED) return;  // reconnecting by itself
    showError("live updates were refused (the server is busy); trying again in 5 s");
    const retry = setTimeout(() => { showError(""); watch(url, handlers); }, 5000);
    cleanups.push(() => clearTimeout(retry));
  };
  cleanups.push(() => source.close());
  return source;
}

function statusCell(status) {
  return h("td", { class: `status-${status}` }, status);
}

function seconds(value) {
  return value === undefined || value === null ? "" : `${Number(value).toFixed(1)} s`;
}

function when(epoch) {
  return new Date(epoch * 1000).toLocaleString();
}

/** A theorem's category: MiniF2F's source, its name's first word (amc12a_2019_p21 -> amc12a,
 * algebra_sqineq_at2malt1 -> algebra) or two for MATH (mathd_algebra_125 -> mathd_algebra);
 * a library theorem's module (Coq.Lists.List.app_nil_r -> Coq.Lists.List). */
function category(name) {
  if (name.includes(".")) return name.slice(0, name.lastIndexOf("."));
  const words = name.split("_");
  return words[0] === "mathd" && words.length > 2 ? `${words[0]}_${words[1]}` : words[0];
}

function ownTime(stats) {
  const spent = (stats.time_prover_s || 0) + (stats.time_policy_s || 0) +
    (stats.time_check_s || 0) + (stats.time_waiting_s || 0);
  return Math.max(0, (stats.time_total_s || 0) - spent);
}

function timeOf(stats, field) {
  return field ? stats[field] || 0 : ownTime(stats);
}

// -- the key --------------------------------------------------------------------------
function apiKey() { return sessionStorage.getItem(KEY_ITEM) || ""; }

function showKeyState() {
  document.getElementById("key-state").textContent = apiKey() ? "key kept for this tab" : "no key";
}

function bindKeyForm() {
  const form = document.getElementById("key-form");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const input = document.getElementById("key-input");
    if (input.value.trim()) sessionStorage.setItem(KEY_ITEM, input.value.trim());
    input.value = "";
    showKeyState();
  });
  document.getElementById("key-forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_ITEM);
    showKeyState();
  });
  showKeyState();
}

// -- evaluations ------------------------------------------------------------------------
async function renderEvals(main) {
  const runs = await getJSON("/v1/evals?limit=200");
  main.append(h("h1", {}, "Evaluations"));
  if (!runs.length) {
    main.append(h("p", {}, "No evaluation yet. Start one with POST /v1/evals or `prover eval`."));
    return;
  }
  const body = h("tbody");
  const updaters = new Map();
  for (const run of runs) {
    const progress = h("progress", { max: run.total, value: run.done,
      "aria-label": `progress of ${run.id}` });
    const done = h("td", { class: "num" }, `${run.done}/${run.total}`);
    const solved = h("td", { class: "num" }, run.solved);
    body.append(h("tr", { "data-eval": run.id },
      h("td", {}, h("a", { href: link("evals", run.id) }, run.id)),
      h("td", {}, `${run.benchmark} ${run.split}`), h("td", {}, run.prover),
      h("td", {}, run.config.strategy), h("td", {}, progress), done, solved,
      h("td", {}, when(run.created_at))));
    updaters.set(run.id, (counts) => {
      progress.value = counts.done;
      done.textContent = `${counts.done}/${counts.total}`;
      solved.textContent = counts.by_status.proved || 0;
    });
  }
  // One stream for every run (a browser holds only about six connections to a server).
  if (runs.some((r) => r.done < r.total)) {
    watch("/v1/evals/events?limit=200", {
      progress: (c) => (updaters.get(c.id) || (() => {}))(c),
    });  // its "done" (every run finished) closes it
  }
  main.append(h("table", {},
    h("thead", {}, h("tr", {}, ["run", "benchmark", "prover", "strategy", "progress", "done",
      "solved", "created"].map((t) => h("th", { scope: "col" }, t)))), body));
  main.append(compareForm(runs, runs[0].id));
}

function compareForm(runs, current) {
  const options = (selected) => runs.map((r) =>
    h("option", { value: r.id, selected: r.id === selected },
      `${r.id} (${r.benchmark} ${r.split}, ${r.solved}/${r.total})`));
  const first = h("select", { id: "compare-a" }, options(current));
  const second = h("select", { id: "compare-b" },
    options((runs.find((r) => r.id !== current) || runs[0]).id));
  return h("form", { class: "compare", onsubmit: (e) => {
    e.preventDefault();
    location.hash = link("compare", first.value, second.value);
  } },
  h("h2", {}, "Compare two runs"),
  h("label", { for: "compare-a" }, "Run A "), first, " ",
  h("label", { for: "compare-b" }, "Run B "), second, " ",
  h("button", { type: "submit" }, "Compare"));
}

async function renderEval(main, evalId) {
  const [run, runs] = await Promise.all([
    getJSON(`/v1/evals/${encodeURIComponent(evalId)}`), getJSON("/v1/evals?limit=200")]);
  main.append(h("h1", {}, `Evaluation ${run.id}`),
    h("p", { class: "muted" }, `${run.benchmark} ${run.split}, ${run.prover}, ` +
      `${run.config.strategy}, ${run.config.wall_timeout_s} s per theorem; created ${when(run.created_at)}`));
  const progress = h("progress", { max: run.total, value: run.done, id: "eval-progress",
    "aria-label": "evaluation progress" });
  const progressText = h("span", { id: "eval-progress-text", "aria-live": "polite" });
  const counts = h("div", { class: "counts", id: "eval-counts" });
  const sections = h("div");
  main.append(h("p", {}, progress, " ", progressText), counts, sections);
  let rowsShown = -1;
  let pending = null;

  const refresh = async (view) => {
    progress.value = view.done;
    progressText.textContent = `${view.done} of ${view.total} done`;
    counts.replaceChildren(...["proved", "failed", "timeout", "error", "cancelled"].map((s) =>
      h("div", { class: `status-${s}` }, h("b", {}, view.by_status[s] || 0), s)));
    if (view.done === rowsShown) return;
    rowsShown = view.done;
    const rows = await getRows(evalId);
    sections.replaceChildren(...evalSections(run, rows, view), compareForm(runs, evalId));
  };
  await refresh(run);
  if (run.done < run.total) {
    // Rows are re-read at most every 2 s, however fast results arrive.
    const onCounts = (c) => {
      const view = { ...run, ...c };
      if (pending) { pending.view = view; return; }
      pending = { view };
      setTimeout(async () => {
        const latest = pending.view;
        pending = null;
        await refresh(latest).catch((e) => showError(e.message));
      }, c.done >= c.total ? 0 : 2000);
      progress.value = c.done;
      progressText.textContent = `${c.done} of ${c.total} done`;
    };
    watch(`/v1/evals/${encodeURIComponent(run.id)}/events`, { progress: onCounts, done: onCounts });
  }
}

function evalSections(run, rows, view) {
  const out = [];
  // Counts by category.
  const byCategory = new Map();
  for (const row of rows) {
    const c = category(row.name);
    if (!byCategory.has(c)) byCategory.set(c, Object.fromEntries(STATUSES.map((s) => [s, 0])));
    byCategory.get(c)[row.status] = (byCategory.get(c)[row.status] || 0) + 1;
  }
  out.push(h("h2", {}, "By category"), h("div", { class: "scroll" }, h("table", { id: "by-category" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "category"),
      STATUSES.map((s) => h("th", { scope: "col", class: "num" }, s)))),
    h("tbody", {}, [...byCategory.entries()].sort().map(([c, n]) =>
      h("tr", {}, h("td", {}, c), STATUSES.map((s) => h("td", { class: "num" }, n[s]))))))));
  // pass@k.
  out.push(h("h2", {}, "pass@k"));
  if (view.pass_at_k) {
    const chart = h("div", { id: "pass-at-k", role: "img",
      "aria-label": "pass@k against k" });
    out.push(chart);
    const ks = Object.keys(view.pass_at_k).map(Number).sort((a, b) => a - b);
    requestAnimationFrame(() => new uPlot({
      width: Math.min(800, chart.clientWidth || 800), height: 260,
      scales: { x: { time: false, distr: 3 }, y: { range: [0, 1] } },
      series: [{ label: "k" }, { label: "pass@k", stroke: "#0b57d0", width: 2 }],
      axes: [{ label: "k" }, { label: "pass@k" }],
    }, [ks, ks.map((k) => view.pass_at_k[k])], chart));
  } else {
    out.push(h("p", { class: "muted" },
      "pass@k is estimated for pass@N runs that judge every sample (early_stop off)."));
  }
  // Where the time went.
  out.push(h("h2", {}, "Where the time went"), ...timeSplit(rows));
  // The rows.
  out.push(h("h2", {}, `Theorems (${rows.length} done)`), h("div", { class: "scroll" },
    h("table", { id: "eval-rows" },
      h("thead", {}, h("tr", {}, ["theorem", "status", "expansions", "time", "message"].map((t) =>
        h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.map((row) => h("tr", {},
        h("td", {}, h("a", { href: link("jobs", row.job) }, row.name)), statusCell(row.status),
        h("td", { class: "num" }, row.stats ? row.stats.expansions : ""),
        h("td", { class: "num" }, row.stats ? seconds(row.stats.time_total_s) : ""),
        h("td", {}, truncateText(row.message, 120))))))));
  return out;
}

function truncateText(text, n) {
  return text && text.length > n ? text.slice(0, n - 1) + "…" : text || "";
}

/** The run's total split into prover, policy, check, waiting and our own search code (a
 * stacked bar), then the same per theorem (a stacked uPlot bar chart). */
function timeSplit(rows) {
  const withStats = rows.filter((r) => r.stats);
  if (!withStats.length) return [h("p", { class: "muted" }, "No finished search yet.")];
  const totals = TIME_PARTS.map(([, field]) => withStats.reduce((a, r) => a + timeOf(r.stats, field), 0));
  const sum = totals.reduce((a, b) => a + b, 0) || 1;
  const bar = h("div", { class: "split", id: "time-split", role: "img",
    "aria-label": TIME_PARTS.map(([label], i) => `${label} ${Math.round((100 * totals[i]) / sum)}%`).join(", ") },
  TIME_PARTS.map(([label, , colour], i) => h("span", {
    title: `${label}: ${totals[i].toFixed(1)} s`,
    style: { width: `${(100 * totals[i]) / sum}%`, background: colour } })));
  const legend = h("div", { class: "legend" }, TIME_PARTS.map(([label, , colour], i) =>
    h("span", {}, h("span", { class: "swatch", style: { background: colour } }),
      `${label} ${totals[i].toFixed(1)} s (${Math.round((100 * totals[i]) / sum)}%)`)));
  const chart = h("div", { id: "time-per-theorem", role: "img",
    "aria-label": "time per theorem, stacked by part" });
  requestAnimationFrame(() => perTheoremChart(chart, withStats));
  return [bar, legend, chart];
}

function perTheoremChart(element, rows) {
  // uPlot draws bars unstacked: each series is drawn as the running sum, last part first.
  const xs = rows.map((_, i) => i);
  const parts = TIME_PARTS.map(([, field]) => rows.map((r) => timeOf(r.stats, field)));
  const stacked = [];
  let running = rows.map(() => 0);
  for (const part of parts) {
    running = running.map((v, i) => v + part[i]);
    stacked.push(running);
  }
  const bars = uPlot.paths.bars({ size: [0.9, 40] });
  const series = [{ label: "theorem" }];
  const data = [xs];
  for (let i = TIME_PARTS.length - 1; i >= 0; i--) {
    series.push({ label: TIME_PARTS[i][0], fill: TIME_PARTS[i][2], stroke: TIME_PARTS[i][2],
      paths: bars, points: { show: false } });
    data.push(stacked[i]);
  }
  const started = performance.now();
  new uPlot({
    width: Math.min(1000, element.clientWidth || 1000), height: 240,
    scales: { x: { time: false } }, legend: { show: false },
    axes: [{ label: "theorem (benchmark order)" }, { label: "seconds" }], series,
  }, data, element);
  element.dataset.renderMs = (performance.now() - started).toFixed(1);
}

async function renderCompare(main, a, b) {
  const [runA, runB, rowsA, rowsB] = await Promise.all([
    getJSON(`/v1/evals/${encodeURIComponent(a)}`), getJSON(`/v1/evals/${encodeURIComponent(b)}`),
    getRows(a), getRows(b)]);
  const byName = (rows) => new Map(rows.map((r) => [r.name, r]));
  const ma = byName(rowsA), mb = byName(rowsB);
  const names = [...new Set([...ma.keys(), ...mb.keys()])].sort();
  const proved = (m, n) => m.has(n) && m.get(n).status === "proved";
  const onlyA = names.filter((n) => proved(ma, n) && !proved(mb, n));
  const onlyB = names.filter((n) => proved(mb, n) && !proved(ma, n));
  const both = names.filter((n) => proved(ma, n) && proved(mb, n));
  main.append(h("h1", {}, "Two runs compared"),
    h("p", {}, h("a", { href: link("evals", a) }, `A: ${a}`), ` (${runA.benchmark} ${runA.split}, ${runA.config.strategy}) `,
      h("a", { href: link("evals", b) }, `B: ${b}`), ` (${runB.benchmark} ${runB.split}, ${runB.config.strategy})`),
    h("div", { class: "counts", id: "compare-counts" },
      h("div", {}, h("b", {}, onlyA.length), "proved by A only"),
      h("div", {}, h("b", {}, onlyB.length), "proved by B only"),
      h("div", {}, h("b", {}, both.length), "proved by both"),
      h("div", {}, h("b", {}, names.length - onlyA.length - onlyB.length - both.length),
        "by neither")));
  const table = (title, list, id) => [h("h2", {}, title), h("table", { id },
    h("thead", {}, h("tr", {}, ["theorem", "A", "B"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, list.map((n) => h("tr", {}, h("td", {}, n),
      cellOf(ma.get(n)), cellOf(mb.get(n))))))];
  main.append(...table("Proved by A, not by B", onlyA, "only-a"),
    ...table("Proved by B, not by A", onlyB, "only-b"));
}

function cellOf(row) {
  if (!row) return h("td", { class: "muted" }, "not run");
  return h("td", { class: `status-${row.status}` },
    h("a", { href: link("jobs", row.job) }, row.status));
}

// -- one job ----------------------------------------------------------------------------
async function renderJob(main, jobId) {
  const job = await getJSON(`/v1/proofs/${encodeURIComponent(jobId)}`);
  main.append(h("h1", {}, `Job ${job.id}`));
  const live = h("p", { id: "job-live", "aria-live": "polite" });
  main.append(h("p", {}, `${job.theorem} (${job.prover}, ${job.config.strategy}) `,
    h("strong", { id: "job-status", class: `status-${job.status}` }, job.status)), live);
  if (!TERMINAL.has(job.status)) {
    watch(`/v1/proofs/${encodeURIComponent(job.id)}/events`, {
      started: () => { live.textContent = "running"; },
      progress: (p) => {
        live.textContent = `running: ${p.expansions} expansions, depth ${p.best_depth}, ` +
          `${p.prover_calls} prover calls, ${seconds(p.elapsed_s)}`;
      },
      result: () => route(),
    });
    return;
  }
  const result = job.result;
  if (job.message) main.append(h("p", {}, job.message));
  if (!result) return;
  if (result.proof) main.append(h("h2", {}, "Proof"), h("pre", { id: "job-proof" }, result.proof));
  if (result.checked_source) {
    main.append(h("details", {}, h("summary", {}, "Checked source"),
      h("pre", {}, result.checked_source)));
  }
  main.append(h("p", {}, `Axioms: ${result.axioms.length ? result.axioms.join(", ") : "none"}`));
  const stats = result.stats;
  main.append(h("h2", {}, "Statistics"), h("table", { id: "job-stats" }, h("tbody", {},
    Object.entries(stats).map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k),
      h("td", { class: "num" }, typeof v === "number" && !Number.isInteger(v) ? v.toFixed(3) : v))))));
  main.append(h("h2", {}, "Search tree"));
  if (!result.tree || !result.tree.length) {
    main.append(h("p", { class: "muted" }, "No tree was recorded (evaluation jobs keep trees " +
      "only with \"trees\": true; pass@N has none)."));
    return;
  }
  main.append(treeSection(result.tree));
}

function treeSection(nodes) {
  const canvas = h("canvas", { class: "tree-canvas", id: "tree", tabindex: "0", role: "img",
    "aria-label": `search tree of ${nodes.length} nodes; arrow keys move, Enter expands or collapses` });
  const side = h("div", { class: "tree-side", id: "tree-node", "aria-live": "polite" });
  const legend = h("div", { class: "legend" }, Object.entries(NODE_COLOURS).map(([s, c]) =>
    h("span", {}, h("span", { class: "swatch", style: { background: c, border: "1px solid #5b6470" } }), s)),
  h("span", {}, h("span", { class: "swatch", style: { background: "#1a7f37" } }), "proof path"));
  const describe = (node) => side.replaceChildren(...[
    h("h3", {}, node.tactic ? "Tactic" : "Root"), node.tactic ? h("pre", {}, node.tactic) : null,
    h("p", {}, `status ${node.status}, depth ${node.depth}, score ${fixed(node.score)}, ` +
      `log-prob ${fixed(node.logprob)}`),
    node.message ? h("div", {}, h("h3", {}, "Message"), h("pre", { class: "node-message" }, node.message)) : null,
    node.goals && node.goals.length ? h("div", {}, h("h3", {}, `Goals (${node.goals.length})`),
      h("pre", {}, node.goals.join("\n\n"))) : null].filter(Boolean));
  const wrap = h("div", {},
    h("div", { class: "toolbar" },
      h("button", { type: "button", id: "tree-fit", onclick: () => view.fit() }, "Fit"),
      h("button", { type: "button", id: "tree-expand", onclick: () => view.expandAll() }, "Expand all"),
      h("button", { type: "button", id: "tree-path", onclick: () => view.collapseOffPath() },
        "Collapse off the proof path")),
    legend, h("div", { class: "tree-wrap" }, canvas, side));
  let view = null;
  requestAnimationFrame(() => {
    try {
      view = new TreeView(canvas, nodes, describe);
    } catch (error) {  // a tree that is not one (a cycle, two roots, a missing parent)
      showError(`the search tree cannot be drawn: ${error.message}`);
      return;
    }
    describe(nodes.find((n) => n.parent === null) || nodes[0]);
    window.dcoproverTree = view;
  });
  return wrap;
}

// -- submit -----------------------------------------------------------------------------
function renderSubmit(main) {
  const field = (label, control) => [h("label", { for: control.id }, label), control];
  const prover = h("select", { id: "submit-prover" },
    h("option", { value: "coq" }, "Coq"), h("option", { value: "lean" }, "Lean 4"));
  const header = h("textarea", { id: "submit-header", rows: 3, spellcheck: "false" });
  const statement = h("textarea", { id: "submit-statement", rows: 4, spellcheck: "false", required: true });
  const strategy = h("select", { id: "submit-strategy" },
    h("option", { value: "best-first" }, "best-first"), h("option", { value: "pass-at-n" }, "pass@N"));
  const timeout = h("input", { id: "submit-timeout", type: "number", min: 1, max: 3600, value: 60 });
  const expansions = h("input", { id: "submit-expansions", type: "number", min: 1, value: 200 });
  const state = h("p", { id: "submit-state", "aria-live": "polite" });
  const button = h("button", { type: "submit", id: "submit-button" }, "Prove");
  const send = async () => {
    const body = {
      prover: prover.value, header: header.value, statement: statement.value,
      strategy: strategy.value,
      budget: { wall_timeout_s: Number(timeout.value), max_expansions: Number(expansions.value) },
    };
    const response = await fetch("/v1/proofs", { method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${apiKey()}` } });
    const answer = await response.json().catch(() => ({}));
    if (response.status !== 202) {
      const detail = typeof answer.detail === "string" ? answer.detail : JSON.stringify(answer.detail);
      state.textContent = `refused (${response.status}): ${detail}`;
      return;
    }
    location.hash = link("jobs", answer.id);
  };
  const form = h("form", { class: "submit", onsubmit: async (e) => {
    e.preventDefault();
    if (button.disabled) return;  // one job per press, however fast the presses come
    if (!apiKey()) { state.textContent = "Enter an API key above first."; return; }
    state.textContent = "submitting…";
    button.disabled = true;
    try {
      await send();
    } catch (error) {
      state.textContent = `not sent: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  } },
  h("h1", {}, "Submit a theorem"),
  h("div", { class: "row" }, h("div", {}, ...field("Prover", prover)),
    h("div", {}, ...field("Strategy", strategy)),
    h("div", {}, ...field("Wall budget (s)", timeout)),
    h("div", {}, ...field("Max expansions", expansions))),
  ...field("Header (imports, definitions)", header),
  ...field("Statement", statement),
  h("p", {}, button), state);
  main.append(form);
}

// -- routing ----------------------------------------------------------------------------
async function route() {
  for (const cleanup of cleanups) cleanup();
  cleanups = [];
  showError("");
  const main = document.getElementById("main");
  main.replaceChildren();
  try {
    const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
    if (parts[0] === "evals" && parts[1]) await renderEval(main, parts[1]);
    else if (parts[0] === "compare" && parts[2]) await renderCompare(main, parts[1], parts[2]);
    else if (parts[0] === "jobs" && parts[1]) await renderJob(main, parts[1]);
    else if (parts[0] === "submit") renderSubmit(main);
    else await renderEvals(main);
  } catch (error) {
    showError(error.message);
  }
  document.body.dataset.ready = location.hash || "#/";
}

// Only "#/..." is a page of ours; another hash (the skip link's "#main") leaves the page as it
// is, with what the user typed in it.
window.addEventListener("hashchange", () => {
  if (location.hash === "" || location.hash.startsWith("#/")) route();
});
document.querySelector("a.skip").addEventListener("click", (e) => {
  e.preventDefault();
  document.getElementById("main").focus();
});
bindKeyForm();
route();
