// nerve's viewer: one page over a study served by `nerve serve` (or inlined
// by `nerve report`). The study arrives as one JSON document (/api/study);
// graphs, diagrams and matrices are fetched from /study/<file> as the views
// need them. A selection of inputs (from a Mapper node or an embedding box)
// is shared: every view highlights the same inputs.
//
// Every string that comes from the study (class, layer, model and node
// names, file names, error messages) reaches the page as text: elements are
// built with el() and text nodes, never by innerHTML, so a class named
// "<img src=… onerror=…>" shows as those characters. The server's
// Content-Security-Policy forbids inline script and style attributes too.
"use strict";

const api = window.NERVE_OFFLINE || {
  json: (url) => fetch(url).then((r) => r.ok ? r.json() : r.json().then((e) => Promise.reject(new Error(e.error || r.statusText)))),
  buffer: (url) => fetch(url).then((r) => r.ok ? r.arrayBuffer() : Promise.reject(new Error(url + ": " + r.statusText))),
  live: true,
};

const state = {
  study: null,          // /api/study
  layers: [],           // [{name, display, rows, dim, ...}]
  display: new Map(),   // tap name -> the name people read (layer4.1.relu_1)
  perInput: 1,
  classes: [],
  labels: null,         // Int32Array of the inputs' labels, or null
  selected: new Set(),  // selected input ids
  graphs: new Map(),    // layer name -> graph JSON
};

const colours = d3.schemeTableau10;
const $ = (id) => document.getElementById(id);

// ---- loading --------------------------------------------------------------

// A .npy file as {shape, data}: float32, float64 or int64 (as Float64Array).
function parseNpy(buf) {
  const bytes = new Uint8Array(buf);
  const major = bytes[6];
  const view = new DataView(buf);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(",").filter((s) => s.trim()).map(Number);
  const offset = start + headerLen;
  const count = shape.reduce((a, b) => a * b, 1);
  let data;
  if (descr === "<f4") data = new Float32Array(buf.slice(offset, offset + 4 * count));
  else if (descr === "<f8") data = new Float64Array(buf.slice(offset, offset + 8 * count));
  else if (descr === "<i8") data = Float64Array.from(new BigInt64Array(buf.slice(offset, offset + 8 * count)), Number);
  else throw new Error("unsupported .npy dtype " + descr);
  return { shape, data };
}

const studyFile = (rel) => "study/" + rel;
const loadJson = (rel) => api.json(studyFile(rel));
const loadNpy = (rel) => api.buffer(studyFile(rel)).then(parseNpy);

function graphOf(layer) {
  if (state.graphs.has(layer.name)) return Promise.resolve(state.graphs.get(layer.name));
  if (!layer.graph) return Promise.reject(new Error("no Mapper graph for " + layerName(layer.name) +
                                                    (layer.skipped ? ": " + layer.skipped : "")));
  return loadJson(layer.graph).then((g) => { state.graphs.set(layer.name, g); return g; });
}

// ---- helpers --------------------------------------------------------------

// A label of at most n characters: its end kept, the start cut to "…".
function ellipsis(text, n) {
  return text.length > n ? "…" + text.slice(-(n - 1)) : text;
}

// An element with attributes and children; strings become text nodes, null
// and "" are skipped. {style: {...}} goes through the CSSOM (allowed by the
// Content-Security-Policy, unlike a style attribute).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => {
    if (k === "style") Object.assign(e.style, v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  });
  children.flat(Infinity).forEach((c) => { if (c != null && c !== "") e.append(c instanceof Node ? c : String(c)); });
  return e;
}

function option(select, value, text, title) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text;
  if (title) o.title = title;
  select.appendChild(o);
}

// Layers are shown by their short names (the server's "display"); the full
// tap name, which files and the API use, is there on hover.
const layerName = (tap) => String(state.display.get(tap) ?? tap);
const layerLabel = (tag, tap, attrs) => el(tag, Object.assign({ title: String(tap) }, attrs || {}), layerName(tap));

function fillLayerSelect(select, filter) {
  select.replaceChildren();
  state.layers.forEach((l, i) => { if (!filter || filter(l)) option(select, i, l.display, l.name); });
}

// Shows content (nodes and strings, as text) at the pointer; null hides it.
function tooltip(content, event) {
  const t = $("tooltip");
  if (!content) { t.classList.add("hidden"); return; }
  t.replaceChildren(...[content].flat(Infinity).filter((c) => c != null && c !== ""));
  t.classList.remove("hidden");
  t.style.left = Math.min(event.clientX + 14, window.innerWidth - 330) + "px";
  t.style.top = Math.min(event.clientY + 14, window.innerHeight - t.offsetHeight - 8) + "px";
}

