// embed.js — the embedding view: a layer's t-SNE, UMAP or PCA (whichever
// the study holds: DIR/embed/index.<method>.json) drawn by scatter.js in
// WebGL, coloured by class, prediction, confidence or a findings score;
// drag to pan, wheel to zoom, a box or a lasso to select (the selection is
// app.js's: every view marks the same inputs); a click lists the point's
// nearest inputs in the layer's own activation space (/api/neighbours).
// Loaded before app.js; it uses app.js's helpers only when called.
"use strict";

const embedView = {
  scatter: null,      // createScatter(canvas)
  n: 0,               // points drawn (rows of the layer)
  key: null,          // "layer\tmethod" of what is drawn
  arrays: new Map(),  // study file -> Promise of its .npy (labels, predictions, scores)
  mode: "pan",        // what a plain drag does: pan, box, lasso
  drawnAt: null,      // performance.now() of the first frame of the current embedding
  frame: 0,           // requestAnimationFrame handle of the pending frame
  picked: -1,         // the row whose neighbours are listed
  pending: null,      // {key, promise} of the embedding being loaded
  frame0: null,       // [x0, x1, y0, y1]: the framing Fit returns to
  moving: false,      // a drag or the wheel under way: frames draw a sample
  still: 0,           // the timer that draws every point once the motion stops
};

// The study's embedding indexes by method ({tsne: index, umap: ...}).
function embedIndexes() {
  const s = state.study;
  return s.embeds && Object.keys(s.embeds).length ? s.embeds : s.embed ? { tsne: s.embed } : {};
}

// The methods that embedded layer `name`, with each one's index entry.
function embedMethodsOf(name) {
  return Object.entries(embedIndexes()).map(([m, idx]) => [m, (idx.layers || []).find((e) => e.layer === name)])
    .filter(([, e]) => e && e.file);
}

const embedMethodNames = { tsne: "t-SNE", umap: "UMAP", pca: "PCA" };

// ---- colours --------------------------------------------------------------

// What the points can be coloured by: [value, label, file, kind].
function embedColourings() {
  const s = state.study, f = s.findings || {}, out = [];
  if (state.labels) out.push(["class", "class", null, "class"]);
  out.push(["prediction", "prediction", "inputs/predictions.npy", "class"]);
  if (state.labels) out.push(["correct", "correct or not", "inputs/predictions.npy", "correct"]);
  out.push(["confidence", "confidence", "inputs/confidence.npy", "score"]);
  if (f.outlier && f.outlier.file) out.push(["outlier", "outlier score (findings)", f.outlier.file, "score"]);
  if (f.label_noise && f.label_noise.file) out.push(["label_noise", "label-noise score (findings)", f.label_noise.file, "score"]);
  return out;
}

function embedArray(file) {
  if (!embedView.arrays.has(file)) embedView.arrays.set(file, loadNpy(file).then((a) => a.data));
  return embedView.arrays.get(file);
}

const rgbOf = (css) => { const c = d3.color(css); return [c.r, c.g, c.b]; };

// RGBA bytes of every point under colouring `how`; fills the legend.
function embedColourBytes(how, values) {
  const n = embedView.n, per = state.perInput, out = new Uint8Array(4 * n), legendBox = $("embed-legend");
  const classRgb = colours.map(rgbOf), grey = [150, 150, 150];
  let rgb;
  if (how.kind === "class" || how.kind === "correct") {
    const right = rgbOf("#4e79a7"), wrong = rgbOf("#e15759");
    rgb = (input) => {
      const v = how.kind === "class" ? values[input] : values[input] === state.labels[input] ? 1 : 0;
      if (how.kind === "correct") return v ? right : wrong;
      return v >= 0 && Number.isFinite(v) ? classRgb[v % 10] : grey;
    };
    legendBox.replaceChildren(...(how.kind === "correct"
      ? [["#4e79a7", "predicted right"], ["#e15759", "predicted wrong"]]
      : state.classes.map((c, k) => [colours[k % 10], String(c)]))
      .map(([c, t]) => el("span", null, el("i", { style: { background: c } }), t)));
  } else {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) { lo = Math.min(lo, values[i]); hi = Math.max(hi, values[i]); }
    const lut = d3.range(256).map((k) => rgbOf(d3.interpolateViridis(k / 255))), span = hi - lo || 1;
    rgb = (input) => Number.isFinite(values[input]) ? lut[Math.round(255 * (values[input] - lo) / span)] : grey;
    legendBox.replaceChildren(el("span", null, `${how.label}: ${lo.toPrecision(3)} → ${hi.toPrecision(3)} (viridis)`));
  }
  for (let i = 0; i < n; i++) {
    const input = Math.floor(i / per), c = input < values.length ? rgb(input) : grey;
    out[4 * i] = c[0]; out[4 * i + 1] = c[1]; out[4 * i + 2] = c[2]; out[4 * i + 3] = 230;
  }
  return out;
}

