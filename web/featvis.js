// featvis.js — feature visualisation in the viewer: the images the study's
// featvis stage made (DIR/featvis/index.json, in /api/study as "featvis"):
// a Mapper node's image in its panel and as its glyph, and a gallery of
// each layer's first channels and of the classes beside the activation
// maps. Loaded before app.js; it uses app.js's helpers (el, state, api,
// studyFile, cssUrl, className) only when called.
"use strict";

// The featvis entry of a layer (by its tap name), or null.
function featvisLayer(name) {
  const fv = state.study && state.study.featvis;
  if (!fv || !fv.layers) return null;
  return Object.values(fv.layers).find((l) => l.name === name) || null;
}

// An <img> of a study file, sized; the report has it inline (api.url).
function featvisImage(file, size, title) {
  const img = el("img", { class: "featvis", width: size, height: size, alt: title, title });
  img.src = api.url ? api.url(file) : studyFile(file);
  return img;
}

// Node v's image of layer `name` (an element), or null when it has none.
function featvisNodeImage(name, v, size) {
  const l = featvisLayer(name), n = l && l.nodes && l.nodes[v];
  if (!n) return null;
  const cos = n.cosine != null ? `, cosine ${n.cosine.toFixed(2)} with the node's mean vector` : "";
  return featvisImage(n.image, size, `feature visualisation${cos}`);
}

// The node panel's block: the node's image beside its figure, and the
// image of the node's dominant class (-1: none) when the study has them.
function featvisNodeBlock(name, v, dominant) {
  const img = featvisNodeImage(name, v, 84);
  if (!img) return null;
  const n = featvisLayer(name).nodes[v], classes = state.study.featvis.classes;
  const cls = dominant >= 0 && classes && classes[dominant]
    ? featvisImage(classes[dominant].image, 56, `what the network takes for ${className(dominant)}`) : null;
  return el("div", { class: "featvis-node" }, img,
    el("p", { class: "hint" }, "what the node's mean activation looks like to the network",
       n.cosine != null ? ` (cosine ${n.cosine.toFixed(2)})` : "", cls ? "; its dominant class:" : ""), cls);
}

// The gallery beside the activation maps: each layer's first channels,
// then one image per class logit.
function renderFeatvisGallery() {
  const box = document.getElementById("act-featvis");
  if (!box) return;
  const fv = state.study && state.study.featvis;
  box.replaceChildren();
  if (!fv || !fv.layers) {
    box.append(el("p", { class: "hint" }, "No feature visualisation in this study (nerve run --stages featvis)."));
    return;
  }
  box.append(el("h3", null, "Feature visualisation"));
  Object.values(fv.layers).forEach((l) => {
    if (!l.channels) return;
    box.append(el("div", { class: "layer" }, el("h4", null, String(layerName(l.name))),
      el("div", { class: "maps" }, l.channels.map((c, k) => featvisImage(c.image, 56, `channel ${k}`)))));
  });
  if (fv.classes) {
    box.append(el("div", { class: "layer" }, el("h4", null, "classes"),
      el("div", { class: "maps" }, fv.classes.map((c, k) => featvisImage(c.image, 56,
        `${className(k)}` + (c.probability != null ? `: p = ${c.probability.toFixed(3)}` : ""))))));
  }
}
