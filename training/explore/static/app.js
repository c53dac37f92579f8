// alliance explore: one page, vanilla JS, no build step. The server answers JSON (training/explore/server.py).
"use strict";
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const POLL = 3000;  // ms between asks while the equilibrium search runs on the server
const SETTLE = 300;  // ms without a newer change before the baselines, streams, frontier and patron are asked for
const state = { scenarios: {}, sliders: [], touched: new Set(), seq: 0, summary: null, timer: null };

async function post(path, body) {
  const res = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await res.json();
  if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
  return data;
}

function point() {
  const overrides = {};
  for (const name of state.touched) overrides[name] = Number($(`num-${name}`).value);
  return { scenario: $("scenario").value, overrides };
}

function setMessage(text) { $("message").textContent = text || ""; }

function buildSliders() {
  const box = $("sliders");
  for (const s of state.sliders) {
    const div = document.createElement("div");
    div.className = "slider";
    div.innerHTML = `<label for="range-${s.name}">${s.name} <span class="what">${s.what}</span></label>` +
      `<input type="range" id="range-${s.name}" data-testid="param-${s.name}" min="${s.low}" max="${s.high}" step="${s.step}">` +
      ` <input type="number" id="num-${s.name}" data-testid="param-${s.name}-input" step="${s.step}">`;
    box.appendChild(div);
    const range = div.querySelector("input[type=range]"), num = div.querySelector("input[type=number]");
    range.addEventListener("input", () => { num.value = range.value; state.touched.add(s.name); schedule(); });
    num.addEventListener("change", () => {
      const v = Number(num.value);
      if (num.value.trim() === "" || !Number.isFinite(v)) { setMessage(`${s.name}=${JSON.stringify(num.value)} is not allowed: a number in [${s.low}, ${s.high}]`); return; }
      if (v >= s.low && v <= s.high) range.value = String(v);
      state.touched.add(s.name); schedule();   // out of range: the server answers 422 with its one line
    });
  }
}

function applyScenario() {
  const sc = state.scenarios[$("scenario").value];
  state.touched.clear();
  $("description").textContent = sc.description;
  for (const s of state.sliders) {
    const v = sc.values[s.name];
    $(`range-${s.name}`).value = String(v);
    $(`num-${s.name}`).value = String(v);
    const perPhase = sc.per_phase[s.name];
    const varies = perPhase && perPhase.some((x) => x !== perPhase[0]);
    $(`range-${s.name}`).title = varies ? `per phase: ${perPhase.join(", ")} (moving it sets every phase)` : "";
  }
  schedule(0);
}

function schedule(delay = 120) {
  clearTimeout(state.timer);
  state.timer = setTimeout(update, delay);
}

async function update() {
  const seq = ++state.seq, body = point();
  $("status").textContent = "solving…";
  try {
    const summary = await post("/api/solve", body);
    if (seq !== state.seq) return;
    setMessage("");
    renderSummary(summary);
    $("status").textContent = "ready";
    setTimeout(() => {   // the slower parts once the slider has settled on this point
      if (seq !== state.seq) return;
      later(seq, "/api/details", body, renderDetails);
      later(seq, "/api/frontier", body, renderFrontier);
      updatePatron(seq, body);
    }, SETTLE);
  } catch (err) {
    if (seq !== state.seq) return;
    setMessage(err.message);
    $("status").textContent = "error";
  }
}

async function later(seq, path, body, render) {
  try {
    const data = await post(path, body);
    if (seq === state.seq) render(data);
  } catch (err) { if (seq === state.seq) setMessage(err.message); }
}

async function updatePatron(seq = state.seq, body = point(), polling = false) {
  const mode = $("patron-mode").value;
  if (!polling) $("patron").textContent = mode === "commitment" ? "evaluating the 24 commitments…" : "…";
  try {
    const data = await post("/api/patron", { ...body, mode });
    if (seq === state.seq && mode === $("patron-mode").value) {
      renderPatron(data);
      if (data.status === "running") setTimeout(() => {  // the equilibrium search runs on the server: ask again
        if (seq === state.seq && mode === $("patron-mode").value) updatePatron(seq, body, true);
      }, POLL);
    }
  } catch (err) { if (seq === state.seq) $("patron").textContent = err.message; }
}

