// umap_js.js — umap-js (npm) on a float32 .npy, for bench/umap_vs_umapjs.sh:
//   node bench/umap_js.js MODULES IN.npy OUT.npy [NEIGHBORS] [MIN_DIST] [SEED]
// MODULES is the node_modules folder umap-js was installed into (the bench
// installs it under build/, not in the repository). Writes the N x 2
// embedding as float32 .npy and prints {"seconds": ...} (the fit alone,
// reading and writing left out) on stdout.
'use strict';
const fs = require('fs');
const path = require('path');

const [modules, input, output, neighbors = '15', minDist = '0.1', seed = '0'] = process.argv.slice(2);
const { UMAP } = require(path.resolve(modules, 'umap-js'));

// A little-endian float32 C-order 2-D .npy (what nerve and NumPy write).
function readNpy(file) {
  const buf = fs.readFileSync(file);
  const major = buf.readUInt8(6);
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString('latin1', start - headerLen, start);
  if (!/'descr': *'<f4'/.test(header) || /'fortran_order': *True/.test(header))
    throw new Error(file + ': want a float32 C-order .npy, not ' + header.slice(0, 120));
  const [rows, cols] = header.match(/'shape': *\((\d+), *(\d+)\)/).slice(1).map(Number);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + rows * cols * 4));
  const out = new Array(rows);
  for (let i = 0; i < rows; i++) out[i] = Array.from(data.subarray(i * cols, (i + 1) * cols));
  return out;
}

function writeNpy(file, rows) {
  const n = rows.length, d = rows[0].length;
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + n + ', ' + d + '), }';
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head.writeUInt8(1, 6);
  head.writeUInt8(0, 7);
  head.writeUInt16LE(header.length, 8);
  const data = new Float32Array(n * d);
  rows.forEach((r, i) => r.forEach((v, j) => { data[i * d + j] = v; }));
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]));
}

// A seeded generator (mulberry32): umap-js takes any [0, 1) function.
function mulberry32(a) {
  return function () {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const x = readNpy(input);
const t0 = process.hrtime.bigint();
const umap = new UMAP({ nComponents: 2, nNeighbors: Number(neighbors), minDist: Number(minDist), spread: 1,
                        random: mulberry32(Number(seed)) });
const y = umap.fit(x);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
writeNpy(output, y);
console.log(JSON.stringify({ seconds, epochs: umap.getNEpochs() }));