// A CSS url() of a URL, quoted (a file name with a quote stays a name).
const cssUrl = (u) => 'url("' + String(u).replace(/[\\"]/g, "\\$&").replace(/[\n\r\f]/g, "") + '")';

// A thumbnail of input i from the study's sprite (an element), or null. The
// sprite comes in pages of per_page inputs (older studies: one page); the
// browser fetches a page when a thumbnail on it is first shown.
function thumb(i, size) {
  const sp = state.study.manifest.inputs.sprite;
  if (!sp || !(i < sp.count)) return null;
  const per = sp.per_page || sp.count, page = Math.floor(i / per), at = i % per, file = sp.pages ? sp.pages[page] : sp.file;
  const s = size || sp.side, k = s / sp.side;
  const x = (at % sp.columns) * sp.side * k, y = Math.floor(at / sp.columns) * sp.side * k;
  const w = sp.columns * sp.side * k, h = Math.ceil(Math.min(per, sp.count - page * per) / sp.columns) * sp.side * k;
  return el("div", { class: "thumb", title: `input ${i}`, style: {
    width: s + "px", height: s + "px", backgroundImage: cssUrl(api.url ? api.url(file) : studyFile(file)),
    backgroundSize: `${w}px ${h}px`, backgroundPosition: `-${x}px -${y}px` } });
}

const thumbs = (inputs, size) => el("div", { class: "thumbs" }, inputs.map((i) => thumb(i, size)));

function className(c) {
  return c < state.classes.length ? String(state.classes[c]) : String(c);
}

function classBars(counts) {
  const total = counts.reduce((a, b) => a + b, 0) || 1;
  return el("div", { class: "bars" }, counts.map((n, c) => n ? { n, c } : null).filter(Boolean)
    .sort((a, b) => b.n - a.n).map(({ n, c }) => el("div", { class: "bar" },
      el("span", { style: { width: "90px" } }, className(c)),
      el("span", { class: "fill", style: { width: Math.round(120 * n / total) + "px", background: colours[c % 10] } }),
      (100 * n / total).toFixed(1) + "%")));
}

// The inputs of node v of graph g.
function nodeInputs(g, v) {
  const a = g.nodes.member_start[v], b = g.nodes.member_start[v + 1];
  const out = [];
  for (let k = a; k < b; k++) out.push(Math.floor(g.members[k] / state.perInput));
  return out;
}

function setSelection(inputs, origin) {
  state.selected = new Set(inputs);
  $("selection-info").textContent = state.selected.size ? `${state.selected.size} inputs selected (from ${origin})` : "";
  document.dispatchEvent(new CustomEvent("selection"));
}

// ---- the Mapper graph drawing (used by two views) -------------------------

// Draws graph g into container; returns handles to recolour and highlight.
// Large graphs go on a canvas (web/graphcanvas.js), with the same handles.
function drawGraph(container, g, opts) {
  if (g.nodes.id.length > graphCanvasNodes) return drawGraphCanvas(container, g, opts);
  container.replaceChildren();
  const width = container.clientWidth || 800, height = container.clientHeight || 600;
  const svg = d3.select(container).append("svg").attr("viewBox", [0, 0, width, height]);
  const zoomLayer = svg.append("g");
  svg.call(d3.zoom().scaleExtent([0.1, 12]).on("zoom", (e) => zoomLayer.attr("transform", e.transform)));
  const n = g.nodes.id.length;
  const nodes = d3.range(n).map((i) => ({ i, size: g.nodes.size[i] }));
  const links = g.edges.source.map((s, k) => ({ source: s, target: g.edges.target[k], jaccard: g.edges.jaccard[k], k }));
  const maxSize = d3.max(nodes, (d) => d.size) || 1;
  const radius = d3.scaleSqrt().domain([1, maxSize]).range([3, opts.small ? 12 : 18]);
  const link = zoomLayer.append("g").selectAll("line").data(links).join("line").attr("class", "link")
    .attr("stroke-width", (d) => 1 + 4 * d.jaccard);
  const node = zoomLayer.append("g").selectAll("circle").data(nodes).join("circle").attr("class", "node")
    .attr("r", (d) => radius(d.size));
  const glyphs = zoomLayer.append("g");
  const sim = d3.forceSimulation(nodes)
    .force("link", d3.forceLink(links).distance(30).strength(0.6))
    .force("charge", d3.forceManyBody().strength(-40))
    .force("x", d3.forceX(width / 2).strength(0.04)).force("y", d3.forceY(height / 2).strength(0.04))
    .force("collide", d3.forceCollide((d) => radius(d.size) + 1));
  sim.on("tick", () => {
    link.attr("x1", (d) => d.source.x).attr("y1", (d) => d.source.y).attr("x2", (d) => d.target.x).attr("y2", (d) => d.target.y);
    node.attr("cx", (d) => d.x).attr("cy", (d) => d.y);
    glyphs.selectAll("foreignObject").attr("x", (d) => d.x - 8).attr("y", (d) => d.y - 8);
  });
  node.call(d3.drag()
    .on("start", (e, d) => { if (!e.active) sim.alphaTarget(0.2).restart(); d.fx = d.x; d.fy = d.y; })
    .on("drag", (e, d) => { d.fx = e.x; d.fy = e.y; })
    .on("end", (e, d) => { if (!e.active) sim.alphaTarget(0); d.fx = null; d.fy = null; }));
  node.on("mousemove", (e, d) => tooltip(nodeTooltip(g, d.i), e)).on("mouseleave", () => tooltip(null));
  node.on("click", (e, d) => opts.onClick && opts.onClick(d.i));
  const handle = {
    node, link, g,
    colour(fn) { node.attr("fill", (d) => fn(d.i)); },
    fade(keep) { node.classed("faded", (d) => !keep(d.i)); },
    mark(marked) { node.classed("marked", (d) => marked(d.i)); },
    pick(v) { node.classed("picked", (d) => d.i === v); },
    minJaccard(t) { link.attr("display", (d) => d.jaccard >= t ? null : "none"); },
    glyphs(on) {
      glyphs.selectAll("*").remove();
      if (!on) return;
      glyphs.selectAll("foreignObject").data(nodes).join("foreignObject").attr("width", 16).attr("height", 16)
        .attr("pointer-events", "none").each(function (d) {
          const t = (opts.featvis && $("mapper-featvis").checked && featvisNodeImage(opts.featvis, d.i, 16)) ||
                    thumb(nodeInputs(g, d.i)[0], 16);
          if (t) this.append(t);
        });
    },
    loops(on) {
      const cycleEdges = new Set(), degree = new Array(n).fill(0);
      g.edges.source.forEach((s, k) => { degree[s]++; degree[g.edges.target[k]]++; });
      if (on) (g.figures.cycle_basis || []).forEach((cyc) => cyc.forEach((v, k) => {
        const w = cyc[(k + 1) % cyc.length];
        cycleEdges.add(Math.min(v, w) + ":" + Math.max(v, w));
      }));
      link.classed("loop", (d) => on && cycleEdges.has(Math.min(d.source.i, d.target.i) + ":" + Math.max(d.source.i, d.target.i)));
      node.classed("branch", (d) => on && degree[d.i] >= 3);
    },
  };
  return handle;
}

function nodeTooltip(g, v) {
  const inputs = nodeInputs(g, v);
  const counts = g.nodes.label_counts ? g.nodes.label_counts[v] : null;
  return [el("b", null, g.nodes.id[v]), `: ${g.nodes.size[v]} members`,
          counts ? [`, purity ${(100 * g.nodes.purity[v]).toFixed(0)}%`, classBars(counts)] : null,
          thumbs(inputs.slice(0, 24), 28)];
}

function nodeColour(g, how) {
  const pick = {
    dominant: () => (v) => g.nodes.dominant[v] >= 0 ? colours[g.nodes.dominant[v] % 10] : "#999",
    purity: () => { const s = d3.scaleSequential(d3.interpolateViridis).domain([0, 1]); return (v) => s(g.nodes.purity[v]); },
    lens: () => {
      const vals = g.nodes.mean_lens.map((l) => l[0]);
      const s = d3.scaleSequential(d3.interpolatePlasma).domain(d3.extent(vals));
      return (v) => s(vals[v]);
    },
    misclassified: () => { const s = d3.scaleSequential(d3.interpolateReds).domain([0, 1]); return (v) => g.nodes.misclassified[v] == null ? "#999" : s(g.nodes.misclassified[v]); },
    confidence: () => { const s = d3.scaleSequential(d3.interpolateBlues).domain([0, 1]); return (v) => g.nodes.mean_confidence[v] == null ? "#999" : s(g.nodes.mean_confidence[v]); },
  };
  return pick[how]();
}

function legend(box, g, how) {
  if (how === "dominant") {
    box.replaceChildren(...state.classes.map((c, k) => el("span", null, el("i", { style: { background: colours[k % 10] } }), String(c))));
  } else {
    const names = { purity: "purity 0 → 1 (viridis)", lens: "mean lens value, low → high (plasma)",
                    misclassified: "misclassified share 0 → 1 (reds)", confidence: "mean confidence 0 → 1 (blues)" };
    box.replaceChildren(el("span", null, names[how]));
  }
}

// Nodes whose dominant class (or any member's class) matches the search.
function classMatcher(g, text) {
  const t = (text || "").trim().toLowerCase();
  if (!t) return () => true;
  const wanted = state.classes.map((c, k) => String(c).toLowerCase().startsWith(t) ? k : -1).filter((k) => k >= 0);
  return (v) => g.nodes.label_counts && wanted.some((k) => g.nodes.label_counts[v][k] > 0);
}

// ---- overview ---------------------------------------------------------------

// The similarity matrices first, position-matched ones before the others:
// each conv map averaged over its positions (study/mean) compares the same
// thing in every layer, while one random position per input does not (a
// max-pool of a ReLU read 0.0 against it by CKA).
function heatmapSources() {
  const s = state.study, out = [];
  // svcca-dft sits with the averaged metrics but reads whole maps (study/mean/maps)
  const vectorsOf = (index, m, vectors) => m === "svcca-dft" && index.svcca_dft
    ? `whole maps of ${index.svcca_dft.inputs} inputs` : vectors;
  const add = (index, vectors) => Object.entries(index.matrices).forEach(([m, f]) =>
    out.push({ name: `${m.toUpperCase()} · ${vectorsOf(index, m, vectors)}`, file: f, layers: index.layers,
               missing: missingReason(index.null_cells, m) }));
  if (s.mean_sim) add(s.mean_sim, "positions averaged");
  if (s.sim) add(s.sim, s.mean_sim ? "one random position" : "as extracted");
  if (s.ph) Object.entries(s.ph.distances).forEach(([m, files]) => files.forEach((f, d) =>
    out.push({ name: `${m} H${d}`, file: f, layers: s.ph.layers.map((l) => l.name) })));
  // nerve compare --studies: every layer of this study and its siblings (models, seeds) in one matrix
  if (s.studies) {
    const labels = s.studies.studies.flatMap((st) =>
      st.layers.map((l) => `${st.study === "." ? s.name : st.study}: ${layerName(l)}`));
    Object.entries(s.studies.distances).forEach(([m, files]) => files.forEach((f, d) =>
      out.push({ name: `${m} H${d} · across studies`, file: f, layers: labels })));
  }
  return out;
}

// Why a similarity cell is missing (NaN), from sim/index.json's null_cells:
// the metric could not be computed for this study, or the layer is constant.
function missingReason(nulls, metric) {
  return (layerA, layerB) => {
    if (!nulls) return "not computed";
    if (nulls.unavailable && nulls.unavailable[metric]) return nulls.unavailable[metric];
    const vectors = nulls.not_maps && nulls.not_maps[metric];   // svcca-dft: whole conv maps only
    if (vectors && (vectors.layers.includes(layerA) || vectors.layers.includes(layerB))) return vectors.reason;
    const refused = ((nulls.refused_pairs || {})[metric] || []).find(([a, b]) =>
      (a === layerA && b === layerB) || (a === layerB && b === layerA));
    if (refused) return refused[2];
    const constant = nulls.constant_layers || [];
    if (constant.includes(layerA) || constant.includes(layerB)) return nulls.constant_reason || "a constant layer";
    return "not computed";
  };
}

// A cell's value as the tooltip shows it: NaN is missing (with the reason
// when the source knows it), an infinite distance is ∞.
function cellText(source, v, a, b) {
  if (Number.isNaN(v)) return "missing: " + (source.missing ? source.missing(a, b) : "not computed");
  return Number.isFinite(v) ? v.toFixed(4) : "∞";
}

function drawHeatmap(source) {
  const box = $("heatmap");
  box.replaceChildren();
  loadNpy(source.file).then(({ shape, data }) => {
    const n = shape[0], cell = Math.max(18, Math.min(44, 420 / n)), pad = 150;
    const svg = d3.select(box).append("svg").attr("width", pad + n * cell + 10).attr("height", pad + n * cell + 10).attr("class", "heat");
    const finite = Array.from(data).filter(Number.isFinite);
    const colour = d3.scaleSequential(d3.interpolateViridis).domain(d3.extent(finite));
    const short = (name) => ellipsis(name, 22);
    for (let i = 0; i < n; i++) {
      const label = layerName(source.layers[i]);
      svg.append("text").attr("x", pad - 4).attr("y", pad + i * cell + cell / 2 + 4).attr("text-anchor", "end").attr("font-size", 11)
        .text(short(label)).append("title").text(source.layers[i]);
      svg.append("text").attr("transform", `translate(${pad + i * cell + cell / 2 + 4},${pad - 4}) rotate(-60)`).attr("font-size", 11)
        .text(short(label)).append("title").text(source.layers[i]);
      for (let j = 0; j < n; j++) {
        const v = data[i * n + j];
        svg.append("rect").attr("x", pad + j * cell).attr("y", pad + i * cell).attr("width", cell - 1).attr("height", cell - 1)
          .attr("fill", Number.isFinite(v) ? colour(v) : "#ccc")
          .on("mousemove", (e) => tooltip([source.name, el("br"), `${layerName(source.layers[i])} × ${layerName(source.layers[j])}: `,
                                           el("b", null, cellText(source, v, source.layers[i], source.layers[j]))], e))
          .on("mouseleave", () => tooltip(null))
          .on("click", () => showPair(source.layers[i], source.layers[j]));
      }
    }
  }).catch((e) => { box.textContent = e.message; });
}

function showPair(a, b) {
  const ia = state.layers.findIndex((l) => l.name === a), ib = state.layers.findIndex((l) => l.name === b);
  if (ia < 0 || ib < 0) return;   // a cell across studies: the other study's graphs are not served here
  showView("across");
  renderAcross([ia, ib]);
}

function renderOverview() {
  const t = $("layer-table");
  t.replaceChildren(el("tr", null, ["layer", "points", "dim", "nodes", "edges", "components", "loops", "H0", "H1"].map((h) => el("th", null, h))));
  state.layers.forEach((l, i) => {
    const m = l.mapper || {}, c = (l.ph && l.ph.counts) || [];
    const tr = el("tr", { class: "clickable" }, layerLabel("td", l.name),
                  [l.rows, l.dim, m.nodes ?? "-", m.edges ?? "-", m.components ?? "-",
                   m.loops ?? "-", c[0] ?? "-", c[1] ?? "-"].map((x) => el("td", null, String(x))));
    if (l.skipped) tr.children[3].title = "no Mapper graph: " + l.skipped;   // a text attribute, never markup
    tr.onclick = () => { $("mapper-layer").value = i; showView("mapper"); renderMapper(); };
    t.appendChild(tr);
  });
  const sel = $("heatmap-metric"), sources = heatmapSources();
  sel.replaceChildren();
  sources.forEach((s, k) => option(sel, k, s.name));
  sel.onchange = () => drawHeatmap(sources[+sel.value]);
  if (sources.length) drawHeatmap(sources[0]);
  else $("heatmap").textContent = "No layer x layer matrices in this study (run nerve compare --study or nerve ph --study).";
}

// ---- the Mapper view --------------------------------------------------------

let mapperView = null;

function mapperLayer() { return state.layers[+$("mapper-layer").value]; }

function applyMapperControls() {
  if (!mapperView) return;
  const g = mapperView.g, how = $("mapper-colour").value;
  mapperView.colour(nodeColour(g, how));
  legend($("mapper-legend"), g, how);
  mapperView.minJaccard(+$("mapper-jaccard").value);
  mapperView.fade(classMatcher(g, $("mapper-class").value));
  mapperView.glyphs($("mapper-glyphs").checked);
  mapperView.loops($("mapper-loops").checked);
  const sel = state.selected;
  mapperView.mark((v) => sel.size > 0 && nodeInputs(g, v).some((i) => sel.has(i)));
}

function showGraph(g) {
  // The featvis stage's node images belong to the study's graph, not to a recomputed one.
  mapperView = drawGraph($("mapper-graph"), g, { onClick: (v) => openNodePanel(g, v),
                                               featvis: g.stored ? mapperLayer().name : null });
  const f = g.figures;
  $("mapper-status").textContent = `${f.nodes} nodes, ${f.edges} edges, ${f.components} components, ${f.loops} loops, ${f.branch_points} branch points` +
    (g.seconds != null ? ` (computed in ${g.seconds.toFixed(2)} s)` : "");
  applyMapperControls();
}

function renderMapper() {
  const l = mapperLayer();
  $("node-panel").classList.add("hidden");
  graphOf(l).then((g) => {
    $("mapper-intervals").value = g.params.intervals;
    $("mapper-overlap").value = g.params.overlap;
    document.querySelectorAll("#view-mapper input[type=range]").forEach(showValue);
    g.stored = true;
    showGraph(g);
  }).catch((e) => { $("mapper-graph").textContent = e.message; });
}

function recomputeMapper() {
  if (!api.live) { $("mapper-status").textContent = "recomputing needs nerve serve"; return; }
  const l = mapperLayer();
  const q = new URLSearchParams({ layer: l.name, intervals: $("mapper-intervals").value, overlap: $("mapper-overlap").value,
                                  eps: $("mapper-eps").value });
  $("mapper-status").textContent = "computing…";
  api.json("api/mapper?" + q).then(showGraph).catch((e) => { $("mapper-status").textContent = e.message; });
}

function openNodePanel(g, v, page = 0) {
  const panel = $("node-panel"), inputs = nodeInputs(g, v), per = 48, pages = Math.ceil(inputs.length / per);
  mapperView.pick(v);
  const counts = g.nodes.label_counts ? g.nodes.label_counts[v] : null;
  const fig = (name, x) => x == null ? null : el("tr", null, el("td", null, name), el("td", null, String(typeof x === "number" ? +x.toFixed(4) : x)));
  panel.replaceChildren(el("h2", null, String(g.nodes.id[v])), g.stored ? featvisNodeBlock(mapperLayer().name, v, g.nodes.dominant[v]) : null,
    el("table", null, fig("members", g.nodes.size[v]), fig("purity", g.nodes.purity[v]),
       fig("dominant class", g.nodes.dominant[v] >= 0 ? className(g.nodes.dominant[v]) : null),
       fig("misclassified", g.nodes.misclassified[v]), fig("mean confidence", g.nodes.mean_confidence[v]),
       fig("mean lens", g.nodes.mean_lens[v][0]), fig("mean L2 norm", g.nodes.mean_norm[v])),
    counts ? classBars(counts) : null,
    el("div", { class: "pager" }, el("button", { id: "np-prev" }, "‹"), `page ${page + 1} of ${pages}`,
       el("button", { id: "np-next" }, "›"), el("button", { id: "np-select" }, "select these inputs")),
    thumbs(inputs.slice(page * per, (page + 1) * per), 36));
  panel.classList.remove("hidden");
  $("np-prev").onclick = () => page > 0 && openNodePanel(g, v, page - 1);
  $("np-next").onclick = () => page + 1 < pages && openNodePanel(g, v, page + 1);
  $("np-select").onclick = () => setSelection(inputs, `node ${g.nodes.id[v]}`);
}

function showValue(input) {
  const out = input.parentElement.querySelector("output");
  if (out) out.textContent = input.id === "mapper-eps" && +input.value === 0 ? "auto" : input.value;
}

// ---- across layers ----------------------------------------------------------

function renderAcross(indices) {
  if (!indices) {
    const mid = +$("across-layer").value;
    indices = [mid - 1, mid, mid + 1].filter((i) => i >= 0 && i < state.layers.length);
  }
  const box = $("across-graphs");
  box.replaceChildren();
  const cells = indices.map((i) => {
    const graph = el("div", { class: "graph" });
    box.appendChild(el("div", { class: "across-cell" }, layerLabel("h3", state.layers[i].name), graph));
    return graph;
  });
  Promise.all(indices.map((i) => graphOf(state.layers[i]))).then((graphs) => {
    const views = graphs.map((g, k) => drawGraph(cells[k], g, {
      small: true,
      onClick: (v) => {
        const inputs = new Set(nodeInputs(g, v));
        views.forEach((h, j) => j === k ? h.pick(v) : h.mark((w) => nodeInputs(h.g, w).some((x) => inputs.has(x))));
      },
    }));
    const filter = () => views.forEach((h) => h.fade(classMatcher(h.g, $("across-class").value)));
    views.forEach((h) => h.colour(nodeColour(h.g, "dominant")));
    filter();
    $("across-class").oninput = filter;
  }).catch((e) => { box.textContent = e.message; });
}

// ---- persistence ------------------------------------------------------------

function renderPersistence() {
  const l = state.layers[+$("ph-layer").value], dim = +$("ph-dim").value;
  ["ph-barcode", "ph-diagram", "ph-betti"].forEach((id) => { $(id).replaceChildren(); });
  if (!l.ph) { $("ph-barcode").textContent = "No persistence for this layer (nerve ph --study)."; return; }
  loadJson(l.ph.diagrams).then((doc) => {
    const pairs = doc.diagrams[dim].pairs;
    const finite = pairs.filter((p) => p[1] != null);
    const top = d3.max(finite, (p) => p[1]) || 1, w = 360, h = 300, m = 30;
    const x = d3.scaleLinear().domain([0, top * 1.05]).range([m, w - 10]);
    // Barcode: the longest bars first.
    const bars = pairs.map((p) => [p[0], p[1] == null ? top * 1.05 : p[1]]).sort((a, b) => (b[1] - b[0]) - (a[1] - a[0])).slice(0, 150);
    const bsvg = d3.select("#ph-barcode").append("svg").attr("width", w).attr("height", Math.max(60, bars.length * 2 + 40));
    bsvg.selectAll("line").data(bars).join("line").attr("x1", (d) => x(d[0])).attr("x2", (d) => x(d[1]))
      .attr("y1", (d, i) => 10 + i * 2).attr("y2", (d, i) => 10 + i * 2).attr("stroke", colours[dim]).attr("stroke-width", 1.5);
    bsvg.append("g").attr("transform", `translate(0,${bars.length * 2 + 14})`).call(d3.axisBottom(x).ticks(5));
    // Diagram: birth against death, the diagonal for reference.
    const y = d3.scaleLinear().domain([0, top * 1.05]).range([h - m, 10]);
    const dsvg = d3.select("#ph-diagram").append("svg").attr("width", w).attr("height", h);
    dsvg.append("line").attr("x1", x(0)).attr("y1", y(0)).attr("x2", x(top * 1.05)).attr("y2", y(top * 1.05)).attr("stroke", "#bbb");
    dsvg.selectAll("circle").data(pairs).join("circle").attr("cx", (d) => x(d[0])).attr("cy", (d) => y(d[1] == null ? top * 1.05 : d[1]))
      .attr("r", 2.5).attr("fill", (d) => d[1] == null ? "#d62728" : colours[dim]).attr("opacity", 0.7);
    dsvg.append("g").attr("transform", `translate(0,${h - m})`).call(d3.axisBottom(x).ticks(5));
    dsvg.append("g").attr("transform", `translate(${m},0)`).call(d3.axisLeft(y).ticks(5));
    // Betti curve: how many bars are alive at each scale.
    const ts = d3.range(0, 101).map((k) => k * top * 1.05 / 100);
    const betti = ts.map((t) => pairs.filter((p) => p[0] <= t && (p[1] == null || t < p[1])).length);
    const yb = d3.scaleLinear().domain([0, d3.max(betti) || 1]).range([h - m, 10]);
    const csvg = d3.select("#ph-betti").append("svg").attr("width", w).attr("height", h);
    csvg.append("path").datum(ts).attr("fill", "none").attr("stroke", colours[dim]).attr("stroke-width", 2)
      .attr("d", d3.line().x((t) => x(t)).y((t, k) => yb(betti[k])));
    csvg.append("g").attr("transform", `translate(0,${h - m})`).call(d3.axisBottom(x).ticks(5));
    csvg.append("g").attr("transform", `translate(${m},0)`).call(d3.axisLeft(yb).ticks(5));
  }).catch((e) => { $("ph-barcode").textContent = e.message; });
}

// ---- embedding: web/embed.js (the WebGL scatter, web/scatter.js; its side panel, web/select.js)

// ---- activation maps ----------------------------------------------------------

function renderActivations() {
  const box = $("act-maps"), i = Math.max(0, +$("act-input").value | 0);
  renderFeatvisGallery();
  $("act-status").textContent = "running the model…";
  api.json("api/activations?input=" + i).then((r) => {
    $("act-status").replaceChildren(`input ${i}` + (r.label != null ? `, class ${className(r.label)}` : ""), thumb(i, 28) || "");
    box.replaceChildren();
    r.layers.forEach((l) => {
      const maps = el("div", { class: "maps" });
      box.appendChild(el("div", { class: "layer" },
        el("h3", { title: String(l.name) }, String(l.display ?? layerName(l.name)), " ",
           el("span", { class: "hint" }, `${l.channels} × ${l.height} × ${l.width}`)), maps));
      const bytes = Uint8Array.from(atob(l.maps), (c) => c.charCodeAt(0)), scale = Math.max(1, Math.round(56 / l.height));
      for (let c = 0; c < l.channels; c++) {
        const cv = document.createElement("canvas");
        cv.width = l.width; cv.height = l.height;
        cv.style.width = l.width * scale + "px"; cv.style.height = l.height * scale + "px";
        cv.title = `channel ${c}`;
        const img = cv.getContext("2d").createImageData(l.width, l.height);
        for (let p = 0; p < l.width * l.height; p++) {
          const v = bytes[c * l.width * l.height + p];
          img.data.set([v, v, v, 255], 4 * p);
        }
        cv.getContext("2d").putImageData(img, 0, 0);
        maps.appendChild(cv);
      }
    });
  }).catch((e) => { $("act-status").textContent = e.message; box.replaceChildren(); });
}

// ---- training dynamics ----------------------------------------------------------

function renderTraining() {
  const box = $("training-maps"), d = state.study.dynamics, metric = $("training-metric").value;
  box.replaceChildren();
  if (!d) { box.textContent = "No checkpoints in this study (nerve run trains the built-in model with checkpoints)."; return; }
  d.checkpoints.forEach((c) => {
    const panel = el("div", { class: "panel" }, el("h2", null, c.fraction != null ? Math.round(100 * c.fraction) + "% of training" : String(c.model)));
    box.appendChild(panel);
    loadJson(c.similarity).then((idx) => loadNpy(c.study + "/" + idx.matrices[metric]).then(({ shape, data }) => {
      const [rows, cols] = shape, cell = 16, pad = 120;
      const short = (name) => ellipsis(layerName(name), 16);
      const colour = d3.scaleSequential(d3.interpolateViridis).domain([0, 1]);
      const svg = d3.select(panel).append("svg").attr("width", pad + cols * cell + 4).attr("height", pad + rows * cell + 4)
        .attr("class", "heat");
      // rows: the checkpoint's layers; columns: the final model's
      for (let i = 0; i < rows; i++)
        svg.append("text").attr("x", pad - 4).attr("y", pad + i * cell + cell / 2 + 4).attr("text-anchor", "end")
          .attr("font-size", 10).text(short(idx.rows[i])).append("title").text("checkpoint: " + idx.rows[i]);
      for (let j = 0; j < cols; j++)
        svg.append("text").attr("transform", `translate(${pad + j * cell + cell / 2 + 4},${pad - 4}) rotate(-60)`)
          .attr("font-size", 10).text(short(idx.columns[j])).append("title").text("final: " + idx.columns[j]);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
        const v = data[i * cols + j];
        svg.append("rect").attr("x", pad + j * cell).attr("y", pad + i * cell).attr("width", cell - 1).attr("height", cell - 1)
          .attr("fill", Number.isFinite(v) ? colour(v) : "#ccc")
          .on("mousemove", (e) => tooltip([`${metric}: checkpoint's ${layerName(idx.rows[i])} × final ${layerName(idx.columns[j])}: `,
                                           el("b", null, Number.isFinite(v) ? v.toFixed(3) : "missing")], e))
          .on("mouseleave", () => tooltip(null));
      }
    })).catch((e) => { panel.append(e.message); });
  });
  renderClassSensitivity(box, d);
}