function recolourEmbedding() {
  if (!embedView.scatter || !embedView.n) return Promise.resolve();
  const how = embedColourings().find((c) => c[0] === $("embed-colour").value) || embedColourings()[0];
  const [value, label, file, kind] = how;
  const values = file ? embedArray(file) : Promise.resolve(state.labels);
  return values.then((v) => {
    embedView.scatter.setColours(embedColourBytes({ value, label, kind }, v));
    requestEmbedFrame();
  }).catch((e) => { $("embed-status").textContent = `cannot colour by ${label}: ${e.message}`; });
}

// ---- drawing --------------------------------------------------------------

// A frame; `moving` (a drag or the wheel under way): a sample of the
// points, the full picture once the motion has stopped for 150 ms.
const embedMotionBudget = 40000;   // software WebGL: about 1 ms a thousand points on this loaded machine
function requestEmbedFrame(moving) {
  clearTimeout(embedView.still);
  if (moving) embedView.still = setTimeout(() => requestEmbedFrame(false), 150);
  embedView.moving = !!moving;
  if (embedView.frame) return;
  embedView.frame = requestAnimationFrame(() => {
    embedView.frame = 0;
    embedView.scatter.draw(embedView.moving ? embedMotionBudget : 0);
    if (embedView.drawnAt == null) embedView.drawnAt = performance.now();
  });
}

// The flags of the points: selected inputs in front, the others faded.
function drawEmbedding() {
  if (!embedView.scatter || !embedView.n) return;
  const sel = state.selected, per = state.perInput, flags = new Uint8Array(embedView.n);
  if (sel.size) for (let i = 0; i < embedView.n; i++) flags[i] = sel.has(Math.floor(i / per)) ? 2 : 1;
  if (embedView.picked >= 0 && embedView.picked < embedView.n) flags[embedView.picked] = 3;
  embedView.scatter.setFlags(flags);
  requestEmbedFrame();
}

function embedScatter() {
  if (!embedView.scatter) {
    embedView.scatter = createScatter($("embed-canvas"));
    initEmbeddingEvents();
  }
  return embedView.scatter;
}

// The method select: the methods that embedded this layer.
function fillEmbedMethods(l) {
  const sel = $("embed-method"), keep = sel.value, methods = embedMethodsOf(l.name);
  sel.replaceChildren();
  methods.forEach(([m]) => option(sel, m, embedMethodNames[m] || m));
  if (methods.some(([m]) => m === keep)) sel.value = keep;
  sel.parentElement.classList.toggle("hidden", methods.length < 2);
  return methods.find(([m]) => m === sel.value);
}

function renderEmbedding() {
  const l = state.layers[+$("embed-layer").value], status = $("embed-status");
  let scatter;
  try { scatter = embedScatter(); } catch (e) { status.textContent = e.message; return Promise.resolve(); }
  const chosen = l && fillEmbedMethods(l);
  if (!chosen) { embedView.n = 0; scatter.setPoints(new Float32Array(0), new Float32Array(0)); scatter.draw(); return Promise.resolve(); }
  const [method, entry] = chosen, key = l.name + "\t" + method;
  if (key === embedView.key) { requestEmbedFrame(); return Promise.resolve(); }
  if (embedView.pending && embedView.pending.key === key) return embedView.pending.promise;
  status.textContent = "loading…";
  const promise = loadNpy(entry.file).then(({ shape, data }) => {
    if (embedView.pending.key !== key) return;   // another layer or method was asked for meanwhile
    const n = shape[0];
    if (shape.length !== 2 || shape[1] < 2) throw new Error(`${entry.file}: shape (${shape}), not (rows, 2)`);
    if (n !== l.rows)   // its points would stand for the wrong inputs
      throw new Error(`${entry.file} has ${n} rows and layer ${l.display} ${l.rows}: the embedding is of another ` +
                      "extraction (run nerve embed --study again)");
    const d = shape[1], column = (c) => {
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) v[i] = data[d * i + c];
      return v;
    };
    const xs = column(0), ys = column(1), zs = d >= 3 ? column(2) : null;   // three columns: a cloud to turn
    scatter.setPoints(xs, ys, zs);
    $("embed-rotate").classList.toggle("hidden", !zs);
    if (!zs && embedView.mode === "rotate") $("embed-modes").querySelector("[data-mode=pan]").click();
    // The middle 99.8% fills the view: t-SNE leaves a few stragglers far out.
    // Quantiles of a strided sample of at most 50,000: sorting 300,000 twice cost 0.2 s.
    const robust = (v) => {
      const step = Math.max(1, Math.floor(n / 50000)), s = new Float32Array(Math.ceil(n / step));
      for (let i = 0, k = 0; i < n; i += step) s[k++] = v[i];
      s.sort();
      return [s[Math.floor(0.001 * (s.length - 1))], s[Math.ceil(0.999 * (s.length - 1))]];
    };
    embedView.frame0 = [...robust(xs), ...robust(ys)];
    scatter.fit(...embedView.frame0);
    Object.assign(embedView, { n, key, drawnAt: null, picked: -1 });
    status.textContent = `${n.toLocaleString("en")} points, ${embedMethodNames[method] || method}`;
    $("embed-neighbours").replaceChildren();
    drawEmbedding();
    return recolourEmbedding();
  }).catch((e) => {
    Object.assign(embedView, { n: 0, key: null });
    scatter.setPoints(new Float32Array(0), new Float32Array(0));
    scatter.draw();
    status.textContent = e.message;
  }).finally(() => { if (embedView.pending && embedView.pending.promise === promise) embedView.pending = null; });
  embedView.pending = { key, promise };
  return promise;
}

