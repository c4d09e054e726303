// scatter.js — a scatter plot of up to a few million points in WebGL, for
// the embedding view: one point sprite a point, drawn in one call, so that
// 300,000 to 1,000,000 points pan and zoom at frame rate (a 2-D canvas
// fills every point on the CPU for every frame).
//
// The points stay in data coordinates on the GPU; panning and zooming only
// change two uniforms. Each point carries a colour (RGBA bytes) and a flag
// (0 plain, 1 faded, 2 selected, 3 picked): a new selection rewrites one
// byte a point. Selected points are drawn larger and in front (depth),
// faded ones grey, the picked one ringed, so the selection stands out
// without sorting the points.
//
// A cloud of three columns (PCA with -k 3) turns under a drag: the GPU
// applies the rotation, the CPU projects the points again for its searches.
//
// createScatter(canvas) returns {setPoints, setColours, setFlags, fit, draw,
// pan, zoomAt, rotate, toData, nearest, inBox, inPolygon, stats}. No dependency.
"use strict";

const scatterShaders = {
  vertex: `
    attribute vec3 a_pos;
    attribute vec4 a_colour;
    attribute float a_flag;
    uniform vec2 u_centre, u_scale;
    uniform mat3 u_rot;
    uniform vec3 u_origin;
    uniform float u_size;
    varying vec4 v_colour;
    varying float v_ring;
    void main() {
      vec3 p = u_rot * (a_pos - u_origin);   // 3-D: turned about the cloud's centre; 2-D: as it is
      gl_Position = vec4((p.xy - u_centre) * u_scale, a_flag > 2.5 ? -0.9 : a_flag > 1.5 ? -0.5 : 0.5, 1.0);
      gl_PointSize = a_flag > 2.5 ? u_size + 10.0 : a_flag > 1.5 ? u_size + 1.0 : u_size;
      v_colour = a_flag > 0.5 && a_flag < 1.5 ? vec4(0.70, 0.73, 0.77, 0.45) : a_colour;
      v_ring = a_flag > 2.5 ? 1.0 : 0.0;
    }`,
  // A round sprite with a soft edge: discs read better than squares when
  // hundreds of thousands of them overlap.
  fragment: `
    precision mediump float;
    varying vec4 v_colour;
    varying float v_ring;
    void main() {
      vec2 d = gl_PointCoord - vec2(0.5);
      float r = dot(d, d);
      if (r > 0.25) discard;
      if (v_ring > 0.5 && r > 0.12) { gl_FragColor = vec4(0.0, 0.0, 0.0, 1.0); return; }   // the picked point's ring
      gl_FragColor = vec4(v_colour.rgb, v_ring > 0.5 ? 1.0 : v_colour.a * (1.0 - smoothstep(0.2, 0.25, r)));
    }`,
};

function scatterProgram(gl) {
  const compile = (type, text) => {
    const s = gl.createShader(type);
    gl.shaderSource(s, text);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error("WebGL shader: " + gl.getShaderInfoLog(s));
    return s;
  };
  const p = gl.createProgram();
  gl.attachShader(p, compile(gl.VERTEX_SHADER, scatterShaders.vertex));
  gl.attachShader(p, compile(gl.FRAGMENT_SHADER, scatterShaders.fragment));
  gl.linkProgram(p);
  if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error("WebGL program: " + gl.getProgramInfoLog(p));
  return p;
}

// Points bucketed in a cells x cells grid over their bounds (a counting
// sort: start[c] .. start[c + 1] index `order`), for hover lookups.
function scatterGrid(x, y, cells) {
  const n = x.length;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    if (x[i] < x0) x0 = x[i]; if (x[i] > x1) x1 = x[i];
    if (y[i] < y0) y0 = y[i]; if (y[i] > y1) y1 = y[i];
  }
  const w = (x1 - x0) / cells || 1, h = (y1 - y0) / cells || 1;
  const cellOf = (i) => Math.min(cells - 1, Math.floor((x[i] - x0) / w)) * cells + Math.min(cells - 1, Math.floor((y[i] - y0) / h));
  const start = new Uint32Array(cells * cells + 1), order = new Uint32Array(n), cell = new Uint32Array(n);
  for (let i = 0; i < n; i++) { cell[i] = cellOf(i); start[cell[i] + 1]++; }
  for (let c = 0; c < cells * cells; c++) start[c + 1] += start[c];
  const fill = start.slice(0, cells * cells);
  for (let i = 0; i < n; i++) order[fill[cell[i]]++] = i;
  return { x0, y0, w, h, cells, start, order };
}

