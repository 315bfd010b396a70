// BPTT Explorer's live view: the sweep of a knob's whole grid (explorer/sweeps.py) arrives once as JSON, and every
// input event of the knob redraws from it in the browser — no server round trip while the knob is dragged. On
// release the value goes back to Streamlit (setStateValue), so the sidebar, the URL and the other charts follow.
//
// Views (data.views): "graph" the unrolled network (h_t coloured by ‖δ_t‖, each recurrent edge's width and colour
// the gradient it carries back, the LSTM's cell-state row, truncation cuts) with a step-through of the forward and
// backward passes — for a stack (data.grid) the layers × time grid: a row of h_t^(l) per layer, time edges within a
// layer and depth edges between layers, each carrying the gradient it passes back; "delta" ‖δ_t‖ against t (every
// layer's, for a stack); "lags" ‖∂h_t/∂h_{t−ℓ}‖ against ℓ with the (σ₁γ)^ℓ and ρ^ℓ lines;
// "eigen" the eigenvalues of W_hh with the unit circle. Non-finite numbers arrive as null ("nan"), "inf", "-inf".
// What is drawn is also exposed for tests: window.__bpttScrub[key] and data-* attributes on the SVG elements.
// Without sight, colour or a mouse: under every view a one-sentence summary written from the numbers it draws
// (summaries below; also each SVG's aria-label and window.__bpttScrub[key].summaries), spoken by a polite live
// region at most every 250 ms while the knob moves; every control is a native, focusable element (or a keyboard
// slider), and keeps its focus when a release reruns the page and remounts the view.

const NS = "http://www.w3.org/2000/svg";
const VIRIDIS = ["#440154", "#414487", "#2a788e", "#22a884", "#7ad151", "#fde725"];
const BLUES = ["#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b"];

function num(v) {
  if (v === null || v === "nan") return NaN;
  if (v === "inf") return Infinity;
  if (v === "-inf") return -Infinity;
  return v;
}
const nums = (a) => a.map(num);
const log10 = (v) => (v > 0 ? Math.log10(v) : (v === 0 ? -Infinity : NaN));
const fin = (v) => Number.isFinite(v);

function ramp(colors, u) {
  if (!fin(u)) return "#dddddd";
  u = Math.min(1, Math.max(0, u)) * (colors.length - 1);
  const i = Math.min(colors.length - 2, Math.floor(u)), f = u - i;
  const a = colors[i], b = colors[i + 1];
  const c = (k) => Math.round(parseInt(a.substr(k, 2), 16) * (1 - f) + parseInt(b.substr(k, 2), 16) * f);
  return `rgb(${c(1)},${c(3)},${c(5)})`;
}

// x_t (square), y_t (diamond) and ℓ_t (triangle, orange where the step has a target) at horizontal position x:
// the rows the one-layer graph and the stacked grid share
function ioNodes(g, x, Y, R, f, target) {
  el("rect", { x: x - R * 0.8, y: Y.x - R * 0.8, width: 1.6 * R, height: 1.6 * R, class: "node plain" }, g);
  el("polygon", { points: `${x},${Y.y - R} ${x + R},${Y.y} ${x},${Y.y + R} ${x - R},${Y.y}`,
                  class: f ? "node plain" : "node plain idle" }, g);
  el("polygon", { points: `${x},${Y.L - R} ${x + R},${Y.L + R * 0.8} ${x - R},${Y.L + R * 0.8}`,
                  class: f ? "node" : "node idle", fill: target ? "#e69f00" : "#ffffff" }, g);
}

function el(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function div(cls, parent, text) {
  const d = document.createElement("div");
  d.className = cls;
  if (text !== undefined) d.textContent = text;
  parent.appendChild(d);
  return d;
}

function fmt(v) {
  if (!fin(v)) return v === Infinity ? "∞" : (v === -Infinity ? "−∞" : "–");
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) {
    const [m, e] = v.toExponential(2).split("e");
    return `${m}·10${SUP(Number(e))}`;
  }
  return v.toPrecision(3);
}
// a number for a sentence: 2 significant digits, plain text a screen reader reads ("1.2e-12", not superscripts)
function say(v) {
  if (!fin(v)) return v === Infinity ? "infinite" : (v === -Infinity ? "minus infinite" : "undefined");
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e-2 && a < 1e4 ? String(Number(v.toPrecision(2))) : v.toExponential(1);
}
const span = (a, b) => (a === b ? `step ${a}` : `steps ${a}–${b}`);
// the least-squares slope of y against x over the finite points (NaN for fewer than two distinct x)
function slope(xs, ys) {
  const pts = xs.map((x, i) => [x, ys[i]]).filter(([x, y]) => fin(x) && fin(y));
  if (pts.length < 2) return NaN;
  const mx = pts.reduce((s, p) => s + p[0], 0) / pts.length, my = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  let sxy = 0, sxx = 0;
  for (const [x, y] of pts) { sxy += (x - mx) * (y - my); sxx += (x - mx) * (x - mx); }
  return sxx > 0 ? sxy / sxx : NaN;
}
// The controls' focus rings (the view's own is in scrub.css) and the summaries' look, kept with the code that
// makes them
const A11Y_CSS = `
.bptt-scrub button:focus-visible, .bptt-scrub select:focus-visible, .bptt-scrub input:focus-visible,
.bptt-scrub svg.overview:focus-visible { outline: 3px solid #1c6fd1; outline-offset: 2px; }
.bptt-scrub button[aria-pressed="true"] { border-color: #1c6fd1; background: #eef4fc; }
.bptt-scrub p.summary { margin: 2px 0 12px; color: #3d4049; font-size: 0.92em; line-height: 1.4; max-width: 70em; }
`;
const sub = (n) => (typeof n === "number" ? String(n).replace(/[0-9]/g, (d) => "₀₁₂₃₄₅₆₇₈₉"[d]).replace("-", "₋")
                                           : "_" + n);

function extent(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (fin(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (lo === Infinity) return [-1, 1];
  if (hi - lo < 1e-9) return [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

const SUP = (n) => String(n).replace(/[0-9]/g, (d) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[d]).replace("-", "⁻");

// Ticks of a log10 axis from lo to hi: [value (log10), label]; decades at a nice stride, or 1-2-5 within a decade
function logTicks(lo, hi, n = 5) {
  const out = [];
  if (hi - lo < 2) {
    for (let d = Math.floor(lo); d <= Math.ceil(hi); d++) for (const m of [1, 2, 5]) {
      const v = d + Math.log10(m);
      if (v >= lo - 1e-9 && v <= hi + 1e-9) out.push([v, (m === 1 ? "" : m + "·") + "10" + SUP(d)]);
    }
    return out;
  }
  const step = niceStep((hi - lo) / n);
  for (let d = Math.ceil(lo / step) * step; d <= hi + 1e-9; d += step) out.push([d, "10" + SUP(d)]);
  return out;
}

function niceStep(raw) {                               // 1, 2, 5, 10, 20, 50 … ≥ raw (at least 1)
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-9))));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return Math.max(1, m * p);
  return 10 * p;
}

