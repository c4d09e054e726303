// urlstate.js — the view's state in the URL's hash, so that a copied link
// reopens the same view: the tab, each view's layer, the embedding's method,
// colouring and framing, the Mapper view's colouring and parameters, and the
// selection (input indices as runs, "3-7.10.15-20", or a bit set). The hash is rewritten
// in place (history.replaceState) as the state changes; keys this viewer
// does not know are ignored, and so are values that name nothing here.
// Loaded before app.js; restoreUrlState() runs at the end of its init().
"use strict";

const urlKeys = {
  // key: [the control's id, what its value is]
  ml: ["mapper-layer", "layer"], el: ["embed-layer", "layer"], em: ["embed-method", "value"],
  ec: ["embed-colour", "value"], mc: ["mapper-colour", "value"], mj: ["mapper-jaccard", "number"],
  mi: ["mapper-intervals", "number"], mo: ["mapper-overlap", "number"], me: ["mapper-eps", "number"],
};
const urlSelectionMax = 1500000;   // characters: a larger selection stays out of the link

function encodeRuns(ids) {
  const out = [];
  for (let k = 0; k < ids.length;) {
    let j = k;
    while (j + 1 < ids.length && ids[j + 1] === ids[j] + 1) j++;
    out.push(j > k ? `${ids[k]}-${ids[j]}` : String(ids[k]));
    k = j + 1;
  }
  return out.join(".");
}

// A large scattered selection (a box over a t-SNE) has no short runs: one
// bit an input instead, base64url ("b" first): 50,000 characters at
// 300,000 inputs; browsers take URLs of 2 MB.
function encodeBits(ids, count) {
  const bytes = new Uint8Array(Math.ceil(count / 8));
  ids.forEach((i) => { if (i < count) bytes[i >> 3] |= 1 << (i & 7); });
  let text = "";
  for (let k = 0; k < bytes.length; k += 0x8000) text += String.fromCharCode(...bytes.subarray(k, k + 0x8000));
  return "b" + btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeBits(text, count) {
  let bin;
  try { bin = atob(text.slice(1).replace(/-/g, "+").replace(/_/g, "/")); } catch (e) { return []; }
  const ids = [];
  for (let i = 0; i < Math.min(count, 8 * bin.length); i++) if (bin.charCodeAt(i >> 3) & (1 << (i & 7))) ids.push(i);
  return ids;
}

// Runs back to input indices below `count`; anything malformed is dropped.
function decodeRuns(text, count) {
  if (String(text).startsWith("b")) return decodeBits(String(text), count);
  const ids = [];
  for (const part of String(text).split(".")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) continue;
    const a = +m[1], b = Math.min(m[2] ? +m[2] : a, count - 1);
    for (let i = a; i <= b && ids.length < count; i++) ids.push(i);
  }
  return ids;
}

function currentView() {
  const b = document.querySelector("#tabs button.active");
  return b ? b.dataset.view : "overview";
}

let urlWrite = 0, urlRestoring = false;

function writeUrlState() {
  if (urlRestoring) return;
  clearTimeout(urlWrite);
  urlWrite = setTimeout(() => {
    const q = new URLSearchParams({ v: currentView() });
    Object.entries(urlKeys).forEach(([key, [id, kind]]) => {
      const c = $(id);
      if (!c || c.value === "") return;
      q.set(key, kind === "layer" ? state.layers[+c.value].name : c.value);
    });
    if (embedView.scatter && embedView.n) {
      const v = embedView.scatter.view;
      q.set("ez", [v.cx, v.cy, v.zoom, v.yaw, v.pitch].map((x) => +x.toPrecision(6)).join(","));
    }
    const ids = Array.from(state.selected).sort((a, b) => a - b), count = state.study.manifest.inputs.count;
    const runs = encodeRuns(ids), sel = runs.length > count / 6 ? encodeBits(ids, count) : runs;
    if (sel && sel.length <= urlSelectionMax) q.set("sel", sel);
    history.replaceState(null, "", "#" + q.toString());
  }, 150);
}

// Sets control id to a value from the link, if the control offers it.
function restoreControl(id, kind, value) {
  const c = $(id);
  if (!c) return false;
  if (kind === "layer") {
    const i = state.layers.findIndex((l) => l.name === value);
    if (i < 0 || !Array.from(c.options).some((o) => +o.value === i)) return false;
    c.value = i;
  } else if (kind === "number") {
    if (!Number.isFinite(+value)) return false;
    c.value = value;
    showValue(c);
  } else {
    if (c.tagName === "SELECT" && !Array.from(c.options).some((o) => o.value === value)) return false;
    c.value = value;
  }
  return true;
}

function restoreUrlState() {
  const q = new URLSearchParams(location.hash.replace(/^#/, ""));
  urlRestoring = true;
  try {
    // The embedding's methods are those of its layer: the layer first.
    ["el", ...Object.keys(urlKeys).filter((k) => k !== "el")].forEach((key) => {
      if (q.has(key)) restoreControl(...urlKeys[key], q.get(key));
    });
    if (q.has("sel")) {
      const ids = decodeRuns(q.get("sel"), state.study.manifest.inputs.count);
      if (ids.length) setSelection(ids, "the link");
    }
    const view = q.get("v");
    if (view && renderers[view]) {
      if (view === "embedding") restoreEmbedding(q.get("ez"));
      else showView(view);
    }
    if (["mi", "mo", "me"].some((k) => q.has(k)) && api.live) restoreMapperParams(q);
  } finally {
    urlRestoring = false;
  }
  attachUrlWriters();
}

function restoreEmbedding(ez) {
  const frame = String(ez || "").split(",").map(Number);
  const method = $("embed-method").value;
  rendered.add("embedding");
  showView("embedding");
  renderEmbedding().then(() => {
    if (method && $("embed-method").value !== method && Array.from($("embed-method").options).some((o) => o.value === method)) {
      $("embed-method").value = method;
      return renderEmbedding();
    }
  }).then(() => {
    if (frame.length >= 3 && frame.every(Number.isFinite) && embedView.n && frame[2] > 0) {
      Object.assign(embedView.scatter.view, { cx: frame[0], cy: frame[1], zoom: frame[2] });
      if (frame.length === 5 && embedView.scatter.solid()) embedView.scatter.rotate(frame[3] * 100, frame[4] * 100);
      requestEmbedFrame();
    }
  });
}

// A graph with the link's parameters: recomputed once the stored one is drawn.
function restoreMapperParams(q) {
  const want = { mi: q.get("mi"), mo: q.get("mo"), me: q.get("me") };
  let tries = 0;
  const wait = () => {
    if (!mapperView) { if (tries++ < 600) requestAnimationFrame(wait); return; }
    const p = mapperView.g.params || {};
    Object.entries({ mi: "mapper-intervals", mo: "mapper-overlap", me: "mapper-eps" })
      .forEach(([k, id]) => { if (want[k] != null) restoreControl(id, "number", want[k]); });
    if (+$("mapper-intervals").value !== p.intervals || +$("mapper-overlap").value !== p.overlap || +$("mapper-eps").value !== 0)
      recomputeMapper();
  };
  if (currentView() === "mapper") wait();
}

function attachUrlWriters() {
  document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", writeUrlState));
  Object.values(urlKeys).forEach(([id]) => { const c = $(id); if (c) c.addEventListener("change", writeUrlState); });
  ["selection", "embedview"].forEach((e) => document.addEventListener(e, writeUrlState));
  writeUrlState();
}