function createScatter(canvas) {
  // An opaque canvas: blended points leave an alpha below 1 in the buffer, which the
  // page's compositor (premultiplied alpha) would show washed out or not at all.
  const gl = canvas.getContext("webgl", { alpha: false, antialias: false, preserveDrawingBuffer: true });
  if (!gl) throw new Error("this browser has no WebGL: the embedding view needs it");
  const program = scatterProgram(gl);
  const attr = (name) => gl.getAttribLocation(program, name), uni = (name) => gl.getUniformLocation(program, name);
  const buffers = { pos: gl.createBuffer(), colour: gl.createBuffer(), flag: gl.createBuffer() };
  const view = { cx: 0, cy: 0, zoom: 1, base: 1, yaw: 0, pitch: 0 };   // data units per CSS pixel at zoom 1: 1 / base
  // x, y: the points as the screen shows them (in 3-D, projected after the turn), for the CPU's searches.
  let n = 0, x = null, y = null, grid = null, frames = 0, lastDraw = 0, lastStep = 1;
  const solid = { z: null, origin: [0, 0, 0], rot: [1, 0, 0, 0, 1, 0, 0, 0, 1], stale: false, raw: null };

  const turn = () => {   // Rx(pitch) Ry(yaw), column by column
    const cy = Math.cos(view.yaw), sy = Math.sin(view.yaw), cp = Math.cos(view.pitch), sp = Math.sin(view.pitch);
    solid.rot = [cy, sp * sy, -cp * sy, 0, cp, sp, sy, -sp * cy, cp * cy];
  };
  const current = () => { if (solid.stale) s.project(); };
  const upload = (buffer, data) => { gl.bindBuffer(gl.ARRAY_BUFFER, buffer); gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW); };
  const bind = (buffer, name, size, type, normalised, stride) => {
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.enableVertexAttribArray(attr(name));
    gl.vertexAttribPointer(attr(name), size, type, normalised, stride, 0);
  };
  // The canvas's backing store follows its CSS size and the screen's density.
  const resize = () => {
    const dpr = window.devicePixelRatio || 1, w = Math.round(canvas.clientWidth * dpr), h = Math.round(canvas.clientHeight * dpr);
    if (w && h && (canvas.width !== w || canvas.height !== h)) { canvas.width = w; canvas.height = h; }
  };

  const s = {
    // xs, ys (and zs for a 3-D cloud): Float32Arrays of data coordinates.
    setPoints(xs, ys, zs) {
      n = xs.length; x = xs; y = ys;
      const xyz = new Float32Array(3 * n), o = [0, 0, 0];
      for (let i = 0; i < n; i++) { xyz[3 * i] = xs[i]; xyz[3 * i + 1] = ys[i]; xyz[3 * i + 2] = zs ? zs[i] : 0; }
      if (zs) for (let i = 0; i < n; i++) { o[0] += xs[i] / n; o[1] += ys[i] / n; o[2] += zs[i] / n; }
      Object.assign(solid, { z: zs || null, origin: o, raw: zs ? [xs, ys, zs] : null });
      view.yaw = 0; view.pitch = 0;
      upload(buffers.pos, xyz);
      upload(buffers.flag, new Uint8Array(n));
      s.project();
    },
    solid: () => solid.z !== null,
    // Turns a 3-D cloud by (dx, dy) CSS pixels of a drag (about the screen's vertical and horizontal axes).
    rotate(dx, dy) {
      if (!solid.z) return;
      view.yaw += dx * 0.01; view.pitch = Math.max(-1.55, Math.min(1.55, view.pitch + dy * 0.01));
      solid.stale = true;
    },
    // The screen's coordinates of every point after the turn, and the hover
    // grid over them: before a search, not every frame of a drag.
    project() {
      turn();
      if (solid.z) {
        const [xs, ys, zs] = solid.raw, [ox, oy, oz] = solid.origin, r = solid.rot;
        x = new Float32Array(n); y = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          const dx = xs[i] - ox, dy = ys[i] - oy, dz = zs[i] - oz;
          x[i] = r[0] * dx + r[3] * dy + r[6] * dz;
          y[i] = r[1] * dx + r[4] * dy + r[7] * dz;
        }
      }
      solid.stale = false;
      grid = null;   // built by the first hover (0.1 s at 300,000 points), not before the first frame
    },
    setColours(rgba) { upload(buffers.colour, rgba); },    // Uint8Array, 4 a point
    setFlags(flags) { upload(buffers.flag, flags); },      // Uint8Array, 1 a point
    // Frames [x0, x1] x [y0, y1] (the middle of the cloud) with a margin.
    fit(x0, x1, y0, y1) {
      resize();
      view.cx = (x0 + x1) / 2 - solid.origin[0]; view.cy = (y0 + y1) / 2 - solid.origin[1]; view.zoom = 1;
      if (view.yaw || view.pitch) { view.yaw = 0; view.pitch = 0; s.project(); }
      view.base = 0.92 * Math.min(canvas.clientWidth / ((x1 - x0) || 1), canvas.clientHeight / ((y1 - y0) || 1));
    },
    // Draws every point, or, with a budget (while a drag or the wheel moves
    // the view), every k-th one: at most `budget` points, read through the
    // attributes' stride, so a GPU-less browser (software WebGL: 0.3 s for
    // 300,000 points on this loaded machine, 30 ms for 30,000) still follows
    // the mouse. The full picture comes back when the motion stops.
    draw(budget) {
      resize();
      const t0 = performance.now();
      gl.viewport(0, 0, canvas.width, canvas.height);
      gl.clearColor(1, 1, 1, 1);
      gl.clearDepth(1);
      gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
      if (!n) return;
      gl.useProgram(program);
      gl.enable(gl.DEPTH_TEST);
      gl.depthFunc(gl.LEQUAL);
      gl.enable(gl.BLEND);
      gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
      const step = budget && n > budget ? Math.min(21, Math.ceil(n / budget)) : 1;   // WebGL 1: strides <= 255 bytes
      bind(buffers.pos, "a_pos", 3, gl.FLOAT, false, 12 * step);
      bind(buffers.colour, "a_colour", 4, gl.UNSIGNED_BYTE, true, 4 * step);
      bind(buffers.flag, "a_flag", 1, gl.UNSIGNED_BYTE, false, step);
      const k = view.base * view.zoom;   // CSS pixels per data unit
      turn();
      gl.uniform2f(uni("u_centre"), view.cx, view.cy);
      gl.uniformMatrix3fv(uni("u_rot"), false, solid.rot);
      gl.uniform3f(uni("u_origin"), ...solid.origin);
      gl.uniform2f(uni("u_scale"), 2 * k / canvas.clientWidth, 2 * k / canvas.clientHeight);
      // Points grow a little as one zooms in, and shrink where they crowd.
      const crowd = n > 100000 ? 3 : n > 20000 ? 4 : 6;
      gl.uniform1f(uni("u_size"), (window.devicePixelRatio || 1) * Math.min(14, crowd * Math.sqrt(view.zoom)));
      gl.drawArrays(gl.POINTS, 0, Math.ceil(n / step));
      frames++;
      lastStep = step;
      lastDraw = performance.now() - t0;
    },
    // Moves the view by (dx, dy) CSS pixels.
    pan(dx, dy) {
      const k = view.base * view.zoom;
      view.cx -= dx / k; view.cy += dy / k;
    },
    // Zooms by factor about the CSS pixel (px, py), which stays put.
    zoomAt(px, py, factor) {
      const [dx, dy] = s.toData(px, py);
      view.zoom = Math.max(0.2, Math.min(5000, view.zoom * factor));
      const k = view.base * view.zoom;
      view.cx = dx - (px - canvas.clientWidth / 2) / k;
      view.cy = dy + (py - canvas.clientHeight / 2) / k;
    },
    toData(px, py) {
      const k = view.base * view.zoom;
      return [view.cx + (px - canvas.clientWidth / 2) / k, view.cy - (py - canvas.clientHeight / 2) / k];
    },
    // The point nearest CSS pixel (px, py) within r pixels, or -1.
    nearest(px, py, r) {
      current();
      if (!n) return -1;
      if (!grid) grid = scatterGrid(x, y, Math.max(1, Math.min(512, Math.round(Math.sqrt(n / 4)))));
      const [qx, qy] = s.toData(px, py), rd = r / (view.base * view.zoom), g = grid;
      const c0 = Math.max(0, Math.floor((qx - rd - g.x0) / g.w)), c1 = Math.min(g.cells - 1, Math.floor((qx + rd - g.x0) / g.w));
      const r0 = Math.max(0, Math.floor((qy - rd - g.y0) / g.h)), r1 = Math.min(g.cells - 1, Math.floor((qy + rd - g.y0) / g.h));
      let best = -1, bestD = rd * rd;
      for (let a = c0; a <= c1; a++) for (let b = r0; b <= r1; b++) {
        for (let k = g.start[a * g.cells + b]; k < g.start[a * g.cells + b + 1]; k++) {
          const i = g.order[k], d = (x[i] - qx) ** 2 + (y[i] - qy) ** 2;
          if (d <= bestD) { bestD = d; best = i; }
        }
      }
      return best;
    },
    // The points inside a box or a polygon given in CSS pixels.
    inBox(px0, py0, px1, py1) {
      current();
      const [ax, ay] = s.toData(Math.min(px0, px1), Math.max(py0, py1)), [bx, by] = s.toData(Math.max(px0, px1), Math.min(py0, py1));
      const out = [];
      for (let i = 0; i < n; i++) if (x[i] >= ax && x[i] <= bx && y[i] >= ay && y[i] <= by) out.push(i);
      return out;
    },
    inPolygon(pixels) {
      current();
      const poly = pixels.map(([px, py]) => s.toData(px, py)), out = [];
      const xs = poly.map((p) => p[0]), ys = poly.map((p) => p[1]);
      const bx0 = Math.min(...xs), bx1 = Math.max(...xs), by0 = Math.min(...ys), by1 = Math.max(...ys);
      for (let i = 0; i < n; i++) {
        if (x[i] < bx0 || x[i] > bx1 || y[i] < by0 || y[i] > by1) continue;
        let inside = false;   // even-odd rule: count the edges a ray to the right crosses
        for (let a = 0, b = poly.length - 1; a < poly.length; b = a++)
          if ((poly[a][1] > y[i]) !== (poly[b][1] > y[i]) &&
              x[i] < poly[b][0] + (poly[a][0] - poly[b][0]) * (y[i] - poly[b][1]) / (poly[a][1] - poly[b][1])) inside = !inside;
        if (inside) out.push(i);
      }
      return out;
    },
    view,
    stats: () => ({ points: n, frames, lastDraw, lastStep }),
    // Milliseconds of a draw with the GPU's work waited for (a pixel read back): tests.
    syncedDraw(budget) {
      const t0 = performance.now();
      s.draw(budget);
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
      return performance.now() - t0;
    },
    // Pixels that are not the background, read back from the GPU (tests).
    paintedPixels() {
      const w = canvas.width, h = canvas.height, px = new Uint8Array(4 * w * h);
      gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
      let painted = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i] < 250 || px[i + 1] < 250 || px[i + 2] < 250) painted++;
      return painted;
    },
  };
  return s;
}
