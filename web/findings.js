// findings.js — the Findings view, a study's first page: what `nerve
// findings` found (DIR/findings/findings.json, in /api/study as "findings"),
// each entry with links to the view that shows it: the Mapper node, the
// inputs selected in the embedding, the layer's graph. Loaded before app.js
// (a report's study is there at once, and app.js then renders at once);
// it uses app.js's helpers (el, state, $, showView, graphOf, ...) only
// when called.
"use strict";

const findingKinds = [
  ["outliers", "Outliers", "inputs far from the others and from their class"],
  ["label_noise", "Label noise", "inputs whose labels look wrong"],
  ["separation", "Where classes separate", "the linear probe and k-NN accuracy per layer"],
  ["class_forms", "Classes that form", "the layer where a class first has a component of its own"],
  ["bridge", "Bridges", "Mapper nodes between two class regions"],
  ["loop", "Loops", "cycles of a Mapper graph"],
  ["flare", "Flares", "branches of a Mapper graph ending in a leaf"],
  ["redundant", "Redundant layers", "consecutive layers that are nearly the same"],
  ["dead_units", "Dead units", "units that never fire"],
];

// The study's layer whose display or tap name is `name`, or null.
function findingLayer(name) {
  const i = state.layers.findIndex((l) => l.display === name || l.name === name);
  return i < 0 ? null : { index: i, layer: state.layers[i] };
}

// Opens the Mapper view on a layer, with `node` picked and its panel open.
function openFindingNode(name, node) {
  const at = findingLayer(name);
  if (!at) return;
  $("mapper-layer").value = at.index;
  if (rendered.has("mapper")) renderMapper();
  showView("mapper");
  graphOf(at.layer).then((g) => {
    let tries = 0;
    const open = () => {   // the Mapper view draws the graph in its own promise: wait for it
      if (typeof mapperView !== "undefined" && mapperView && mapperView.g === state.graphs.get(at.layer.name)) {
        if (node != null) { openNodePanel(mapperView.g, node); setSelection(nodeInputs(mapperView.g, node), `${name} node ${g.nodes.id[node]}`); }
      } else if (tries++ < 200) requestAnimationFrame(open);
    };
    open();
  }).catch(() => {});
}

// Selects inputs and shows them in the embedding of a layer (the last
// layer with one when the finding names none).
function openFindingInputs(inputs, name, origin) {
  setSelection(inputs, origin);
  const at = name ? findingLayer(name) : null;
  const withEmbed = state.layers.map((l, i) => [l, i]).filter(([l]) => l.embed);
  const pick = at && at.layer.embed ? at.index : withEmbed.length ? withEmbed[withEmbed.length - 1][1] : null;
  if (pick == null) return;
  $("embed-layer").value = pick;
  if (rendered.has("embedding")) renderEmbedding();
  showView("embedding");
}

function findingEntry(f) {
  const links = [];
  const kind = String(f.kind), layer = f.layer == null ? null : String(f.layer);
  if (Array.isArray(f.nodes) && layer)
    links.push(el("button", { class: "finding-link", "data-link": "mapper" }, `open the node in ${layer}'s graph`));
  else if (layer && findingLayer(layer) && findingLayer(layer).layer.graph && !Array.isArray(f.inputs))
    links.push(el("button", { class: "finding-link", "data-link": "mapper" }, `open ${layer}'s graph`));
  if (Array.isArray(f.inputs))
    links.push(el("button", { class: "finding-link", "data-link": "embedding" }, `select these ${f.inputs.length} inputs`));
  const entry = el("div", { class: "finding", "data-kind": kind }, el("p", null, String(f.text)),
                   Array.isArray(f.inputs) ? thumbs(f.inputs.slice(0, 24).map(Number), 28) : null,
                   links.length ? el("div", { class: "finding-links" }, ...links) : null);
  entry.querySelectorAll("button[data-link=mapper]").forEach((b) => {
    b.onclick = () => openFindingNode(layer, Array.isArray(f.nodes) ? Number(f.nodes[0]) : null);
  });
  entry.querySelectorAll("button[data-link=embedding]").forEach((b) => {
    b.onclick = () => openFindingInputs(f.inputs.map(Number), kind === "outliers" || kind === "label_noise" ? null : layer,
                                        kind.replace("_", " "));
  });
  return entry;
}

function findingsLayerTable(layers) {
  const pct = (x) => x == null ? "" : (100 * x).toFixed(1) + "%";
  const num = (x, d) => x == null ? "" : (+x).toFixed(d);
  return el("table", { class: "findings-layers" },
    el("tr", null, ...["layer", "units", "dead", "PCA 90%", "participation", "TwoNN", "k-NN acc.", "probe acc."].map((h) => el("th", null, h))),
    ...layers.map((l) => el("tr", null, el("td", null, String(l.name)), el("td", null, String(l.dim)),
      el("td", null, String(l.dead + l.constant)), el("td", null, String(l.pca90)), el("td", null, num(l.participation, 1)),
      el("td", null, num(l.twonn, 1)), el("td", null, pct(l.knn_accuracy)), el("td", null, pct(l.probe_accuracy)))));
}

function renderFindings() {
  const box = $("findings-list"), f = state.study.findings;
  if (!f || !Array.isArray(f.findings)) {
    box.replaceChildren(el("p", { class: "hint" }, "This study has no findings yet: run nerve findings --study DIR."));
    return;
  }
  const groups = findingKinds.map(([kind, title, what]) => {
    const list = f.findings.filter((x) => x.kind === kind);
    return list.length ? el("div", { class: "panel finding-group", "data-kind": kind },
                            el("h2", null, title), el("p", { class: "hint" }, what), ...list.map(findingEntry)) : null;
  }).filter(Boolean);
  box.replaceChildren(el("div", { class: "panel" }, el("h2", null, "Layers"), findingsLayerTable(f.layers || [])), ...groups);
}
