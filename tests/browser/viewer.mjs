// The viewer in a real browser (Debian's chromium driven by playwright-core),
// against a running `nerve serve` (an http:// URL) or a report opened from
// disk (a file:// URL): node viewer.mjs URL ARTIFACT_DIR.
// Prints one line per check and exits non-zero at the first failure; the
// screenshots of every view go to ARTIFACT_DIR.
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { readFileSync } from "node:fs";
const require = createRequire(resolve(process.env.NERVE_NODE_MODULES) + "/");
const { chromium } = require("playwright-core");

const [url, artifacts] = process.argv.slice(2);
const offline = url.startsWith("file:");
// NERVE_HOSTILE=1: the study's class and layer names hold HTML and script
// (test_browser.c puts them there); none may run or become an element.
const hostile = process.env.NERVE_HOSTILE === "1";
const errors = [], dialogs = [];
let failed = false;

function check(ok, what) {
  console.log(`${ok ? "ok" : "FAIL"} ${what}`);
  if (!ok) failed = true;
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
                                        args: ["--no-sandbox", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"] });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
  // The CSP refusing an injected handler shows as a console error: expected
  // only if something got injected, which the checks below catch anyway.
  const shot = (name) => page.screenshot({ path: `${artifacts}/${name}.png` });
  await page.goto(url);
  const study = offline ? await page.evaluate(() => { const f = window.NERVE_FILES; return f && f["api/study"].json; })
                        : await (await page.request.get(url + "api/study")).json();

  // Findings (issue 21): the study's first page, an entry of every kind found.
  const found = study.findings ? study.findings.findings : [];
  if (study.findings) {
    await page.waitForSelector("#view-findings.active .finding", { timeout: 20000 });
    for (const kind of new Set(found.map((f) => f.kind))) {
      const shownKind = await page.$$eval(`#findings-list .finding[data-kind=${kind}]`, (e) => e.length);
      check(shownKind === found.filter((f) => f.kind === kind).length, `the findings page shows the ${shownKind} ${kind} findings`);
    }
    await shot("findings");
    await page.click("button[data-view=overview]");
  }

  // Overview: the layer table and a heatmap.
  await page.waitForSelector("#heatmap svg rect", { timeout: 20000 });
  const rows = await page.$$eval("#layer-table tr", (r) => r.length - 1);
  check(rows === study.manifest.layers.length, `overview lists the ${study.manifest.layers.length} layers`);
  // Layers by their short names, the full tap name on hover (issue 17).
  const display = new Map(study.manifest.layers.map((l) => [l.name, l.display]));
  check(study.manifest.layers.every((l) => typeof l.display === "string" && l.display.length > 0),
        "the study gives every layer a display name");
  const cell = await page.$eval("#layer-table tr:nth-child(2) td", (td) => [td.textContent, td.title]);
  const l0 = study.manifest.layers[0];
  check(cell[0] === l0.display && cell[1] === l0.name, `the layer table shows ${l0.display}, ${l0.name} on hover`);
  const heatTitles = await page.$$eval("#heatmap svg text title", (t) => t.map((x) => x.textContent));
  check(heatTitles.length > 0 && heatTitles.every((t) => display.has(t)), "the heatmap's labels carry the full names");
  const cells = await page.$$eval("#heatmap svg rect", (r) => r.length);
  const shown = study.mean_sim || study.sim;   // position-averaged vectors first
  check(cells === shown.layers.length ** 2, "the heatmap has a cell per layer pair");
  await page.hover("#heatmap svg rect >> nth=1");
  check(await page.isVisible("#tooltip"), "hovering a heatmap cell shows its value");
  await shot("overview");
  if (study.studies) {   // nerve compare --studies: the stacked matrix of every study's layers
    const across = await page.$$eval("#heatmap-metric option", (o) =>
      o.filter((x) => x.textContent.includes("across studies")).map((x) => x.value));
    check(across.length > 0, "the heatmaps offer the matrices across studies");
    await page.selectOption("#heatmap-metric", across[0]);
    const total = study.studies.studies.reduce((n, s) => n + s.layers.length, 0);
    await page.waitForFunction((n) => document.querySelectorAll("#heatmap svg rect").length === n, total * total);
    check(true, `the matrix across studies has a cell per pair of their ${total} layers`);
    await shot("overview-studies");
  }

  // The Mapper graph: as many nodes as the API's graph.
  await page.click("button[data-view=mapper]");
  await page.waitForSelector("#mapper-graph circle");
  const first = study.mapper.layers[0];
  const drawn = await page.$$eval("#mapper-graph circle", (c) => c.length);
  check(drawn === first.nodes, `the graph of ${first.name} shows its ${first.nodes} nodes`);
  await page.waitForTimeout(800);
  await page.hover("#mapper-graph circle >> nth=0", { force: true });
  await page.waitForSelector("#tooltip .thumb");
  check((await page.$$("#tooltip .thumb")).length > 0, "hovering a node shows a tooltip with its images");
  await shot("mapper-hover");
  await page.click("#mapper-graph circle >> nth=0", { force: true });
  await page.waitForSelector("#node-panel:not(.hidden) .thumb");
  check(true, "clicking a node opens its panel with member images");
  // The featvis stage's images: the node's in its panel, all as glyphs.
  const fvLayer = study.featvis && Object.values(study.featvis.layers || {}).find((l) => l.name === first.name && l.nodes);
  if (fvLayer) {
    check(fvLayer.nodes.length === first.nodes, `the study has a feature visualisation per node of ${first.name}`);
    await page.waitForSelector("#node-panel:not(.hidden) .featvis-node img.featvis");
    check(await page.$eval("#node-panel .featvis-node img.featvis", (i) => i.complete && i.naturalWidth > 0),
          "the node panel shows the node's feature visualisation");
    await page.check("#mapper-glyphs");
    await page.waitForSelector("#mapper-graph foreignObject img.featvis");
    const glyphs = await page.$$eval("#mapper-graph foreignObject img.featvis", (i) => i.length);
    check(glyphs === first.nodes, `images on nodes draws the ${glyphs} nodes' feature visualisations`);
    await shot("mapper-featvis");
    await page.uncheck("#mapper-glyphs");
  }
  await shot("mapper-panel");
  const second = study.mapper.layers[1];
  await page.selectOption("#mapper-layer", { label: display.get(second.name) });
  await page.waitForFunction((n) => document.querySelectorAll("#mapper-graph circle").length === n, second.nodes);
  check(true, `switching to ${second.name} draws its ${second.nodes} nodes`);

  // Live recompute through the API; a report says it needs the server.
  await page.fill("#mapper-intervals", "8");
  await page.click("#mapper-recompute");
  const recomputed = offline ? /needs nerve serve/ : /computed in/;
  await page.waitForFunction((re) => new RegExp(re).test(document.querySelector("#mapper-status").textContent),
                             recomputed.source);
  check(true, offline ? "the report says recomputing needs the server" : "the sliders recompute the graph through the API");

  // Persistence, embedding, activation maps, training dynamics render.
  await page.click("button[data-view=persistence]");
  await page.waitForSelector("#ph-diagram circle", { state: "attached" });
  await page.waitForSelector("#ph-barcode line", { state: "attached" });
  check(true, "the persistence view draws a barcode and a diagram");
  await shot("persistence");
  await page.click("button[data-view=embedding]");
  await page.waitForFunction(() => embedView.drawnAt != null && embedView.n > 0);
  const painted = await page.evaluate(() => embedView.scatter.paintedPixels());
  check(painted > 0, `the embedding draws its points in WebGL (${painted} pixels)`);
  // A click on a point lists its nearest inputs in the activation space (the server's).
  const box = await page.locator("#embed-canvas").boundingBox();
  const at = await page.evaluate(() => {
    const c = $("embed-canvas"), w = c.clientWidth, h = c.clientHeight;
    for (let r = 0; r < 400; r += 4) for (let a = 0; a < 6.3; a += 0.5) {
      const x = w / 2 + r * Math.cos(a), y = h / 2 + r * Math.sin(a), i = embedView.scatter.nearest(x, y, 6);
      if (i >= 0) return [x, y, i];
    }
    return null;
  });
  await page.mouse.click(box.x + at[0], box.y + at[1]);
  if (offline) {
    await page.waitForFunction(() => /need nerve serve/.test($("embed-neighbours").textContent));
    check(true, "the report says the nearest neighbours need the server");
  } else {
    await page.waitForSelector("#embed-neighbours table.neighbours tr");
    const rows = await page.$$eval("#embed-neighbours table.neighbours tr", (r) => r.map((x) => +x.dataset.row));
    const layerName = await page.evaluate(() => state.layers[+$("embed-layer").value].name);
    const want = await (await page.request.get(url + `api/neighbours?layer=${encodeURIComponent(layerName)}&row=${at[2]}&k=12`)).json();
    check(rows.length === 12 && rows.join() === want.neighbours.map((nb) => nb.row).join(),
          `clicking point ${at[2]} lists its 12 nearest inputs in ${layerName}`);
  }
  await shot("embedding-neighbours");
  // The same rectangle as a lasso and as a box (two code paths) selects the same inputs.
  const rect = [[0.3, 0.3], [0.7, 0.3], [0.7, 0.7], [0.3, 0.7], [0.3, 0.31]].map(([fx, fy]) => [box.x + fx * box.width, box.y + fy * box.height]);
  const drag = async (points) => {
    await page.mouse.move(...points[0]);
    await page.mouse.down();
    for (const p of points.slice(1)) await page.mouse.move(...p, { steps: 4 });
    await page.mouse.up();
    return page.evaluate(() => Array.from(state.selected).sort((a, b) => a - b).join());
  };
  await page.click("#embed-modes button[data-mode=lasso]");
  const lassoed = await drag(rect);
  await page.click("#embed-modes button[data-mode=box]");
  const boxed = await drag([rect[0], rect[2]]);
  check(boxed.length > 0 && lassoed === boxed, `a lasso and a box over the same rectangle select the same ${boxed.split(",").length} inputs`);
  // Every method the study embedded this layer with: a switch (the run's t-SNE, nerve embed's PCA).
  const methods = await page.$$eval("#embed-method option", (o) => o.map((x) => x.value));
  if (study.embeds && Object.keys(study.embeds).length > 1) {
    await page.selectOption("#embed-method", "pca");
    await page.waitForFunction(() => /PCA/.test($("embed-status").textContent) && embedView.n > 0);
    check(methods.join() === Object.keys(study.embeds).join(), `the embedding switches between ${methods.join(", ")}`);
    if (await page.isVisible("#embed-rotate")) {   // a 3-D PCA turns; the searches follow the turned projection
      const before = await page.evaluate(() => embedView.scatter.paintedPixels());
      await page.click("#embed-rotate");
      await drag([[box.x + 300, box.y + 300], [box.x + 420, box.y + 360]]);
      const turned = await page.evaluate(() => [embedView.scatter.view.yaw, embedView.scatter.view.pitch]);
      await page.click("#embed-modes button[data-mode=lasso]");
      const lassoed3 = await drag(rect);
      await page.click("#embed-modes button[data-mode=box]");
      const boxed3 = await drag([rect[0], rect[2]]);
      check(turned[0] > 0.5 && turned[1] > 0.2 && boxed3.length > 0 && lassoed3 === boxed3,
            `a 3-D PCA turns (yaw ${turned[0].toFixed(2)}, pitch ${turned[1].toFixed(2)}; ${before} painted pixels before); ` +
            `lasso and box still agree on ${boxed3.split(",").length} inputs`);
    }
    await shot("embedding-pca");
  }
  // A box over the whole canvas selects every input; the Mapper view marks nodes.
  await page.mouse.move(box.x + 2, box.y + 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width - 2, box.y + box.height - 2, { steps: 5 });
  await page.mouse.up();
  const selected = await page.textContent("#selection-info");
  check(/\d+ inputs selected/.test(selected), `a box in the embedding selects inputs (${selected})`);
  await shot("embedding");
  // The selection exported: its input indices as int64 .npy, and CSV with labels, predictions, confidences.
  const ids = await page.evaluate(() => Array.from(state.selected).sort((a, b) => a - b));
  const [npy] = await Promise.all([page.waitForEvent("download"), page.click("#export-npy")]);
  const bytes = readFileSync(await npy.path()), headerLen = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLen).toString("latin1");
  const body = bytes.subarray(10 + headerLen), saved = [];
  for (let k = 0; k + 8 <= body.length; k += 8) saved.push(Number(body.readBigInt64LE(k)));
  check(header.includes("'descr': '<i8'") && header.includes(`(${ids.length},)`) && saved.join() === ids.join(),
        `the selection exports as .npy: ${saved.length} input indices`);
  const [csv] = await Promise.all([page.waitForEvent("download"), page.click("#export-csv")]);
  const lines = readFileSync(await csv.path(), "utf8").trim().split("\n");
  const firstLabel = await page.evaluate((i) => className(state.labels[i]), ids[0]);
  const field = /[",\n]/.test(firstLabel) ? '"' + firstLabel.replace(/"/g, '""') + '"' : firstLabel;   // RFC 4180
  check(lines[0] === "input,label,prediction,confidence" && lines.length === ids.length + 1 &&
        lines[1].startsWith(`${ids[0]},${field},`),
        `the selection exports as CSV: ${lines.length - 1} rows (${lines[0]})`);
  await page.click("button[data-view=mapper]");
  const marked = await page.$$eval("#mapper-graph circle.marked", (c) => c.length);
  check(marked > 0, `the selection marks ${marked} Mapper nodes`);
  await page.click("button[data-view=activations]");
  await page.waitForSelector("#act-maps canvas");
  check(true, "the activation maps of an input render");
  if (study.featvis && Object.values(study.featvis.layers || {}).some((l) => l.channels)) {
    await page.waitForSelector("#act-featvis img.featvis");
    check(true, "the feature visualisation gallery shows beside the activation maps");
  }
  await shot("activations");
  await page.click("button[data-view=training]");
  await page.waitForSelector("#training-maps svg rect");
  check(true, "the training-dynamics heatmaps render");
  if (study.dynamics && study.dynamics.classes) {
    await page.waitForSelector("#training-maps .class-maps svg rect");
    const maps = await page.$$eval("#training-maps .class-maps svg", (s) => s.length);
    check(maps === study.manifest.inputs.classes.length, `a class-sensitivity heatmap for each of the ${maps} classes`);
  }
  await shot("training");
  await page.click("button[data-view=across]");
  await page.waitForSelector("#across-graphs circle");
  check(true, "three layers side by side render");
  await shot("across");
  if (hostile) {
    await page.click("button[data-view=mapper]");
    await page.selectOption("#mapper-colour", "dominant");
    // the viewer's own images (feature visualisations, class "featvis") come from study files, never from a name
    const injected = await page.evaluate(() =>
      document.querySelectorAll("img:not(.featvis), [onerror], [onload], main script, header script").length);
    check(injected === 0, `no element came from a name (${injected} found)`);
    const text = await page.evaluate(() => document.body.innerText);
    check(text.includes("<img src=x onerror=alert(1)>"), "a class named <img src=x onerror=alert(1)> shows as text");
    await page.click("button[data-view=overview]");
    const table = await page.textContent("#layer-table");
    check(table.includes('"><svg onload=alert(3)>'), "a layer named \"><svg onload=alert(3)> shows as text");
    await shot("hostile-overview");
    await page.click("button[data-view=mapper]");
    await shot("hostile-mapper");
    check(dialogs.length === 0, "no dialog opened" + (dialogs.length ? ": " + dialogs.join(" | ") : ""));
  }
  if (study.findings) {
    // A node's link opens the Mapper view on that layer with the node's panel.
    const at = found.findIndex((f) => Array.isArray(f.nodes));
    if (at >= 0) {
      const f = found[at], tap = study.manifest.layers.find((l) => l.display === f.layer || l.name === f.layer).name;
      const file = study.mapper.layers.find((l) => l.name === tap).graph;
      const graph = offline ? await page.evaluate((k) => window.NERVE_FILES[k].json, "study/" + file)
                            : await (await page.request.get(url + "study/" + file)).json();
      await page.click("button[data-view=findings]");
      const kindIndex = found.filter((g, i) => g.kind === f.kind && i < at).length;
      await page.click(`#findings-list .finding[data-kind=${f.kind}] >> nth=${kindIndex} >> button[data-link=mapper]`);
      await page.waitForSelector("#view-mapper.active #node-panel:not(.hidden) h2");
      const heading = await page.textContent("#node-panel h2");
      const layerShown = await page.$eval("#mapper-layer", (s) => s.options[s.selectedIndex].textContent);
      check(heading === String(graph.nodes.id[f.nodes[0]]) && layerShown === display.get(tap),
            `a ${f.kind} finding opens node ${heading} of ${layerShown} (${graph.nodes.id[f.nodes[0]]} of ${f.layer})`);
      await shot("findings-node");
    }
    // The outliers' link selects them and shows them in an embedding.
    const outliers = found.find((f) => f.kind === "outliers");
    if (outliers) {
      await page.click("button[data-view=findings]");
      await page.click("#findings-list .finding[data-kind=outliers] button[data-link=embedding]");
      await page.waitForSelector("#view-embedding.active");
      const info = await page.textContent("#selection-info");
      check(info.startsWith(`${outliers.inputs.length} inputs selected`), `the outliers' link selects them in the embedding (${info})`);
      await shot("findings-outliers");
    }
  }
  // A link with the Mapper view's state: its layer, colouring and parameters (recomputed when served);
  // keys the viewer does not know are ignored.
  {
    const linked = study.mapper.layers[1].name, base = url.split("#")[0];
    const again = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    again.on("console", (m) => { if (m.type() === "error") errors.push("(link) " + m.text()); });
    again.on("pageerror", (e) => errors.push("(link) " + String(e)));
    await again.goto(`${base}#v=mapper&ml=${encodeURIComponent(linked)}&mc=purity&mi=8&zz=%3Cb%3E&sel=0-4.x.9`);
    await again.waitForSelector("#view-mapper.active #mapper-graph circle");
    if (!offline) await again.waitForFunction(() => /computed in/.test($("mapper-status").textContent));
    const got = await again.evaluate(() => [state.layers[+$("mapper-layer").value].name, $("mapper-colour").value,
                                           $("mapper-intervals").value, state.selected.size]);
    // (a report has only the stored graphs: its sliders show theirs)
    const linkedSel = [0, 1, 2, 3, 4, 9].filter((i) => i < study.manifest.inputs.count).length;   // the inputs it has
    check(got[0] === linked && got[1] === "purity" && (offline || got[2] === "8") && got[3] === linkedSel,
          `a link reopens the Mapper view of ${got[0]}, coloured by ${got[1]}, ${got[2]} intervals` +
          (offline ? "" : " (recomputed)") + `, ${got[3]} inputs selected`);
    await again.close();
  }
  check(errors.length === 0, "no console errors" + (errors.length ? ": " + errors.join(" | ") : ""));
} catch (e) {
  check(false, "the viewer: " + e.message.split("\n")[0]);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
