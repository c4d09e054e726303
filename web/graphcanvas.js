// graphcanvas.js — a Mapper graph of many nodes drawn on a canvas: the
// same force layout and the same handle as app.js's drawGraph (colour, fade,
// mark, pick, minJaccard, glyphs, loops), but one canvas repainted per
// animation frame instead of an SVG element per node and edge, whose
// attribute updates made a 1,000-node layout run at 5 frames a second.
// app.js's drawGraph hands graphs above graphCanvasNodes nodes here.
// Loaded before app.js; it uses app.js's helpers only when called.
"use strict";

const graphCanvasNodes = 400;

function drawGraphCanvas(container, g, opts) {
  container.replaceChildren();
  const width = container.clientWidth || 800, height = container.clientHeight || 600, dpr = window.devicePixelRatio || 1;
  const canvas = el("canvas", { class: "graph-canvas", width: Math.round(width * dpr), height: Math.round(height * dpr) });
  Object.assign(canvas.style, { width: width + "px", height: height + "px" });
  container.appendChild(canvas);
  container.dataset.nodes = String(g.nodes.id.length);
  const ctx = canvas.getContext("2d"), n = g.nodes.id.length;
  const nodes = d3.range(n).map((i) => ({ i, size: g.nodes.size[i] }));
  const links = g.edges.source.map((s, k) => ({ source: s, target: g.edges.target[k], jaccard: g.edges.jaccard[k], k }));
  const maxSize = d3.max(nodes, (d) => d.size) || 1;
  const radius = d3.scaleSqrt().domain([1, maxSize]).range([2, opts.small ? 8 : 12]);
  const look = { fill: new Array(n).fill("#999"), faded: new Uint8Array(n), marked: new Uint8Array(n), branch: new Uint8Array(n),
                 picked: -1, minJaccard: 0, loops: new Set() };
  let transform = d3.zoomIdentity, frame = 0;

  const draw = () => {
    frame = 0;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.translate(transform.x, transform.y);
    ctx.scale(transform.k, transform.k);
    for (const l of links) {
      if (l.jaccard < look.minJaccard) continue;
      const loop = look.loops.has(Math.min(l.source.i, l.target.i) + ":" + Math.max(l.source.i, l.target.i));
      ctx.strokeStyle = loop ? "#d62728" : "#9aa5b1";
      ctx.lineWidth = (loop ? 3 : 1 + 4 * l.jaccard) / Math.sqrt(transform.k);
      ctx.beginPath(); ctx.moveTo(l.source.x, l.source.y); ctx.lineTo(l.target.x, l.target.y); ctx.stroke();
    }
    for (const d of nodes) {
      ctx.globalAlpha = look.faded[d.i] ? 0.15 : 1;
      ctx.beginPath(); ctx.arc(d.x, d.y, radius(d.size), 0, 2 * Math.PI);
      ctx.fillStyle = look.fill[d.i]; ctx.fill();
      const ring = d.i === look.picked ? "#000" : look.marked[d.i] ? "#d62728" : look.branch[d.i] ? "#ff7f0e" : "#fff";
      ctx.strokeStyle = ring; ctx.lineWidth = ring === "#fff" ? 1 : 3; ctx.stroke();
    }
    ctx.globalAlpha = 1;
  };
  const redraw = () => { if (!frame) frame = requestAnimationFrame(draw); };

  const sim = d3.forceSimulation(nodes)
    .force("link", d3.forceLink(links).distance(20).strength(0.6))
    .force("charge", d3.forceManyBody().strength(-25).theta(1.2))
    .force("x", d3.forceX(width / 2).strength(0.04)).force("y", d3.forceY(height / 2).strength(0.04))
    .force("collide", d3.forceCollide((d) => radius(d.size) + 1));
  const zoom = d3.zoom().scaleExtent([0.1, 12]).on("zoom", (e) => { transform = e.transform; redraw(); });
  d3.select(canvas).call(zoom);
  // Once the layout settles, a graph larger than the frame is framed whole.
  const settle = () => {
    const [x0, x1] = d3.extent(nodes, (d) => d.x), [y0, y1] = d3.extent(nodes, (d) => d.y);
    const k = Math.min(1, 0.95 * Math.min(width / (x1 - x0 + 24), height / (y1 - y0 + 24)));
    if (k < 1 && transform === d3.zoomIdentity)
      d3.select(canvas).call(zoom.transform, d3.zoomIdentity.translate(width / 2, height / 2).scale(k)
        .translate(-(x0 + x1) / 2, -(y0 + y1) / 2));
  };
  // One layout step and one paint an animation frame, timed: the work a
  // frame costs, whatever else the machine is doing (tests read it).
  const work = [];
  sim.stop();
  const step = () => {
    if (!canvas.isConnected) return;   // another graph replaced this one
    if (sim.alpha() < sim.alphaMin()) { settle(); return; }
    const t0 = performance.now();
    sim.tick();
    draw();
    work.push(performance.now() - t0);
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);

  // The node under the pointer (the last drawn wins, as on screen), or -1.
  const nodeAt = (ev) => {
    const r = canvas.getBoundingClientRect(), [x, y] = transform.invert([ev.clientX - r.left, ev.clientY - r.top]);
    for (let k = n - 1; k >= 0; k--) {
      const d = nodes[k], rr = radius(d.size) + 2 / transform.k;
      if ((d.x - x) ** 2 + (d.y - y) ** 2 <= rr * rr) return d.i;
    }
    return -1;
  };
  canvas.addEventListener("mousemove", (ev) => { const v = nodeAt(ev); tooltip(v < 0 ? null : nodeTooltip(g, v), ev); });
  canvas.addEventListener("mouseleave", () => tooltip(null));
  canvas.addEventListener("click", (ev) => { const v = nodeAt(ev); if (v >= 0 && opts.onClick) opts.onClick(v); });

  const each = (array, fn) => { for (let v = 0; v < n; v++) array[v] = fn(v) ? 1 : 0; redraw(); };
  return {
    g, canvas, nodes,
    colour(fn) { for (let v = 0; v < n; v++) look.fill[v] = fn(v); redraw(); },
    fade(keep) { each(look.faded, (v) => !keep(v)); },
    mark(marked) { each(look.marked, marked); },
    pick(v) { look.picked = v; redraw(); },
    minJaccard(t) { look.minJaccard = t; redraw(); },
    glyphs() {},   // images on 400+ nodes would hide the graph: the node panel shows them
    loops(on) {
      look.loops = new Set();
      const degree = new Array(n).fill(0);
      g.edges.source.forEach((s, k) => { degree[s]++; degree[g.edges.target[k]]++; });
      if (on) (g.figures.cycle_basis || []).forEach((cyc) => cyc.forEach((v, k) => {
        const w = cyc[(k + 1) % cyc.length];
        look.loops.add(Math.min(v, w) + ":" + Math.max(v, w));
      }));
      each(look.branch, (v) => on && degree[v] >= 3);
    },
    markedCount: () => look.marked.reduce((a, b) => a + b, 0),
    work: () => work.slice(),   // milliseconds of layout and paint, frame by frame
  };
}
