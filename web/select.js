// select.js — what the embedding view's side panel shows: the selected
// inputs (with their export as .npy and CSV, made in the page) and the
// nearest neighbours of a clicked point in the layer's activation space
// (/api/neighbours: the knn room's exact search on the server; a report
// opened from disk says it needs the server).
// Loaded before app.js; it uses app.js's helpers only when called.
"use strict";

function showSelectedInputs() {
  const ids = Array.from(state.selected).slice(0, 120);
  $("embed-selected").replaceChildren(...(state.selected.size
    ? [el("h2", null, `${state.selected.size} selected`),
       el("div", { class: "pager" }, "export",
          el("button", { id: "export-npy", title: "the selected input indices as int64 .npy" }, ".npy"),
          el("button", { id: "export-csv", title: "input, label, prediction, confidence" }, "CSV")),
       thumbs(ids, 32)]
    : [el("p", { class: "hint" }, "Nothing selected.")]));
  if (!state.selected.size) return;
  $("export-npy").onclick = () => download("selection.npy", npyInt64(sortedSelection()));
  $("export-csv").onclick = () => selectionCsv().then((text) => download("selection.csv", new TextEncoder().encode(text)));
}

const sortedSelection = () => Array.from(state.selected).sort((a, b) => a - b);

// A 1-D int64 .npy file (format 1.0: the header padded to 64 bytes).
function npyInt64(values) {
  let header = `{'descr': '<i8', 'fortran_order': False, 'shape': (${values.length},), }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const out = new Uint8Array(10 + header.length + 8 * values.length);
  out.set([0x93, 78, 85, 77, 80, 89, 1, 0, header.length & 255, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  const body = new BigInt64Array(out.buffer, 10 + header.length, values.length);
  values.forEach((v, k) => { body[k] = BigInt(v); });
  return out;
}

// input,label,prediction,confidence: the columns the study has.
function selectionCsv() {
  const optional = (file) => embedArray(file).catch(() => null);
  return Promise.all([optional("inputs/predictions.npy"), optional("inputs/confidence.npy")]).then(([pred, conf]) => {
    const quote = (s) => /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
    const rows = [["input", state.labels ? "label" : null, pred ? "prediction" : null, conf ? "confidence" : null]];
    sortedSelection().forEach((i) => rows.push([String(i), state.labels ? quote(className(state.labels[i])) : null,
                                                pred ? quote(className(pred[i])) : null, conf ? String(conf[i]) : null]));
    return rows.map((r) => r.filter((x) => x !== null).join(",")).join("\n") + "\n";
  });
}

function download(name, bytes) {
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  const a = el("a", { href: url, download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---- nearest neighbours in the activation space ------------------------------

const neighbourCount = 12;

// Lists the neighbours of row i of the embedded layer (i < 0: clears).
function embedPick(i) {
  const box = $("embed-neighbours"), l = state.layers[+$("embed-layer").value];
  embedView.picked = i;
  drawEmbedding();   // the picked point ringed
  if (i < 0 || !l) { box.replaceChildren(); return; }
  const input = Math.floor(i / state.perInput);
  box.replaceChildren(el("h2", null, `Nearest to input ${input}`), el("p", { class: "hint" }, "searching…"));
  const q = new URLSearchParams({ layer: l.name, row: i, k: neighbourCount });
  api.json("api/neighbours?" + q).then((r) => {
    if (embedView.picked !== i) return;
    box.replaceChildren(el("h2", null, `Nearest to input ${input}`, thumb(input, 28) || ""),
      el("p", { class: "hint" }, `in ${layerName(l.name)}'s ${r.dim}-dimensional activations (${r.metric}), exact`),
      el("table", { class: "neighbours" }, r.neighbours.map((nb) => {
        const j = Math.floor(nb.row / state.perInput);
        const tr = el("tr", { class: "clickable", "data-row": String(nb.row) }, el("td", null, thumb(j, 28) || ""),
          el("td", null, `input ${j}`), el("td", null, state.labels ? className(state.labels[j]) : ""),
          el("td", null, nb.distance.toPrecision(4)));
        tr.onclick = () => embedPick(nb.row);
        return tr;
      })),
      el("button", { id: "neighbours-select" }, "select these inputs"));
    $("neighbours-select").onclick = () =>
      setSelection([input, ...r.neighbours.map((nb) => Math.floor(nb.row / state.perInput))], `the neighbours of input ${input}`);
  }).catch((e) => {
    if (embedView.picked !== i) return;
    box.replaceChildren(el("h2", null, `Nearest to input ${input}`),
      el("p", { class: "hint" }, api.live ? e.message : "The nearest neighbours in the activation space need nerve serve " +
                                 "(the report holds no activations)."));
  });
}