// Each layer against each class through training (checkpoints/index.json's
// "classes": the final model's, and each checkpoint's): one small heatmap a
// class, layers down, training time across. A classes.json names its matrix
// relative to its own study (a checkpoint's, or mean/).
function renderClassSensitivity(box, d) {
  if (!d.classes) return;
  const stages = d.checkpoints.filter((c) => c.classes)
    .map((c, i) => ({ label: c.fraction != null ? Math.round(100 * c.fraction) + "%" : "ckpt " + i, file: c.classes }))
    .concat([{ label: "final", file: d.classes }]);
  const grid = el("div", { class: "class-maps" });
  const panel = el("div", { class: "panel classes" }, el("h2", null, "Layers against classes"),
    el("p", { class: "hint" }, "How much of each class a layer holds: the canonical correlation of the layer's SVCCA " +
       "directions with the class's indicator (the SVCCA paper's class sensitivity), layers down, training across."), grid);
  box.appendChild(panel);
  const study = (file) => file.replace(/sim\/classes\.json$/, "");
  Promise.all(stages.map((s) => loadJson(s.file).then((j) => loadNpy(study(s.file) + j.matrix).then((m) => ({ j, m })))))
    .then((all) => {
      const layers = all[all.length - 1].j.layers, classes = all[all.length - 1].m.shape[1];
      const colour = d3.scaleSequential(d3.interpolateViridis).domain([0, 1]), cell = 14, top = 48;
      for (let k = 0; k < classes; k++) {
        const left = k === 0 ? 96 : 6;   // layer names once, on the first class
        const svg = d3.select(grid).append("svg").attr("class", "heat")
          .attr("width", left + Math.max(stages.length * cell + 4, 80)).attr("height", top + layers.length * cell + 4);
        svg.append("text").attr("x", left).attr("y", 12).attr("font-size", 11).text(ellipsis(className(k), 12))
          .append("title").text(className(k));
        stages.forEach((s, t) => svg.append("text").attr("transform", `translate(${left + t * cell + cell / 2 + 3},${top - 3}) rotate(-60)`)
          .attr("font-size", 8).text(s.label));
        if (k === 0)
          layers.forEach((name, i) => svg.append("text").attr("x", left - 4).attr("y", top + i * cell + cell / 2 + 4)
            .attr("text-anchor", "end").attr("font-size", 10).text(ellipsis(layerName(name), 14)).append("title").text(name));
        all.forEach(({ m }, t) => layers.forEach((name, i) => {
          const v = i < m.shape[0] ? m.data[i * m.shape[1] + k] : NaN;
          svg.append("rect").attr("x", left + t * cell).attr("y", top + i * cell).attr("width", cell - 1).attr("height", cell - 1)
            .attr("fill", Number.isFinite(v) ? colour(v) : "#ccc")
            .on("mousemove", (e) => tooltip([`${layerName(name)} and ${className(k)}, ${stages[t].label}: `,
                                             el("b", null, Number.isFinite(v) ? v.toFixed(3) : "missing")], e))
            .on("mouseleave", () => tooltip(null));
        }));
      }
    }).catch((e) => { panel.append(e.message); });
}