function renderSummary(s) {
  state.summary = s;
  $("value").textContent = s.value.toFixed(4);
  $("archetype").textContent = s.archetype;
  const body = $("phase-table").querySelector("tbody");
  body.innerHTML = "";
  for (const p of s.phases) {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td>${p.phase} ${p.name}</td><td data-testid="phase-${p.phase}">${p.archetype}</td>`;
    body.appendChild(tr);
  }
}

function renderDetails(d) {
  const body = $("baselines").querySelector("tbody");
  body.innerHTML = `<tr class="optimum"><td>optimal</td><td class="num" data-testid="baseline-optimal">${d.optimum.toFixed(4)}</td><td class="num">100.0%</td></tr>`;
  for (const b of d.baselines) {
    body.insertAdjacentHTML("beforeend", `<tr><td>${b.name}</td><td class="num" data-testid="baseline-${b.name}">${b.value.toFixed(4)}</td><td class="num">${(100 * b.share).toFixed(1)}%</td></tr>`);
  }
  const svg = $("streams");
  svg.innerHTML = "";
  const names = ["security", "autonomy", "economy", "costs"], colors = ["#3a7d44", "#2f6690", "#d98e04", "#b23a48"];
  const top = Math.max(1, ...names.map((n) => d.streams[n]));
  names.forEach((n, i) => {
    const h = 150 * d.streams[n] / top, x = 30 + i * 82;
    el(svg, "rect", { x, y: 170 - h, width: 56, height: h, fill: colors[i] });
    el(svg, "text", { x: x + 28, y: 185, "text-anchor": "middle" }).textContent = n;
    el(svg, "text", { x: x + 28, y: 165 - h, "text-anchor": "middle" }).textContent = d.streams[n].toFixed(3);
  });
  el(svg, "line", { x1: 20, y1: 170, x2: 350, y2: 170, stroke: "#999" });
}

function el(parent, tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  parent.appendChild(node);
  return node;
}

function renderFrontier(f) {
  const svg = $("frontier");
  svg.innerHTML = "";
  const pts = [...f.optima, ...f.baselines, f.default];
  const xs = pts.map((p) => p.autonomy), ys = pts.map((p) => p.security);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)], [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const X = (v) => 45 + 350 * (v - x0) / ((x1 - x0) || 1), Y = (v) => 210 - 190 * (v - y0) / ((y1 - y0) || 1);
  el(svg, "line", { x1: 45, y1: 210, x2: 400, y2: 210, stroke: "#999" });
  el(svg, "line", { x1: 45, y1: 15, x2: 45, y2: 210, stroke: "#999" });
  el(svg, "text", { x: 220, y: 232, "text-anchor": "middle" }).textContent = `autonomy (${x0.toFixed(2)} – ${x1.toFixed(2)})`;
  el(svg, "text", { x: 10, y: 12 }).textContent = `security (${y0.toFixed(2)} – ${y1.toFixed(2)})`;
  el(svg, "polyline", { points: f.optima.map((p) => `${X(p.autonomy)},${Y(p.security)}`).join(" "), fill: "none", stroke: "#2f6690", "stroke-width": 2 });
  for (const b of f.baselines) {
    el(svg, "circle", { cx: X(b.autonomy), cy: Y(b.security), r: 3, fill: "#888" });
    el(svg, "text", { x: X(b.autonomy) + 4, y: Y(b.security) - 3 }).textContent = b.label;
  }
  const d = f.default;
  el(svg, "text", { x: X(d.autonomy), y: Y(d.security) + 5, "text-anchor": "middle", fill: "#b23a48", "font-size": 16 }).textContent = "★";
}

function renderPatron(p) {
  const rows = p.patron.map((a, i) => `<tr><td>${a.phase} ${a.name}</td><td data-testid="patron-action-${a.phase}${i ? "-" + i : ""}">(D ${a.action[0]}, IP ${a.action[1]}, σ ${a.action[2]})` +
    `${a.share !== undefined ? " " + (100 * a.share).toFixed(1) + " %" : ""}</td></tr>`).join("");
  const value = p.value_small === null ? "" : `<p>small state's answer: <b data-testid="patron-answer">${p.archetype}</b>, V_S(s₀) = <b>${p.value_small.toFixed(4)}</b>` +
    (p.value_patron !== undefined ? `, patron's V_P(s₀) = ${p.value_patron.toFixed(4)}` : "") + "</p>";
  $("patron").innerHTML = `<p class="muted" data-testid="patron-note">${p.note}</p>` +
    (rows ? `<table><thead><tr><th>phase</th><th>patron's action</th></tr></thead><tbody>${rows}</tbody></table>` : "") + value;
}

function download() {
  if (!state.summary) return;
  const name = state.summary.yaml.match(/^name: (.*)$/m)[1].replace(/['"]/g, "");
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([state.summary.yaml], { type: "application/x-yaml" }));
  a.download = `${name}.yaml`;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

async function main() {
  const res = await fetch("/api/scenarios");
  const data = await res.json();
  state.sliders = data.sliders;
  for (const sc of data.scenarios) {
    state.scenarios[sc.name] = sc;
    $("scenario").insertAdjacentHTML("beforeend", `<option value="${sc.name}">${sc.name}</option>`);
  }
  $("scenario").value = "war";
  buildSliders();
  $("scenario").addEventListener("change", applyScenario);
  $("reset").addEventListener("click", applyScenario);
  $("download").addEventListener("click", download);
  $("patron-mode").addEventListener("change", () => updatePatron());
  applyScenario();
}

main().catch((err) => setMessage(err.message));
