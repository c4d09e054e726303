#!/bin/sh
# t-SNE of 10,000 x 128 activation vectors: nerve (FFT interpolation and
# Barnes-Hut) against scikit-learn's Barnes-Hut TSNE (perplexity 30, PCA
# init, its defaults otherwise), same thread count, same run. Both
# embeddings are scored the same way: KL(P || Q) with scikit-learn's P and
# the exact Q, and the share of each point's 10 nearest neighbours kept.
# Then nerve alone on all 70,000 Fashion-MNIST images (784-d).
#   bench/tsne_vs_sklearn.sh [THREADS]
# The vectors: ReLU(x W - 0.3) of a fixed random 784 -> 128 layer over the
# first 10,000 Fashion-MNIST training images.
set -eu
cd "$(dirname "$0")/.."
threads=${1:-2}
scripts/install-deps.sh scripts/peer-packages.txt
make --no-print-directory -s build/nerve
mkdir -p bench/data
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
/usr/bin/python3 - "$threads" <<'PY'
import gzip, json, subprocess, sys, time
import numpy as np
from sklearn.manifold import TSNE
from sklearn.manifold._t_sne import _joint_probabilities_nn
from sklearn.neighbors import NearestNeighbors

threads = int(sys.argv[1])
def images(f):
    return np.frombuffer(gzip.open("/usr/share/datasets/fashion-mnist/" + f).read()[16:], np.uint8).reshape(-1, 784)
train = images("train-images-idx3-ubyte.gz").astype(np.float32) / 255
w = np.random.default_rng(0).standard_normal((784, 128)).astype(np.float32) / 28
x = np.maximum(train[:10000] @ w - 0.3, 0).astype(np.float32)
np.save("bench/data/tsne_acts.npy", x)
np.save("bench/data/tsne_fm70k.npy", np.concatenate([train, images("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255]))

def kl_exact(P, y):
    y = y.astype(np.float64)
    z = 0.0
    for s in range(0, len(y), 2000):
        d2 = ((y[s:s + 2000, None, :] - y[None, :, :]) ** 2).sum(-1)
        z += (1 / (1 + d2)).sum() - min(2000, len(y) - s)
    P = P.tocoo()
    d2 = ((y[P.row] - y[P.col]) ** 2).sum(1)
    q = 1 / (1 + d2) / z
    return float((P.data * np.log(P.data / q)).sum())

def kept(x, y, k=10):
    a = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x, return_distance=False)[:, 1:]
    b = NearestNeighbors(n_neighbors=k + 1).fit(y).kneighbors(y, return_distance=False)[:, 1:]
    return float(np.mean([len(set(a[i]) & set(b[i])) / k for i in range(len(x))]))

d = NearestNeighbors(n_neighbors=91).fit(x).kneighbors_graph(mode="distance")
d.data **= 2
P = _joint_probabilities_nn(d, 30, 0)

t0 = time.perf_counter()
y_sk = TSNE(perplexity=30, init="pca", learning_rate="auto", random_state=0, n_jobs=threads).fit_transform(x)
t_sk = time.perf_counter() - t0
kl_sk, kept_sk = kl_exact(P, y_sk), kept(x, y_sk)
print("t-SNE 10,000 x 128: scikit-learn %.2f s, KL %.4f, 10-NN kept %.3f" % (t_sk, kl_sk, kept_sk))
for algo in ["fft", "barnes-hut"]:
    t0 = time.perf_counter()
    subprocess.run(["build/nerve", "embed", "-q", "--method", "tsne", "--tsne-method", algo, "-o",
                    "bench/data/tsne_nerve.npy", "bench/data/tsne_acts.npy"], check=True, capture_output=True)
    t_nv = time.perf_counter() - t0
    y = np.load("bench/data/tsne_nerve.npy")
    kl, kp = kl_exact(P, y), kept(x, y)
    print("  nerve %-10s %.2f s (ratio %.3f), KL %.4f (ratio %.3f), 10-NN kept %.3f (difference %+.3f)"
          % (algo, t_nv, t_nv / t_sk, kl, kl / kl_sk, kp, kp - kept_sk))
t0 = time.perf_counter()
out = subprocess.run(["build/nerve", "embed", "-q", "--method", "tsne", "-o", "bench/data/tsne_fm70k.tsne.npy",
                      "bench/data/tsne_fm70k.npy"], check=True, capture_output=True, text=True).stdout
print("t-SNE of all 70,000 Fashion-MNIST images (784-d): nerve %.1f s (goal: under 60 s), KL %.4f"
      % (time.perf_counter() - t0, json.loads(out)["kl_divergence"]))
PY