// ---- the frame ------------------------------------------------------------------

const renderers = { overview: () => {}, findings: () => renderFindings(), mapper: renderMapper, across: () => renderAcross(), persistence: renderPersistence,
                    embedding: renderEmbedding, activations: renderActivations, training: renderTraining };
const rendered = new Set(["overview"]);

function showView(name) {
  document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.view === name));
  document.querySelectorAll(".view").forEach((v) => v.classList.toggle("active", v.id === "view-" + name));
  if (!rendered.has(name)) { rendered.add(name); renderers[name](); }
}

// The study's layers with what each stage computed for them.
function layersOf(s) {
  const byName = (list, key) => new Map((list || []).map((e) => [e[key || "name"], e]));
  const mapper = byName(s.mapper && s.mapper.layers), ph = byName(s.ph && s.ph.layers);
  const embed = byName(Object.values(s.embeds || {}).concat(s.embed || []).flatMap((x) => x.layers || []), "layer");
  const skipped = byName(s.mapper && s.mapper.skipped, "layer");   // why a layer has no graph
  return s.manifest.layers.map((l) => ({
    name: l.name, display: String(l.display ?? l.name), rows: l.rows, dim: l.dim, file: l.file,
    mapper: mapper.get(l.name), graph: mapper.get(l.name) && mapper.get(l.name).graph,
    ph: ph.get(l.name), embed: embed.get(l.name), skipped: skipped.get(l.name) && skipped.get(l.name).reason,
  }));
}

