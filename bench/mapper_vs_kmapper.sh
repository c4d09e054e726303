#!/bin/sh
# Mapper graph of 100,000 x 128 activation vectors (l2norm lens, 30
# intervals, 30% overlap, DBSCAN with min_samples 5 and nerve's automatic
# eps): nerve against KeplerMapper 2.1 + scikit-learn's DBSCAN (OpenBLAS),
# same lens values, same eps, same thread count, same run. Prints both
# times, the ratio and whether the two graphs are equal.
#   bench/mapper_vs_kmapper.sh KMAPPER_DIR [THREADS] [N]
# KMAPPER_DIR holds the kmapper package of KeplerMapper v2.1.0 (for example
# `git archive v2.1.0 kmapper | tar -x -C DIR` in a clone of
# github.com/scikit-tda/kepler-mapper).
# The vectors: ReLU(x W - 0.3) of a fixed random 784 -> 128 layer over the
# 70,000 Fashion-MNIST images and 30,000 of them shifted by one pixel.
set -eu
cd "$(dirname "$0")/.."
kmapper_dir=$1
threads=${2:-2}
n=${3:-100000}
scripts/install-deps.sh scripts/peer-packages.txt
make --no-print-directory -s build/nerve
mkdir -p bench/data
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
PYTHONPATH=$kmapper_dir /usr/bin/python3 - "$n" <<'PY'
import gzip, json, subprocess, sys, time
import numpy as np
import kmapper
from sklearn.cluster import DBSCAN

n = int(sys.argv[1])
def images(f):
    return np.frombuffer(gzip.open("/usr/share/datasets/fashion-mnist/" + f).read()[16:], np.uint8).reshape(-1, 28, 28)
x = np.concatenate([images("train-images-idx3-ubyte.gz"), images("t10k-images-idx3-ubyte.gz")])
x = np.concatenate([x, np.roll(x[:max(0, n - len(x))], 1, axis=2)])[:n].reshape(n, 784).astype(np.float32) / 255
w = np.random.default_rng(0).standard_normal((784, 128)).astype(np.float32) / 28
acts = np.maximum(x @ w - 0.3, 0).astype(np.float32)
lens = np.linalg.norm(acts.astype(np.float64), axis=1).astype(np.float32)
np.save("bench/data/mapper_acts.npy", acts)
np.save("bench/data/mapper_lens.npy", lens)

t0 = time.perf_counter()
out = subprocess.run(["build/nerve", "mapper", "-q", "--lens", "npy:bench/data/mapper_lens.npy", "-n", "30",
                      "-p", "0.3", "-s", "5", "-f", "kmapper", "-o", "bench/data/mapper_nerve.json",
                      "bench/data/mapper_acts.npy"], check=True, capture_output=True, text=True).stdout
t_nerve = time.perf_counter() - t0
eps = json.loads(out)["eps"]

t0 = time.perf_counter()
graph = kmapper.KeplerMapper(verbose=0).map(lens.astype(np.float64).reshape(-1, 1), acts,
                                            cover=kmapper.Cover(n_cubes=30, perc_overlap=0.3),
                                            clusterer=DBSCAN(eps=eps, min_samples=5))
t_km = time.perf_counter() - t0

ours = json.load(open("bench/data/mapper_nerve.json"))
same_nodes = ours["nodes"] == {k: [int(i) for i in v] for k, v in graph["nodes"].items()}
edges = lambda links: {tuple(sorted((a, b))) for a in links for b in links[a]}
same_edges = edges(ours["links"]) == edges(graph["links"])
print("mapper %d x 128, 30 intervals, 30%% overlap, DBSCAN eps %.4f (nerve's automatic), min_samples 5" % (n, eps))
print("KeplerMapper + scikit-learn %.2f s   nerve %.2f s (whole command: read, lens, eps, graph, write)"
      "   ratio nerve/KeplerMapper %.3f   %d nodes   same graph: %s"
      % (t_km, t_nerve, t_nerve / t_km, len(ours["nodes"]), same_nodes and same_edges))
PY
