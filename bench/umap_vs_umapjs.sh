#!/bin/sh
# UMAP of 10,000 x 128 activation vectors: nerve against umap-js (npm, the
# JavaScript port of umap-learn; umap-learn itself is not in Debian), same
# run, 15 neighbours, min_dist 0.1, each side with its own defaults
# otherwise (umap-js: random start, 200 epochs above 7,500 points; nerve:
# umap-learn's spectral start, 500 epochs up to 10,000). Both embeddings
# are scored the same way by scikit-learn: trustworthiness (k = 15) and the
# share of each point's 15 nearest neighbours kept. Then nerve on all
# 70,000 Fashion-MNIST images (784-d), and umap-js on them too when
# UMAPJS_70K=1 (it takes many minutes and gigabytes).
#   bench/umap_vs_umapjs.sh [THREADS]      (NERVE=path/to/nerve: that binary, not build/nerve)
# The vectors are bench/tsne_vs_sklearn.sh's: ReLU(x W - 0.3) of a fixed
# random 784 -> 128 layer over the first 10,000 Fashion-MNIST training
# images. umap-js is installed into build/umapjs (not the repository).
set -eu
cd "$(dirname "$0")/.."
threads=${1:-2}
list=$(mktemp)
trap 'rm -f "$list"' EXIT
printf 'python3-numpy\npython3-sklearn\ndataset-fashion-mnist\n' > "$list"
scripts/install-deps.sh "$list"
command -v node >/dev/null && command -v npm >/dev/null || { echo "nerve: the bench needs node and npm" >&2; exit 1; }
[ -d build/umapjs/node_modules/umap-js ] || npm install --silent --prefix build/umapjs umap-js@1.4.0
nerve=${NERVE:-build/nerve}
[ -n "${NERVE:-}" ] || make --no-print-directory -s build/nerve
export NERVE_BIN="$nerve"
mkdir -p bench/data
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
/usr/bin/python3 - "$threads" <<'PY'
import gzip, json, os, subprocess, sys, time
import numpy as np
from sklearn.manifold import trustworthiness
from sklearn.neighbors import NearestNeighbors

threads = int(sys.argv[1])
def images(f):
    return np.frombuffer(gzip.open("/usr/share/datasets/fashion-mnist/" + f).read()[16:], np.uint8).reshape(-1, 784)
if not os.path.exists("bench/data/tsne_acts.npy") or not os.path.exists("bench/data/tsne_fm70k.npy"):
    train = images("train-images-idx3-ubyte.gz").astype(np.float32) / 255
    w = np.random.default_rng(0).standard_normal((784, 128)).astype(np.float32) / 28
    np.save("bench/data/tsne_acts.npy", np.maximum(train[:10000] @ w - 0.3, 0).astype(np.float32))
    np.save("bench/data/tsne_fm70k.npy",
            np.concatenate([train, images("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255]))
x = np.load("bench/data/tsne_acts.npy")

def kept(x, y, k=15):
    a = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x, return_distance=False)[:, 1:]
    b = NearestNeighbors(n_neighbors=k + 1).fit(y).kneighbors(y, return_distance=False)[:, 1:]
    return float(np.mean([len(set(a[i]) & set(b[i])) / k for i in range(len(x))]))

def umap_js(src, dst):
    t0 = time.perf_counter()
    out = subprocess.run(["node", "--max-old-space-size=12000", "bench/umap_js.js", "build/umapjs/node_modules",
                          src, dst, "15", "0.1", "0"], check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - t0, json.loads(out)

def nerve(src, dst):
    t0 = time.perf_counter()
    out = subprocess.run([os.environ["NERVE_BIN"], "embed", "-q", "--method", "umap", "--neighbors", "15", "--min-dist", "0.1",
                          "--metric", "euclidean", "-o", dst, src], check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - t0, json.loads(out)

print("load average before: %.2f %.2f %.2f (this machine's cores: %d, threads used: %d)"
      % (*os.getloadavg(), os.cpu_count(), threads))
t_js, js = umap_js("bench/data/tsne_acts.npy", "bench/data/umap_js.npy")
y_js = np.load("bench/data/umap_js.npy")
t_nv, nv = nerve("bench/data/tsne_acts.npy", "bench/data/umap_nerve.npy")
y_nv = np.load("bench/data/umap_nerve.npy")
tr_js, tr_nv = trustworthiness(x, y_js, n_neighbors=15), trustworthiness(x, y_nv, n_neighbors=15)
kp_js, kp_nv = kept(x, y_js), kept(x, y_nv)
print("UMAP 10,000 x 128: umap-js %.2f s (fit %.2f s, %d epochs), trustworthiness %.4f, 15-NN kept %.3f"
      % (t_js, js["seconds"], js["epochs"], tr_js, kp_js))
print("  nerve     %.2f s (%d epochs, %s neighbours, %s start), trustworthiness %.4f (difference %+.4f), "
      "15-NN kept %.3f (difference %+.3f)" % (t_nv, nv["epochs"], nv["neighbor_search"], nv["init"], tr_nv,
                                              tr_nv - tr_js, kp_nv, kp_nv - kp_js))
print("  time ratio nerve / umap-js: %.3f; acceptance (trustworthiness >= umap-js's - 0.01): %s"
      % (t_nv / t_js, "met" if tr_nv >= tr_js - 0.01 else "NOT met"))
t70, nv70 = nerve("bench/data/tsne_fm70k.npy", "bench/data/umap_fm70k.npy")
print("UMAP of all 70,000 Fashion-MNIST images (784-d): nerve %.1f s (goal: under 60 s), %d epochs, %d components"
      % (t70, nv70["epochs"], nv70["components"]))
if os.environ.get("UMAPJS_70K") == "1":
    t70js, js70 = umap_js("bench/data/tsne_fm70k.npy", "bench/data/umap_js_fm70k.npy")
    print("  umap-js %.1f s (fit %.1f s, %d epochs); ratio nerve / umap-js %.3f"
          % (t70js, js70["seconds"], js70["epochs"], t70 / t70js))
print("load average after: %.2f %.2f %.2f" % os.getloadavg())
PY