export default function (component) {
  const { data, parentElement, setStateValue, key } = component;
  const old = parentElement.querySelector(".bptt-scrub");           // each run mounts afresh (no stale listeners)
  // a release reruns the page and remounts the view: the control that had the keyboard gets it back
  const focused = old && old.contains(document.activeElement) ? document.activeElement.dataset.k : null;
  if (old) old.remove();
  const root = document.createElement("div");
  root.className = "bptt-scrub";
  root.dataset.k = "root";
  parentElement.appendChild(root);
  const css = document.createElement("style");
  css.textContent = A11Y_CSS;
  root.appendChild(css);
  let D;
  try {
    D = typeof data === "string" ? JSON.parse(data) : data;
    if (!D || !Array.isArray(D.values) || D.values.length === 0) throw new Error("no grid");
  } catch (e) {
    root.textContent = "This live view could not read its data (" + e.message + "); the charts below still work.";
    return;
  }
  const big = !!D.projector;
  root.classList.toggle("big", big);
  const n = D.values.length, T = D.T, W = Math.min(D.window || 30, T);
  const S = {
    index: D.index, start: Math.max(0, Math.min(D.start, T - W)), step: D.step, phase: 2 * W, playing: false,
    timer: null, unit: null,
  };

  // ---- controls ---------------------------------------------------------------------------------------------
  const bar = document.createElement("div");
  bar.className = "bar";
  root.appendChild(bar);
  const label = document.createElement("label");
  label.className = "knob";
  const name = document.createElement("span");
  const range = document.createElement("input");
  range.type = "range"; range.min = 0; range.max = n - 1; range.step = 1; range.value = S.index;
  range.setAttribute("aria-label", D.label);
  range.className = "scale";
  range.dataset.k = "range";
  label.append(name, range);
  bar.appendChild(label);
  const live = document.createElement("span");
  live.className = "live";
  live.textContent = "live: redrawn in your browser while you drag; the sidebar follows on release";
  bar.appendChild(live);
  if (D.locked) {                        // teacher mode hides this setting: the view shows it, nobody moves it
    range.disabled = true; range.hidden = true;
    live.textContent = "set by your teacher for this lesson";
  }

  const views = {};
  const state = (window.__bpttScrub = window.__bpttScrub || {});
  const exposed = (state[D.name || key] = { redraws: 0, summaries: {} });
  const knobName = { scale: D.label.endsWith("σ₁") ? "σ₁" : "ρ", k2: "k2", keep: "π" }[D.knob] || D.label;
  const at = () => `${knobName} = ${D.values[S.index].toFixed(D.digits)}`;

  // ---- the summaries: one sentence per view, written into its <p class="summary"> and its SVG's aria-label
  // together, at most every 250 ms (a drag or the playback must not flood a screen reader), at once on release
  const said = {};
  let lastFlush = -Infinity, flushTimer = null;
  function summary(view, box, svg) {
    const p = document.createElement("p");
    p.className = "summary";
    p.setAttribute("aria-live", "polite");
    box.appendChild(p);
    said[view] = { p, svg, text: "" };
  }
  function flush() {
    clearTimeout(flushTimer);
    flushTimer = null;
    lastFlush = performance.now();
    const out = {};
    for (const [v, s] of Object.entries(said)) {
      if (s.p.textContent !== s.text) s.p.textContent = s.text;
      s.svg.setAttribute("aria-label", s.text);
      out[v] = s.text;
    }
    exposed.summaries = out;
  }
  function tell(view, text) {
    said[view].text = text;
    if (!flushTimer) flushTimer = setTimeout(flush, Math.max(0, 250 - (performance.now() - lastFlush)));
  }

  function current() {
    const i = S.index, st = D.steps;
    const pick = (k) => (st[k] ? nums(st[k][i]) : null);
    return {
      value: D.values[i], delta: pick("norm_delta"), direct: pick("norm_direct"), through: pick("norm_through_J"),
      loss: pick("loss"), c: pick("norm_c"), h: pick("norm_h"), term: pick("norm_term"), overflow: D.overflow[i], lag: D.lag ? nums(D.lag[i]) : null,
      rho: D.rho[i], sigma1: D.sigma1[i], eig_re: D.eig_re ? nums(D.eig_re[i]) : null,
      eig_im: D.eig_im ? nums(D.eig_im[i]) : null,
      cuts: D.cuts[i] || [],
      xi: D.xi ? nums(D.xi[i]) : null, reference: D.reference ? nums(D.reference) : null,
      layers: D.grid ? D.grid.node[i].map(nums) : null,      // a stack: ‖δ_t^(l)‖ of every layer, (L, T)
    };
  }

  // ---- the unrolled graph ----------------------------------------------------------------------------------
  function graphView() {
    const box = div("view graph", root);
    const steps = document.createElement("div");
    steps.className = "bar";
    const btn = (k, text, name, title, fn) => {       // name: what a screen reader says (the text is symbols)
      const b = document.createElement("button");
      b.type = "button"; b.textContent = text; b.title = title; b.onclick = fn;
      b.setAttribute("aria-label", name);
      b.dataset.k = k;
      steps.appendChild(b);
      return b;
    };
    btn("first", "⇤", "to the start: nothing computed", "start: nothing computed (Home)",
        () => { stop(); S.phase = 0; draw(); });
    btn("back", "◀", "one step back", "one step back (←)", () => { stop(); S.phase = Math.max(0, S.phase - 1); draw(); });
    const play = btn("play", "▶ play", "play both passes", "play both passes (space)", () => toggle());
    play.setAttribute("aria-pressed", "false");
    btn("on", "▶|", "one step on", "one step on (→)", () => { stop(); S.phase = Math.min(2 * W, S.phase + 1); draw(); });
    btn("last", "⇥", "to the end: both passes done", "end: both passes done (End)",
        () => { stop(); S.phase = 2 * W; draw(); });
    const phaseText = document.createElement("span");
    phaseText.className = "phase";
    steps.appendChild(phaseText);
    if (D.units) {                      // focus on one hidden unit: its |δ_t,i| along the chain
      const lab = document.createElement("label");
      lab.className = "unit";
      lab.textContent = "colour by ";
      const sel = document.createElement("select");
      sel.setAttribute("aria-label", "hidden unit to follow");
      sel.dataset.k = "unit";
      const Hn = D.units[0][0].length;
      sel.append(new Option("‖δ_t‖ (all units)", "-1"));
      for (let u = 0; u < Hn; u++) sel.append(new Option(`unit ${u}: |δ_t,${u}|`, String(u)));
      sel.onchange = () => { S.unit = Number(sel.value) < 0 ? null : Number(sel.value); draw(); };
      lab.appendChild(sel);
      steps.appendChild(lab);
    }
    box.appendChild(steps);
    const lstm = !!D.steps.norm_c;
    const G = D.grid || null;              // a stack: per grid point node (L, T), time (L, T−1), depth (L−1, T)
    const NL = G ? G.node[0].length : 1;
    const rows = G ? ["x", ...Array.from({ length: NL }, (_, l) => "h" + l), "y", "L"]   // layer 0 at the bottom
      : (lstm ? ["x", "h", "c", "y", "L"] : ["x", "h", "y", "L"]);
    const rowName = { x: "x_t", h: "h_t", c: "c_t", y: "y_t", L: "ℓ_t" };
    for (let l = 0; l < NL && G; l++) rowName["h" + l] = `h_t^(${l})`;
    const Wpx = 1100, left = G ? 84 : 60, right = 170, top = 24, rowH = big ? 78 : 66;   // (h_t^(l) is wider)
    const Hpx = top + rowH * rows.length + 30;
    const svg = el("svg", { viewBox: `0 0 ${Wpx} ${Hpx}`, width: "100%", role: "img" }, box);
    const ov = T > W ? overview(box) : null;
    summary("graph", box, svg);
    const scheme = D.cuts.some((cs) => cs && cs.length);   // a truncation scheme: say where it cuts (or that it does not)
    const eq = document.createElement("div");
    eq.className = "equation";
    box.appendChild(eq);
    const Y = Object.fromEntries(rows.map((r, k) => [r, top + rowH * (rows.length - 1 - k) + rowH / 2]));
    const dx = (Wpx - left - right) / W;
    const X = (t) => left + (t - S.view + 0.5) * dx;
    const R = Math.max(6, Math.min(13, dx * 0.28));

    function toggle() {
      if (S.playing) return stop();
      S.playing = true; play.textContent = "❚❚ pause";
      play.setAttribute("aria-pressed", "true");            // its name stays "play": pressed means playing
      said.graph.p.setAttribute("aria-live", "off");        // a step every 320 ms would drown a screen reader
      if (S.phase >= 2 * W) S.phase = 0;
      S.timer = setInterval(() => {
        if (S.phase >= 2 * W) return stop();
        S.phase += 1; draw();
      }, 320);
    }
    function stop() {
      const was = S.playing;
      S.playing = false; play.textContent = "▶ play";
      play.setAttribute("aria-pressed", "false");
      if (S.timer) clearInterval(S.timer);
      S.timer = null;
      if (was) { said.graph.p.setAttribute("aria-live", "polite"); flush(); }   // where it stopped, said once
    }
    views.stop = stop;

    function draw() {
      const c = current();
      // a grid point that overflowed before the window: show the steps up to its overflow, as the server does
      S.view = c.overflow >= 0 && S.start >= c.overflow ? Math.max(0, c.overflow - W) : S.start;
      const ts = Array.from({ length: W }, (_, k) => S.view + k);
      const fwdDone = Math.min(S.phase, W);              // forward steps computed (left to right)
      const bwdDone = Math.max(0, S.phase - W);          // backward steps done (right to left)
      const forward = (t) => t - S.view < fwdDone;
      const backward = (t) => S.view + W - 1 - t < bwdDone;
      if (G) return drawGrid(c, ts, fwdDone, bwdDone, forward, backward);
      const unitOf = (t) => {                           // |δ_t,i| of the focused unit (shipped as centi-log10)
        const row = D.units[S.index][t - D.units_start];
        const v = row ? row[S.unit] : null;
        return v === null || v === undefined ? NaN : Math.pow(10, v / 100);
      };
      const nodeValue = (t) => (S.unit === null ? c.delta[t] : unitOf(t));
      const ld = ts.map((t) => log10(nodeValue(t)));
      const [lo, hi] = extent(ld);
      const le = ts.slice(0, -1).map((t) => log10(c.through[t]));
      const lc = lstm ? ts.slice(0, -1).map((t) => log10(c.c[t])) : [];
      const [elo, ehi] = extent(le.concat(lc));
      svg.innerHTML = "";
      const g = el("g", {}, svg);
      for (const r of rows) el("text", { x: 8, y: Y[r] + 5, class: "rowname" }, g).textContent = rowName[r];
      // forward structure: x → h → y → ℓ (and h ↔ c), thin grey, drawn first so the recurrent edges sit on top
      for (const t of ts) {
        const on = forward(t) ? "fwd on" : "fwd";
        const pairs = [["x", "h"], ["h", "y"], ["y", "L"]].concat(lstm ? [["h", "c"]] : []);
        for (const [a, b] of pairs) {
          el("line", { x1: X(t), y1: Y[a] - R - 2, x2: X(t), y2: Y[b] + R + 2, class: on,
                       "marker-end": "url(#arrow-fwd)" }, g);
        }
      }
      // recurrent edges h_t → h_{t+1} (and c_t → c_{t+1}), between the nodes, never under them
      const defs = el("defs", {}, svg);
      arrowMarkers(defs);
      const edge = (row, t, lv, raw) => {
        const u = (lv - elo) / (ehi - elo || 1);
        const bin = fin(lv) ? Math.min(BLUES.length - 1, Math.floor(Math.max(0, u) * BLUES.length)) : 0;
        const cut = c.cuts.includes(t + 0.5);
        const used = backward(t + 1) && !cut;
        const e = el("line", {
          x1: X(t) + R + 1, y1: Y[row], x2: X(t + 1) - R - 3, y2: Y[row],
          stroke: cut ? "#d62728" : (fin(lv) ? ramp(BLUES, u) : "#dddddd"),
          "stroke-width": cut ? 2 : (fin(lv) ? 2 + 7 * Math.max(0, u) : 1.5),
          "stroke-dasharray": cut ? "5 4" : "", opacity: used || S.phase >= 2 * W ? 1 : 0.25,
          "marker-end": cut ? "" : `url(#arrow-b${bin})`, class: `edge ${row}`, "data-t": t,
          "data-value": String(raw),
        }, g);
        if (cut) el("text", { x: (X(t) + X(t + 1)) / 2, y: Y[row] - R - 6, class: "cut" }, g).textContent = "✂";
        else if (c.xi && row === "h" && c.xi[t + 1] > 1) {        // randomized truncation: the kept edge's ξ = 1/π
          el("text", { x: (X(t) + X(t + 1)) / 2, y: Y[row] - R - 6, class: "xi" }, g).textContent =
            "×" + Number(c.xi[t + 1].toPrecision(3));
        }
        return e;
      };
      ts.slice(0, -1).forEach((t, k) => edge("h", t, le[k], c.through[t]));
      if (lstm) ts.slice(0, -1).forEach((t, k) => edge("c", t, lc[k], c.c[t]));
      // nodes
      for (const t of ts) {
        const f = forward(t), b = backward(t);
        ioNodes(g, X(t), Y, R, f, D.target[t]);
        if (lstm) el("circle", { cx: X(t), cy: Y.c, r: R * 0.8, class: f ? "node plain" : "node plain idle" }, g);
        const u = (ld[t - S.view] - lo) / (hi - lo);
        const h = el("circle", {
          cx: X(t), cy: Y.h, r: R, class: "node h" + (t === S.step ? " cursor" : ""),
          fill: b || S.phase >= 2 * W ? ramp(VIRIDIS, u) : (f ? "#f4f4f4" : "#ffffff"),
          "data-t": t, "data-delta": fin(c.delta[t]) ? c.delta[t] : String(c.delta[t]),
          "data-value": String(nodeValue(t)),
        }, g);
        h.style.cursor = "pointer";
        h.onclick = () => { S.step = t; draw(); setStateValue("step", { value: t, at: Date.now() }); };
        if (c.overflow >= 0 && t >= c.overflow) h.setAttribute("class", "node h overflow");
      }
      // step labels
      const every = Math.max(1, Math.ceil(W / 15));
      for (const t of ts) if ((t - S.view) % every === 0 || t === S.step) {
        el("text", { x: X(t), y: Hpx - 8, class: "tick" + (t === S.step ? " cursor" : "") }, g).textContent = t;
      }
      legend(lo, hi, elo, ehi, S.unit === null ? "h_t: ‖δ_t‖" : `h_t: |δ_t,${S.unit}|`,
             ["edge: gradient", "carried back (log)"], big ? 21 : 17);
      // the equation of the step being computed (stepping through), else of the clicked step, with its numbers
      eq.innerHTML = "";
      const line = document.createElement("div");
      line.className = "eqline";
      const note = document.createElement("div");
      note.className = "eqnote";
      const active = S.phase < W ? S.view + S.phase - 1 : (S.phase < 2 * W ? S.view + W - (S.phase - W) : null);
      if (S.phase < W && active >= S.view) {          // forward: h_t from x_t and h_{t−1}
        line.textContent = `forward step ${active}:  h${sub(active)} = φ(W_xh x${sub(active)} + W_hh h${sub(active - 1)}` +
          ` + b_h),  ‖h${sub(active)}‖ = ${fmt(c.h[active])};  y${sub(active)} = W_hy h${sub(active)} + b_y,  ` +
          `ℓ${sub(active)} = ${fmt(c.loss[active])}`;
        note.textContent = "The forward pass stores every h_t: the backward pass needs them all (memory ∝ T).";
      } else {
        const cursor = S.step >= S.view && S.step < S.view + W ? S.step : S.view + W - 1;   // (shown window's)
        const t = active === null || active < S.view ? cursor : active, nx = t + 1 < T ? t + 1 : "T";
        const share = c.direct[t] + c.through[t] > 0 ? c.through[t] / (c.direct[t] + c.through[t]) : 0;
        line.textContent = `${active === null ? "step" : "backward step"} ${t}:  ‖δ${sub(t)}‖ = ${fmt(c.delta[t])}` +
          `  ≤  ‖W_hyᵀ ∂ℓ${sub(t)}/∂y${sub(t)}‖ = ${fmt(c.direct[t])}  +  ‖J${sub(nx)}ᵀ δ${sub(nx)}‖ = ` +
          `${fmt(c.through[t])};   ‖term${sub(t)} of ∂L/∂W_hh‖ = ${fmt(c.term[t])}` +
          (S.unit === null ? "" : `;   |δ${sub(t)},${S.unit}| = ${fmt(unitOf(t))}`);
        line.dataset.delta = c.delta[t];
        note.textContent = `${Math.round(100 * share)}% of the gradient at step ${t} arrives from the future ` +
          `through J${sub(nx)}ᵀ; the rest is its own loss ℓ${sub(t)} = ${fmt(c.loss[t])}` +
          (D.target[t] ? "" : " (no target at this step, so 0)") + ". Its term (∂L/∂a" + sub(t) + ") h" +
          sub(t - 1) + "ᵀ is what step " + t + " adds to ∂L/∂W_hh." + (active === null ? "  Click an h_t (or press [ and ]) " +
          "to read another step." : "");
        if (active !== null && t + 1 < S.view + W) {   // the edge the gradient just travelled
          el("line", { x1: X(t) + R + 1, y1: Y.h, x2: X(t + 1) - R - 3, y2: Y.h, class: "active-edge" }, g);
        }
      }
      eq.append(line, note);
      phaseText.textContent = phaseLine(fwdDone, bwdDone);
      if (ov) ov.draw(c);
      tell("graph", graphSummary(c, fwdDone, bwdDone));
      exposed.graph = { start: S.view, window: W, phase: S.phase, step: S.step,
                        delta: ts.map((t) => c.delta[t]), through: ts.slice(0, -1).map((t) => c.through[t]) };
    }

    // the arrowheads: grey for the forward structure, one per shade of the gradient-carrying edges
    function arrowMarkers(defs) {
      const marker = (id, color) => {
        const m = el("marker", { id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
                                 markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" }, defs);
        el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: color }, m);
      };
      marker("arrow-fwd", "#9a9a9a");
      for (let k = 0; k < BLUES.length; k++) marker(`arrow-b${k}`, BLUES[k]);
    }

    // legends right of the graph: the node colour bar (log10 lo…hi) under `title`, then the edge width and shade
    // (log10 elo…ehi) under the lines of `words`, `gap` px apart
    function legend(lo, hi, elo, ehi, title, words, gap = 15) {
      const lg = el("g", { transform: `translate(${Wpx - right + 22}, ${top})` }, svg);
      el("text", { x: 0, y: 0, class: "legend" }, lg).textContent = title;
      const Lh = rowH * rows.length - 75 - (words.length - 2) * gap - 5 * (gap - 15);
      for (let k = 0; k < 40; k++) el("rect", { x: 0, y: 20 + Lh * (1 - (k + 1) / 40), width: 14, height: Lh / 40 + 0.5,
                                                 fill: ramp(VIRIDIS, k / 39) }, lg);
      for (const [d, txt] of logTicks(lo, hi, 4)) {
        el("text", { x: 18, y: 25 + Lh * (1 - (d - lo) / (hi - lo)), class: "legend" }, lg).textContent = txt;
      }
      // (below the colour bar's lowest tick, which sits at Lh + 25)
      words.forEach((w, k) => { el("text", { x: 0, y: Lh + 42 + k * gap, class: "legend" }, lg).textContent = w; });
      // (the second value 17 px lower: a value's superscripts reach above its line)
      const y0 = Lh + 42 + (words.length - 1) * gap + 11 + (gap - 15), y1 = y0 + 17 + (gap - 15);
      el("line", { x1: 0, y1: y0, x2: 50, y2: y0, stroke: BLUES[5], "stroke-width": 9 }, lg);
      el("text", { x: 56, y: y0 + 4, class: "legend" }, lg).textContent = fmt(Math.pow(10, ehi));
      el("line", { x1: 0, y1, x2: 50, y2: y1, stroke: BLUES[0], "stroke-width": 2 }, lg);
      el("text", { x: 56, y: y1 + 4, class: "legend" }, lg).textContent = fmt(Math.pow(10, elo));
    }

    // "forward pass: 3 of 30 steps (…)": the step-through's place, beside its buttons
    function phaseLine(fwdDone, bwdDone) {
      const fw = `forward pass: ${fwdDone} of ${W} steps`, bw = `backward pass: ${bwdDone} of ${W} steps back`;
      return S.phase < W ? `${fw} (${G ? "every layer's h_t^(l)" : "h_t"}, y_t, ℓ_t filled left to right)` :
        (S.phase < 2 * W ? `${bw} (δ carried right to left along the edges)` : "both passes done");
    }

    // ---- a stack: the layers × time grid ---------------------------------------------------------------------
    // Row l holds h_t^(l) coloured by ‖δ_t^(l)‖; the time edge h_t^(l) → h_{t+1}^(l) carries time[l][t] =
    // ‖J_{t+1}^(l)ᵀ δ_{t+1}^(l)‖ back to step t, the depth edge h_t^(l) → h_t^(l+1) carries depth[l][t] =
    // ‖W_xh^(l+1)ᵀ dA_t^(l+1)‖ down to layer l (explorer.sweeps.layer_grid): widths and shades on one log scale
    // over both kinds, as the static grid's. A backward step t fills the whole column t, every layer at once.
    const gridAt = (i) => ({ node: G.node[i].map(nums), time: G.time[i].map(nums), depth: G.depth[i].map(nums) });
    S.layer = NL - 1;                                  // the node whose equation is written out: (S.layer, S.step)
    const hy = (l) => Y["h" + l];
    const above = (l) => (l === NL - 1 ? "W_hyᵀ ∂ℓ_t/∂y_t (the readout)"
      : `W_xh^(${l + 1})ᵀ dA_t^(${l + 1}) (layer ${l + 1})`);
    const supl = (l) => `⁽${SUP(l)}⁾`;

    function drawGrid(c, ts, fwdDone, bwdDone, forward, backward) {
      const gr = gridAt(S.index), L = NL, inner = ts.slice(0, -1);
      const done = S.phase >= 2 * W;
      const ld = [].concat(...gr.node.map((row) => ts.map((t) => log10(row[t]))));
      const [lo, hi] = extent(ld);
      const le = [].concat(...gr.time.map((row) => inner.map((t) => log10(row[t]))),
                           ...gr.depth.map((row) => ts.map((t) => log10(row[t]))));
      const [elo, ehi] = extent(le);                   // one log range for the time and the depth edges
      svg.innerHTML = "";
      const g = el("g", {}, svg);
      for (const r of rows) el("text", { x: 8, y: Y[r] + 5, class: "rowname" }, g).textContent = rowName[r];
      // forward structure that carries no per-layer gradient here: x_t → h_t^(0), h_t^(L−1) → y_t → ℓ_t
      for (const t of ts) {
        const on = forward(t) ? "fwd on" : "fwd";
        for (const [a, b] of [["x", "h0"], ["h" + (L - 1), "y"], ["y", "L"]]) {
          el("line", { x1: X(t), y1: Y[a] - R - 2, x2: X(t), y2: Y[b] + R + 2, class: on,
                       "marker-end": "url(#arrow-fwd)" }, g);
        }
      }
      const defs = el("defs", {}, svg);
      arrowMarkers(defs);
      // an edge of the grid: width and shade from its log value on the shared range; drawn faint until the
      // backward pass has crossed it (or both passes are done)
      const edge = (x1, y1, x2, y2, lv, raw, used, cls, l, t) => {
        const u = (lv - elo) / (ehi - elo || 1);
        const bin = fin(lv) ? Math.min(BLUES.length - 1, Math.floor(Math.max(0, u) * BLUES.length)) : 0;
        return el("line", {
          x1, y1, x2, y2, stroke: fin(lv) ? ramp(BLUES, u) : "#dddddd",
          "stroke-width": fin(lv) ? 2 + 7 * Math.max(0, u) : 1.5, opacity: used || done ? 1 : 0.25,
          "marker-end": `url(#arrow-b${bin})`, class: cls, "data-layer": l, "data-t": t, "data-value": String(raw),
        }, g);
      };
      for (let l = 0; l < L; l++) {                    // time edges, and the truncation's cuts in every layer
        inner.forEach((t) => {
          const v = gr.time[l][t], cut = c.cuts.includes(t + 0.5);
          if (!cut) {
            edge(X(t) + R + 1, hy(l), X(t + 1) - R - 3, hy(l), log10(v), v, backward(t + 1), "edge h", l, t);
            if (c.xi && l === L - 1 && c.xi[t + 1] > 1) {      // randomized truncation: ξ = 1/π, on every layer alike
              el("text", { x: (X(t) + X(t + 1)) / 2, y: hy(l) - R - 6, class: "xi" }, g).textContent =
                "×" + Number(c.xi[t + 1].toPrecision(3));
            }
            return;
          }
          el("line", { x1: X(t) + R + 1, y1: hy(l), x2: X(t + 1) - R - 3, y2: hy(l), stroke: "#d62728",
                       "stroke-width": 2, "stroke-dasharray": "5 4", opacity: backward(t + 1) || done ? 1 : 0.25,
                       class: "edge h", "data-layer": l, "data-t": t, "data-value": String(v) }, g);
          el("text", { x: (X(t) + X(t + 1)) / 2, y: hy(l) - R - 6, class: "cut" }, g).textContent = "✂";
        });
      }
      for (let l = 0; l + 1 < L; l++) {                // depth edges h_t^(l) → h_t^(l+1), between the rows
        for (const t of ts) {
          const v = gr.depth[l][t];
          edge(X(t), hy(l) - R - 1, X(t), hy(l + 1) + R + 3, log10(v), v, backward(t), "edge depth", l, t);
        }
      }
      // nodes
      for (const t of ts) {
        const f = forward(t), b = backward(t);
        ioNodes(g, X(t), Y, R, f, D.target[t]);
        for (let l = 0; l < L; l++) {
          const v = gr.node[l][t], u = (log10(v) - lo) / (hi - lo);
          const h = el("circle", {
            cx: X(t), cy: hy(l), r: R,
            class: "node h" + (t === S.step && l === S.layer ? " cursor" : "") +
              (c.overflow >= 0 && t >= c.overflow ? " overflow" : ""),
            fill: b || done ? ramp(VIRIDIS, u) : (f ? "#f4f4f4" : "#ffffff"),
            "data-t": t, "data-layer": l, "data-delta": fin(v) ? v : String(v), "data-value": String(v),
          }, g);
          h.style.cursor = "pointer";
          h.onclick = () => { S.step = t; S.layer = l; draw(); setStateValue("step", { value: t, at: Date.now() }); };
        }
      }
      const every = Math.max(1, Math.ceil(W / 15));
      for (const t of ts) if ((t - S.view) % every === 0 || t === S.step) {
        el("text", { x: X(t), y: Hpx - 8, class: "tick" + (t === S.step ? " cursor" : "") }, g).textContent = t;
      }
      legend(lo, hi, elo, ehi, "node: ‖δ_t^(l)‖", ["edges, time and", "depth: gradient", "carried back (log)"],
             big ? 21 : 17);
      gridEquation(c, gr, g);
      phaseText.textContent = phaseLine(fwdDone, bwdDone);
      if (ov) ov.draw(c);
      tell("graph", gridSummary(c, gr, fwdDone, bwdDone));
      exposed.graph = {
        start: S.view, window: W, phase: S.phase, step: S.step, layer: S.layer, layers: L,
        delta: ts.map((t) => c.delta[t]), through: inner.map((t) => c.through[t]),
        grid: { node: gr.node.map((row) => ts.map((t) => row[t])), time: gr.time.map((row) => inner.map((t) => row[t])),
                depth: gr.depth.map((row) => ts.map((t) => row[t])) },
      };
    }

    // the written-out node (S.layer, S.step), or the column the step-through is computing, with its numbers
    function gridEquation(c, gr, g) {
      eq.innerHTML = "";
      const line = document.createElement("div");
      line.className = "eqline";
      const note = document.createElement("div");
      note.className = "eqnote";
      const active = S.phase < W ? S.view + S.phase - 1 : (S.phase < 2 * W ? S.view + W - (S.phase - W) : null);
      const top = NL - 1;
      if (S.phase < W && active >= S.view) {           // forward: the column t, bottom to top
        const t = active;
        const h = (k, l) => `h${sub(k)}${supl(l)}`;
        line.textContent = `forward step ${t}:  ${h(t, 0)} = φ(W_xh${supl(0)} x${sub(t)} + W_hh${supl(0)} ` +
          `${h(t - 1, 0)} + b${supl(0)}),  …,  ${h(t, top)} = φ(W_xh${supl(top)} ${h(t, top - 1)} + ` +
          `W_hh${supl(top)} ${h(t - 1, top)} + b${supl(top)}),  ‖${h(t, top)}‖ = ${fmt(c.h[t])};  ` +
          `ℓ${sub(t)} = ${fmt(c.loss[t])}`;
        note.textContent = `Each layer reads the layer below at the same step and its own state one step back; ` +
          `the forward pass stores every h_t^(l): the backward pass needs them all (memory ∝ L·T).`;
      } else {
        const cursor = S.step >= S.view && S.step < S.view + W ? S.step : S.view + W - 1;
        const t = active === null || active < S.view ? cursor : active, l = S.layer, nx = t + 1 < T ? t + 1 : "T";
        const from = l === top ? c.direct[t] : gr.depth[l][t], through = t + 1 < T ? gr.time[l][t] : 0;
        const share = from + through > 0 ? through / (from + through) : 0;
        line.textContent = `${active === null ? "step" : "backward step"} ${t}, layer ${l}:  ` +
          `‖δ${sub(t)}${supl(l)}‖ = ${fmt(gr.node[l][t])}  ≤  ‖from above‖ = ${fmt(from)}  +  ` +
          `‖J${sub(nx)}${supl(l)}ᵀ δ${sub(nx)}${supl(l)}‖ = ${fmt(through)}`;
        line.dataset.delta = gr.node[l][t];
        note.textContent = `${Math.round(100 * share)}% of the gradient at h_${t}^(${l}) arrives through time; the ` +
          `rest comes from above, ${above(l)}` +
          (l === top && !D.target[t] ? ", 0 here (no target at this step)" : "") + "." +
          (active === null ? "  Click a node (or press [ and ] for the step, ↑ and ↓ for the layer) to read " +
           "another." : "");
        if (active !== null) {                          // the two edges whose gradients δ_t^(l) just summed
          if (t + 1 < S.view + W) {
            el("line", { x1: X(t) + R + 1, y1: hy(l), x2: X(t + 1) - R - 3, y2: hy(l), class: "active-edge" }, g);
          }
          if (l < top) {
            el("line", { x1: X(t), y1: hy(l) - R - 1, x2: X(t), y2: hy(l + 1) + R + 3, class: "active-edge" }, g);
          }
        }
      }
      eq.append(line, note);
    }

    // the grid in words: the passes' progress, then one sentence per layer (top first) with ‖δ‖ at the newest
    // backward step and at the window's last step, then the cuts
    function gridSummary(c, gr, fwdDone, bwdDone) {
      const a = S.view, b = S.view + W - 1, L = NL, all = L === 2 ? "both" : `all ${L}`;
      let text;
      if (S.phase === 0) {
        text = `At ${at()}, steps ${a}–${b} of ${L} layers before either pass: nothing computed yet.`;
      }
      else if (S.phase < W) {
        text = `Forward pass at ${at()}: h_t^(l) of ${all} layers, y_t and ℓ_t computed for ` +
          `${span(a, a + fwdDone - 1)} (${fwdDone} of ${W}).`;
      } else if (bwdDone === 0) {
        text = `At ${at()}, forward pass done for steps ${a}–${b} in ${all} layers; the backward pass has not ` +
          "started.";
      } else {
        const t = b - bwdDone + 1;
        text = (bwdDone < W ? `Backward pass at ${at()}: δ_t^(l) known for steps ${b} down to ${t} in every layer ` +
          `(${bwdDone} of ${W}).` : `Both passes done at ${at()}: δ_t^(l) known for steps ${b} down to ${t} in ` +
          `${all} layers.`);
        for (let l = L - 1; l >= 0; l--) {
          const role = l === L - 1 ? " (top, feeds y_t)" : (l === 0 ? " (bottom, reads x_t)" : "");
          text += ` Layer ${l}${role}: ‖δ_${t}‖ = ${say(gr.node[l][t])}` +
            (t < b ? `, ‖δ_${b}‖ = ${say(gr.node[l][b])}.` : ".");
        }
      }
      return text + overflowAndCuts(c, a, b, ", in every layer.");
    }

    // the sentences both summaries end with: where the forward pass overflowed, where the truncation cuts
    function overflowAndCuts(c, a, b, cutsEnd) {
      let text = "";
      if (c.overflow >= 0) {
        text += ` The forward pass overflowed at step ${c.overflow} at this value` +
          (S.view !== S.start || b >= c.overflow ? `; the view shows the steps before it.` : ".");
      }
      if (scheme) {
        const cs = c.cuts.filter((x) => x > a && x < b).map((x) => `${x - 0.5} and ${x + 0.5}`);
        text += cs.length === 0 ? ` No truncation cut among steps ${a}–${b}.` :
          ` Truncation cuts the path back between steps ${cs.slice(0, 5).join(", ")}` +
          (cs.length > 5 ? ` and ${cs.length - 5} more places` : "") + cutsEnd;
      }
      return text;
    }

    // the playback in words: which steps each pass has computed, the gradient at the newest backward step, cuts
    function graphSummary(c, fwdDone, bwdDone) {
      const a = S.view, b = S.view + W - 1;
      let text;
      if (S.phase === 0) text = `At ${at()}, steps ${a}–${b} before either pass: nothing computed yet.`;
      else if (S.phase < W) {
        text = `Forward pass at ${at()}: h_t, y_t and ℓ_t computed for ${span(a, a + fwdDone - 1)} (${fwdDone} of ${W}).`;
      } else if (bwdDone === 0) {
        text = `At ${at()}, forward pass done for steps ${a}–${b}; the backward pass has not started.`;
      } else {
        const t = b - bwdDone + 1;
        text = (bwdDone < W ? `Backward pass at ${at()}: δ_t known for steps ${b} down to ${t} (${bwdDone} of ${W})`
          : `Both passes done at ${at()}: δ_t known for steps ${b} down to ${t}`) +
          `; ‖δ_${t}‖ = ${say(c.delta[t])} at the newest step` +
          (t < b ? `, ‖δ_${b}‖ = ${say(c.delta[b])} at the last.` : ".");
      }
      text += overflowAndCuts(c, a, b, ".");
      if (S.unit !== null) text += ` Nodes coloured by unit ${S.unit}'s |δ_t,${S.unit}|.`;
      return text;
    }

    // overview strip for long sequences: ‖δ_t‖ over all T, with the window drawn on it and draggable
    function overview(parent) {
      const H0 = 56, w0 = Wpx - left - right;
      const s2 = el("svg", { viewBox: `0 0 ${Wpx} ${H0}`, width: "100%", class: "overview", role: "slider",
                             tabindex: 0, "aria-label": "window of steps shown", "aria-valuemin": 0,
                             "aria-valuemax": T - W, "data-k": "window" }, parent);
      let dragging = false, sendTimer = null;
      s2.addEventListener("keydown", (ev) => {        // ← → one step, PageUp/PageDown one window, Home/End
        const to = { ArrowLeft: S.start - 1, ArrowDown: S.start - 1, ArrowRight: S.start + 1, ArrowUp: S.start + 1,
                     PageDown: S.start - W, PageUp: S.start + W, Home: 0, End: T - W }[ev.key];
        if (to === undefined) return;
        ev.preventDefault(); ev.stopPropagation();
        S.start = Math.max(0, Math.min(T - W, to));
        if (S.step < S.start || S.step >= S.start + W) S.step = S.start + W - 1;
        draw();
        clearTimeout(sendTimer);                       // the page follows once the keys rest
        sendTimer = setTimeout(() => setStateValue("end", { value: S.start + W, at: Date.now() }), 500);
      });
      const toT = (ev) => {
        const rect = s2.getBoundingClientRect();
        const x = ((ev.clientX - rect.left) / rect.width) * Wpx;
        return Math.round(((x - left) / w0) * T - W / 2);
      };
      const move = (ev) => {
        S.start = Math.max(0, Math.min(T - W, toT(ev)));
        if (S.step < S.start || S.step >= S.start + W) S.step = S.start + W - 1;
        draw();
      };
      s2.addEventListener("pointerdown", (ev) => { dragging = true; s2.setPointerCapture(ev.pointerId); move(ev); });
      s2.addEventListener("pointermove", (ev) => { if (dragging) move(ev); });
      s2.addEventListener("pointerup", () => {
        dragging = false;
        setStateValue("end", { value: S.start + W, at: Date.now() });
      });
      return {
        draw(c) {
          s2.setAttribute("aria-valuenow", S.view);
          s2.setAttribute("aria-valuetext", `steps ${S.view} to ${S.view + W - 1} of ${T}`);
          s2.innerHTML = "";
          const l = c.delta.map(log10);
          const [lo, hi] = extent(l);
          let d = "";
          l.forEach((v, t) => {
            if (!fin(v)) return;
            const x = left + (t / Math.max(1, T - 1)) * w0, y = H0 - 6 - ((v - lo) / (hi - lo)) * (H0 - 16);
            d += (d ? " L " : "M ") + x.toFixed(1) + " " + y.toFixed(1);
          });
          el("path", { d, class: "spark" }, s2);
          el("rect", { x: left + (S.view / T) * w0, y: 2, width: Math.max(3, (W / T) * w0), height: H0 - 6,
                       class: "window" }, s2);
          el("text", { x: 8, y: H0 / 2 + 4, class: "rowname" }, s2).textContent = "‖δ_t‖";
          el("text", { x: Wpx - right + 22, y: H0 / 2 + 4, class: "legend" }, s2).textContent =
            `${S.view}…${S.view + W - 1} of ${T}`;
        },
      };
    }
    root.tabIndex = 0;                                 // with focus on the view: ← → step, space plays, Home/End
    root.setAttribute("aria-label", "live view: with focus here, ← and → step through the passes, space plays " +
                      "or pauses, Home and End jump to either end, [ and ] choose the step written out" +
                      (G ? `, ↑ and ↓ its layer (0 to ${NL - 1})` : ""));
    root.setAttribute("aria-keyshortcuts", "ArrowLeft ArrowRight Space Home End [ ]" + (G ? " ArrowUp ArrowDown" : ""));
    root.setAttribute("role", "group");
    let stepTimer = null;
    root.addEventListener("keydown", (ev) => {
      const tag = ev.target.tagName;                   // the knob, the select, a button's space/enter: their own
      if (ev.target === range || tag === "SELECT" || (tag === "BUTTON" && (ev.key === " " || ev.key === "Enter"))) {
        return;
      }
      if (ev.key === "ArrowRight") { stop(); S.phase = Math.min(2 * W, S.phase + 1); draw(); ev.preventDefault(); }
      else if (ev.key === "ArrowLeft") { stop(); S.phase = Math.max(0, S.phase - 1); draw(); ev.preventDefault(); }
      else if (ev.key === " ") { toggle(); ev.preventDefault(); }
      else if (ev.key === "Home") { stop(); S.phase = 0; draw(); ev.preventDefault(); }
      else if (ev.key === "End") { stop(); S.phase = 2 * W; draw(); ev.preventDefault(); }
      else if (G && (ev.key === "ArrowUp" || ev.key === "ArrowDown")) {   // the grid: the written-out node's layer
        S.layer = Math.max(0, Math.min(NL - 1, S.layer + (ev.key === "ArrowUp" ? 1 : -1)));
        draw(); ev.preventDefault();
      }
      else if (ev.key === "[" || ev.key === "]") {     // the step whose equation is written out (as a click on h_t)
        S.step = Math.max(S.view, Math.min(S.view + W - 1, S.step + (ev.key === "]" ? 1 : -1)));
        draw(); ev.preventDefault();
        clearTimeout(stepTimer);                       // the page follows once the keys rest
        stepTimer = setTimeout(() => setStateValue("step", { value: S.step, at: Date.now() }), 400);
      }
    });
    return draw;
  }

  // ---- a log-scale line chart (shared by the ‖δ_t‖ and lag views) ------------------------------------------
  function lineView(cls, title, xlabel, ylabel, series, sentence) {
    const box = div("view " + cls, root);
    div("title", box, title);
    const Wpx = 1100, Hpx = big ? 420 : 360, l = 90, r = 230, t0 = 16, b0 = 56;
    const svg = el("svg", { viewBox: `0 0 ${Wpx} ${Hpx}`, width: "100%", role: "img" }, box);
    summary(cls, box, svg);
    return function draw() {
      const c = current();
      const lines = series(c);                      // [{name, x: [...], y: [...] (log10), color, dash}]
      const all = [].concat(...lines.map((s) => s.y));
      let [lo, hi] = extent(all);
      const main = lines[0].y.filter(fin);
      if (main.length) {                            // keep the measured line readable: bound lines may run far off
        const [mlo, mhi] = extent(main);
        lo = Math.max(lo, mlo - 3); hi = Math.min(hi, mhi + 3);
      }
      const xs = lines[0].x;
      const xmax = Math.max(1, xs[xs.length - 1]);
      const px = (x) => l + (x / xmax) * (Wpx - l - r), py = (y) => t0 + (1 - (y - lo) / (hi - lo)) * (Hpx - t0 - b0);
      svg.innerHTML = "";
      for (const [d, txt] of logTicks(lo, hi, 5)) {
        el("line", { x1: l, x2: Wpx - r, y1: py(d), y2: py(d), class: "grid" }, svg);
        el("text", { x: l - 8, y: py(d) + 5, class: "tick", "text-anchor": "end" }, svg).textContent = txt;
      }
      const xstep = niceStep(xmax / 5);
      for (let x = 0; x <= xmax + 1e-9; x += xstep) {
        el("text", { x: px(x), y: Hpx - b0 + 22, class: "tick" }, svg).textContent = x;
      }
      el("text", { x: (l + Wpx - r) / 2, y: Hpx - 8, class: "axis" }, svg).textContent = xlabel;
      const yl = el("text", { x: 18, y: (Hpx - b0) / 2, class: "axis",
                              transform: `rotate(-90 18 ${(Hpx - b0) / 2})` }, svg);
      yl.textContent = ylabel;
      lines.forEach((s, k) => {
        let d = "", pen = false;
        s.x.forEach((x, i) => {
          const y = s.y[i];
          if (!fin(y) || y < lo - 1e-9 || y > hi + 1e-9) { pen = false; return; }
          d += (pen ? " L " : " M ") + px(x).toFixed(1) + " " + py(y).toFixed(1);
          pen = true;
        });
        el("path", { d, class: "series", stroke: s.color, "stroke-dasharray": s.dash || "",
                     "stroke-width": k === 0 ? 4 : 3, "data-name": s.name }, svg);
        el("line", { x1: Wpx - r + 16, x2: Wpx - r + 46, y1: t0 + 12 + 24 * k, y2: t0 + 12 + 24 * k, stroke: s.color,
                     "stroke-width": 4, "stroke-dasharray": s.dash || "" }, svg);
        el("text", { x: Wpx - r + 52, y: t0 + 17 + 24 * k, class: "legend" }, svg).textContent = s.name;
      });
      exposed[cls] = { y: lines[0].y.slice(), lo, hi };
      tell(cls, sentence(c));
    };
  }

  // ‖δ_t‖ in one sentence: its fitted rate going back (least squares of log10 ‖δ_t‖ on t over the steps where it
  // is positive), its value at t = 0 and its largest, where it is 0 or overflowed
  function deltaSentence(c) {
    const d = c.delta, o = c.overflow, end = o >= 0 ? o : T;            // steps with a value: 0 … end − 1
    let text = `At ${at()}`;
    if (o >= 0) {
      text += `, the forward pass overflowed at step ${o}`;
      if (end === 0) return text + ", so no step has a gradient.";
      text += `, so ‖δ_t‖ exists for ${span(0, end - 1)} only;`;
    } else text += ",";
    const ts = [...Array(end).keys()], pos = ts.filter((t) => fin(d[t]) && d[t] > 0), it = o >= 0 ? "it" : "‖δ_t‖";
    if (!pos.length) return text + ` ${it} is 0 at every step` + (o >= 0 ? " (no target before the overflow)." : ".");
    const m = slope(pos, pos.map((t) => Math.log10(d[t]))), width = pos[pos.length - 1] - pos[0];
    if (!fin(m)) text += ` ${it} is non-zero at step ${pos[0]} only`;
    else if (Math.abs(m) * width < 0.5) {
      text += ` ${it} stays roughly level going back (its fitted trend changes by under 3× over ` +
        `${span(pos[0], pos[pos.length - 1])})`;
    } else {
      const N = 1 / Math.abs(m);
      text += ` ${it} ${m > 0 ? "falls" : "grows"} by a factor of 10 every ` +
        `${N >= 10 ? Math.round(N) : Number(N.toPrecision(2))} steps back`;
    }
    const top = ts.filter((t) => fin(d[t])).reduce((a, t) => (d[t] > d[a] ? t : a), pos[0]);
    const zeros = ts.filter((t) => d[t] === 0).length;
    let bo = -1;                                                      // the backward pass's overflow (going back)
    for (let t = end - 1; t >= 0; t--) if (!fin(d[t])) { bo = t; break; }
    text += `; at t = 0 it is ${say(d[0])} (largest ${say(d[top])} at t = ${top}` +
      (zeros ? `; exactly 0 at ${zeros} of ${end} steps` : "") + ")";
    if (bo >= 0) text += `; going back, it passed float64's range at step ${bo} (the steps after it are valid)`;
    if (c.reference) text += `; full BPTT gives ${say(c.reference[0])} at t = 0`;
    return text + ".";
  }

  const sayLog = (y) => (fin(y) && Math.abs(y) >= 300 ? `about 1e${y > 0 ? "+" : ""}${Math.round(y)}`
    : (y === -Infinity ? "0" : say(Math.pow(10, y))));
  // the lag profile in one sentence: the first drawn lag below 10⁻³ (or none), its last value, the bound
  function lagSentence(c) {
    const L = D.lags, pts = L.map((l, k) => [l, c.lag[k], k]).filter(([, y]) => !Number.isNaN(y));   // −inf: 0
    const flow = c.overflow >= 0 ? ` The forward pass overflowed at step ${c.overflow} at this value.` : "";
    let text = `At ${at()}, ‖∂h_t/∂h_(t−ℓ)‖`;
    if (!pts.length) return text + " is undefined at every drawn lag." + flow;
    const below = pts.find(([, y]) => y < -3), [ll, ly] = pts[pts.length - 1];
    if (below) {
      const dense = below[2] === 0 || L[below[2]] - L[below[2] - 1] === 1;   // every lag drawn up to it
      text += ` first falls below 1e-3 ${dense ? "at" : "by"} lag ${below[0]}`;
    } else text += ` never falls below 1e-3 up to lag ${ll}`;
    text += `; at lag ${ll} it is ${sayLog(ly)}`;
    const b = c.sigma1 * D.gamma, lb = (l) => l * Math.log10(b);
    const over = pts.find(([l, y]) => fin(y) && y > lb(l) + 1e-5 * Math.max(1, Math.abs(lb(l))));
    text += over ? `, and it rises above the dashed bound (σ₁γ)^ℓ = ${fmt(b)}^ℓ first at lag ${over[0]}.`
      : `, and it stays under the dashed bound (σ₁γ)^ℓ = ${fmt(b)}^ℓ at every drawn lag.`;
    return text + flow;
  }

  function eigenView() {
    const box = div("view eigen", root);
    div("title", box, "Eigenvalues of W_hh (complex plane) and the unit circle");
    const P = big ? 460 : 400;
    const svg = el("svg", { viewBox: `0 0 ${P} ${P}`, width: Math.round(P * 0.9), role: "img" }, box);
    summary("eigen", box, svg);
    return function draw() {
      const c = current();
      const m = Math.max(1.2, c.rho * 1.15), s = (P / 2 - 24) / m, o = P / 2;
      svg.innerHTML = "";
      el("line", { x1: 10, x2: P - 10, y1: o, y2: o, class: "grid" }, svg);
      el("line", { y1: 10, y2: P - 10, x1: o, x2: o, class: "grid" }, svg);
      el("circle", { cx: o, cy: o, r: s, class: "unit" }, svg);
      el("circle", { cx: o, cy: o, r: s * c.rho, class: "rho" }, svg);
      c.eig_re.forEach((re, k) => el("circle", { cx: o + s * re, cy: o - s * c.eig_im[k], r: 4, class: "eig" }, svg));
      el("text", { x: 12, y: 22, class: "legend" }, svg).textContent =
        `ρ = ${fmt(c.rho)}, σ₁ = ${fmt(c.sigma1)}  (dashed: |λ| = ρ; solid: |λ| = 1)`;
      exposed.eigen = { rho: c.rho, n: c.eig_re.length };
      // |λ| within 1e-6 of 1 is on the circle (the JSON keeps 7 digits: an orthogonal W_hh at ρ = 1 is all there)
      const mods = c.eig_re.map((re, k) => Math.hypot(re, c.eig_im[k])).filter(fin);
      const out = mods.filter((v) => v > 1 + 1e-6).length, on = mods.filter((v) => Math.abs(v - 1) <= 1e-6).length;
      const many = out === 0 ? "none of the" : (out === mods.length ? "all" : `${out} of the`);
      tell("eigen", `ρ = ${fmt(c.rho)} and σ₁ = ${fmt(c.sigma1)}: ${many} ${mods.length} ` +
        `eigenvalues of W_hh ${out === 1 ? "lies" : "lie"} outside the unit circle` + (on ? `, ${on} on it` : "") +
        "." + (c.overflow >= 0 ? ` The forward pass overflows at step ${c.overflow} at this value.` : ""));
    };
  }

  // a stack's ‖δ_t‖ chart: the top layer's line first (the sentence's), then the layers below it, each its own
  // colour and dash; the sentence adds what they hold at t = 0
  const NLD = D.grid ? D.grid.node[0].length : 1;
  const LAYER_LOOK = [["#d55e00", "9 4"], ["#cc79a7", "3 3"], ["#e69f00", "12 3 3 3"]];
  const lowerLayers = (c) => (c.layers ? c.layers.slice(0, -1).reverse().map((row, k) => ({
    name: `‖δ_t^(${NLD - 2 - k})‖`, x: [...Array(T).keys()], y: row.map(log10), color: LAYER_LOOK[k][0],
    dash: LAYER_LOOK[k][1] })) : []);
  const layersSentence = (c) => (c.layers ? ` That is the top layer, h_t^(${NLD - 1}); at t = 0 ` +
    c.layers.slice(0, -1).map((row, l) => `layer ${l}'s ‖δ‖ is ${say(row[0])}`).reverse().join(", ") + "." : "");
  const topName = (c) => (c.layers
    ? (c.reference ? `layer ${NLD - 1}, this scheme` : `‖δ_t^(${NLD - 1})‖, top layer`)
    : (c.reference ? "‖∂L/∂h_t‖, this scheme" : "‖∂L/∂h_t‖"));
  const draws = [];
  for (const v of D.views || ["graph"]) {
    if (v === "graph") draws.push(graphView());
    if (v === "delta") draws.push(lineView("delta", D.grid ? "‖δ_t^(l)‖ of every layer over time (live)" :
      "‖δ_t‖ over time (live)", "timestep t",
      "‖δ_t‖ (log scale)", (c) => [{ name: topName(c),
                                     x: [...Array(T).keys()], y: c.delta.map(log10), color: "#0072b2" }]
        .concat(lowerLayers(c))
        .concat(c.reference ? [{ name: c.layers ? "full BPTT (top)" : "full BPTT", x: [...Array(T).keys()],
                                 y: c.reference.map(log10), color: "#555555", dash: "6 4" }] : [])
        .concat(c.c ? [{ name: "‖∂L/∂c_t‖ (carried)", x: [...Array(T).keys()], y: c.c.map(log10),
                         color: "#009e73", dash: "6 4" }] : []), (c) => deltaSentence(c) + layersSentence(c)));
    if (v === "lags") draws.push(lineView("lags", "How much of the gradient survives a lag of ℓ steps (live)",
      "lag ℓ (steps back from the last step t)", "‖∂h_t / ∂h_(t−ℓ)‖₂ (log scale)", (c) => [
        { name: "‖∂h_t / ∂h_(t−ℓ)‖₂", x: D.lags, y: c.lag.map((v) => (fin(v) ? v : NaN)), color: "#0072b2" },
        { name: `bound (σ₁γ)^ℓ = ${fmt(c.sigma1 * D.gamma)}^ℓ`, x: D.lags,
          y: D.lags.map((l) => l * Math.log10(c.sigma1 * D.gamma)), color: "#d62728", dash: "8 5" },
        { name: `ρ^ℓ, ρ = ${fmt(c.rho)}`, x: D.lags, y: D.lags.map((l) => l * Math.log10(c.rho)), color: "#555555",
          dash: "2 4" }], lagSentence));
    if (v === "eigen") draws.push(eigenView());
  }
  const note = document.createElement("div");
  note.className = "overflow";
  root.insertBefore(note, bar.nextSibling);              // under the knob, where the eye is while dragging

  function redraw() {
    const c = current();
    name.textContent = `${D.label}: ${D.values[S.index].toFixed(D.digits)}`;
    range.setAttribute("aria-valuetext", at());          // the input's own value is the grid index
    note.textContent = c.overflow >= 0 ? `Overflow at step ${c.overflow} at this value: the forward pass passed ` +
      `float64's range there; the views show the steps before it.` : "";
    for (const d of draws) d();
    exposed.index = S.index; exposed.value = D.values[S.index]; exposed.redraws += 1;
    exposed.drawnAt = performance.now();
  }
  range.addEventListener("input", () => { S.index = Number(range.value); redraw(); });
  // a nonce, so releasing on a value the state already holds still syncs (the sidebar may have moved since)
  const send = () => setStateValue("value", { value: D.values[S.index], at: Date.now() });
  let keyed = false, sendTimer = null;                   // arrow keys "release" on every press: send once they rest
  range.addEventListener("keydown", () => { keyed = true; });
  range.addEventListener("pointerdown", () => { keyed = false; });
  range.addEventListener("change", () => {
    flush();                                             // the summaries of the released value, at once
    clearTimeout(sendTimer);
    if (keyed) sendTimer = setTimeout(send, 400); else send();
  });
  redraw();
  flush();
  if (focused) {                                         // the keyboard's place before the remount
    const back = focused === "root" ? root : root.querySelector(`[data-k="${focused}"]`);
    if (back) back.focus({ preventScroll: true });
  }
  return () => { if (views.stop) views.stop(); clearTimeout(flushTimer); };
}