function init(study) {
  state.study = study;
  state.layers = layersOf(study);
  state.display = new Map(state.layers.map((l) => [l.name, l.display]));
  const inputs = study.manifest.inputs;
  state.perInput = Math.max(1, Math.round((state.layers[0] || { rows: inputs.count }).rows / inputs.count));
  state.classes = inputs.classes || [];
  $("study-name").textContent = `${study.name}: ${study.manifest.model.path.split("/").pop()} over ${inputs.count} inputs (${inputs.spec})`;
  $("class-names").replaceChildren(...state.classes.map((c) => el("option", { value: String(c) })));
  fillLayerSelect($("mapper-layer"), (l) => l.graph);
  fillLayerSelect($("across-layer"), (l) => l.graph);
  fillLayerSelect($("ph-layer"), (l) => l.ph);
  fillLayerSelect($("embed-layer"), (l) => l.embed);
  const maxDim = study.ph ? study.ph.max_dim : 1;
  for (let d = 0; d <= maxDim; d++) option($("ph-dim"), d, "H" + d);
  ((study.dynamics && study.dynamics.metrics) || []).forEach((m) => option($("training-metric"), m, m.toUpperCase()));
  document.querySelectorAll("#tabs button").forEach((b) => { b.onclick = () => showView(b.dataset.view); });
  $("mapper-layer").onchange = renderMapper;
  ["mapper-colour", "mapper-jaccard", "mapper-class", "mapper-glyphs", "mapper-featvis", "mapper-loops"].forEach((id) => {
    $(id).addEventListener("input", applyMapperControls);
  });
  document.querySelectorAll("#view-mapper input[type=range]").forEach((r) => { showValue(r); r.addEventListener("input", () => showValue(r)); });
  $("mapper-recompute").onclick = recomputeMapper;
  $("across-layer").onchange = () => renderAcross();
  $("across-layer").value = Math.min(1, state.layers.length - 1);
  $("ph-layer").onchange = renderPersistence;
  $("ph-dim").onchange = renderPersistence;
  $("embed-layer").onchange = renderEmbedding;
  $("act-input").onchange = renderActivations;
  $("training-metric").onchange = renderTraining;
  embedColourOptions();
  document.addEventListener("selection", () => { applyMapperControls(); drawEmbedding(); showSelectedInputs(); });
  showSelectedInputs();
  renderOverview();
  if (study.findings) showView("findings");   // what the study found is its first page (web/findings.js)
  restoreUrlState();   // a copied link reopens its view (web/urlstate.js)
}

const labelsFile = "inputs/labels.npy";
api.json("api/study").then((study) =>
  loadNpy(labelsFile).then(({ data }) => { state.labels = Int32Array.from(data); }, () => {}).then(() => init(study)))
  .catch((e) => { document.querySelector("main").textContent = "Cannot load the study: " + e.message; });