// ---- events ---------------------------------------------------------------

// Drag: pan (or, in box and lasso mode or with Shift, select; in rotate
// mode, turn a 3-D cloud); wheel: zoom;
// a click without a drag: the point's nearest neighbours.
function initEmbeddingEvents() {
  const canvas = $("embed-canvas"), box = $("embed-box"), lasso = $("embed-lasso"), s = embedView.scatter;
  let drag = null;
  const pos = (ev) => { const r = canvas.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; };
  canvas.addEventListener("mousedown", (ev) => {
    const [x, y] = pos(ev), mode = ev.shiftKey && embedView.mode === "pan" ? "box" : embedView.mode;
    drag = { mode, start: [x, y], last: [x, y], path: [[x, y]], moved: false };
    ev.preventDefault();
  });
  window.addEventListener("mousemove", (ev) => {
    const [x, y] = pos(ev);
    if (!drag) { embedHover(ev, x, y); return; }
    drag.moved = drag.moved || Math.abs(x - drag.start[0]) + Math.abs(y - drag.start[1]) > 3;
    if (drag.mode === "pan") { s.pan(x - drag.last[0], y - drag.last[1]); requestEmbedFrame(true); }
    else if (drag.mode === "rotate") { s.rotate(x - drag.last[0], y - drag.last[1]); requestEmbedFrame(true); }
    else if (drag.mode === "box")
      Object.assign(box.style, { display: "block", left: Math.min(x, drag.start[0]) + "px", top: Math.min(y, drag.start[1]) + "px",
                                 width: Math.abs(x - drag.start[0]) + "px", height: Math.abs(y - drag.start[1]) + "px" });
    else { drag.path.push([x, y]); lasso.setAttribute("points", drag.path.map((p) => p.join(",")).join(" ")); }
    drag.last = [x, y];
  });
  window.addEventListener("mouseup", (ev) => {
    if (!drag) return;
    const d = drag, [x, y] = pos(ev);
    drag = null;
    box.style.display = "none";
    lasso.setAttribute("points", "");
    if (!d.moved) { if (ev.target === canvas) embedPick(s.nearest(x, y, 8)); return; }
    if (d.mode === "pan" || d.mode === "rotate") {
      requestEmbedFrame(false);   // every point again
      document.dispatchEvent(new CustomEvent("embedview"));
      return;
    }
    const rows = d.mode === "box" ? s.inBox(d.start[0], d.start[1], x, y) : d.path.length > 2 ? s.inPolygon(d.path) : [];
    setSelection(rows.map((i) => Math.floor(i / state.perInput)), "the embedding");
  });
  canvas.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const [x, y] = pos(ev);
    s.zoomAt(x, y, Math.exp(-ev.deltaY * 0.0015));
    requestEmbedFrame(true);
    document.dispatchEvent(new CustomEvent("embedview"));
  }, { passive: false });
  canvas.addEventListener("mouseleave", () => tooltip(null));
  document.querySelectorAll("#embed-modes button").forEach((b) => {
    b.onclick = () => {
      embedView.mode = b.dataset.mode;
      document.querySelectorAll("#embed-modes button").forEach((o) => o.classList.toggle("active", o === b));
    };
  });
  $("embed-clear").onclick = () => setSelection([], "");
  $("embed-colour").onchange = recolourEmbedding;
  $("embed-method").onchange = renderEmbedding;
  $("embed-fit").onclick = () => {   // the first framing again (and a 3-D cloud unturned)
    if (!embedView.n) return;
    s.fit(...embedView.frame0);
    requestEmbedFrame();
    document.dispatchEvent(new CustomEvent("embedview"));
  };
}

function embedHover(ev, x, y) {
  if (ev.target !== $("embed-canvas") || !embedView.n) return;
  const i = embedView.scatter.nearest(x, y, 6);
  if (i < 0) { tooltip(null); return; }
  const input = Math.floor(i / state.perInput);
  tooltip([`input ${input}` + (state.labels ? `, ${className(state.labels[input])}` : ""), thumb(input, 56)], ev);
}

function embedColourOptions() {
  const sel = $("embed-colour");
  sel.replaceChildren();
  embedColourings().forEach(([v, label]) => option(sel, v, label));
}
