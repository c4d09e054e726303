#!/bin/sh
# The findings stage on planted problems at full size (issue 21), and its
# time beside scikit-learn doing the same work on the same layers:
#   - 1% of the 10,000 Fashion-MNIST test images replaced by non-garments
#     (uniform noise, inverted images, random strokes:
#     tests/fixtures/findings/plant.py, seed 1): the ROC AUC of
#     findings/outlier.npy against the clean inputs;
#   - 2% of the labels of the clean 10,000 flipped (seeded): the share of
#     the flipped among the top 2% of findings/label_noise.npy;
#   - the findings stage's seconds (from the study's manifest), and
#     scikit-learn's NearestNeighbors (k = 10) + LogisticRegression (C = 1,
#     lbfgs, the same 6,000-row sample) over the same layers.
# The built-in model comes from nerve's cache (trained once if missing).
#   bench/findings_planted.sh [THREADS] [WORK_DIR]
set -eu
cd "$(dirname "$0")/.."
threads=${1:-2}
work=${2:-build/bench/findings}
make --no-print-directory -s build/nerve
mkdir -p "$work"
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
/usr/bin/python3 tests/fixtures/findings/plant.py 10000 1 "$work"
/usr/bin/python3 - "$work" <<'PY'
import sys
import numpy as np
sys.path.insert(0, "tests/fixtures/findings")
import plant
work = sys.argv[1]
images = plant.idx(f"{plant.DATA}/t10k-images-idx3-ubyte.gz")
labels = plant.idx(f"{plant.DATA}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
rng = np.random.default_rng(2)
flip = np.sort(rng.choice(len(labels), len(labels) // 50, replace=False))
given = labels.copy()
given[flip] = (labels[flip] + rng.integers(1, 10, len(flip))) % 10
np.save(f"{work}/clean.npy", images)
np.save(f"{work}/flipped_labels.npy", given)
np.save(f"{work}/flipped.npy", flip)
PY
build/nerve run -q -d "$work/images.npy" --labels "$work/labels.npy" --stages findings -o "$work/ood" >/dev/null
build/nerve run -q -d "$work/clean.npy" --labels "$work/flipped_labels.npy" --stages findings -o "$work/flips" >/dev/null
/usr/bin/python3 - "$work" "$threads" <<'PY'
import json, sys, time, warnings
import numpy as np
warnings.filterwarnings("ignore")   # scikit-learn's lbfgs stops at its default 100 steps on raw activations
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors
work, threads = sys.argv[1], int(sys.argv[2])
ood = np.load(f"{work}/ood.npy")
outlier = np.load(f"{work}/ood/findings/outlier.npy").ravel()
print("non-garments: %d of %d, ROC AUC of the overall outlier score %.4f" % (ood.sum(), len(ood), roc_auc_score(ood, outlier)))
for k, name in enumerate(("uniform noise", "inverted", "random strokes")):
    keep = (ood == 0) | np.isin(np.arange(len(ood)), np.where(ood == 1)[0][k::3])
    print("  %-15s AUC %.4f" % (name, roc_auc_score(ood[keep], outlier[keep])))
flip = np.load(f"{work}/flipped.npy")
noise = np.load(f"{work}/flips/findings/label_noise.npy").ravel()
top = np.argsort(-noise, kind="stable")[:len(flip)]
print("label flips: %d; %.1f%% of them in the top 2%% of the label-noise ranking" % (len(flip), 100 * np.isin(flip, top).mean()))
m = json.load(open(f"{work}/flips/manifest.json"))
t_nerve = m["run"]["stages"]["findings"]["seconds"]
labels = np.load(f"{work}/flipped_labels.npy")
t0 = time.perf_counter()
rng = np.random.default_rng(0)
for layer in m["layers"]:
    x = np.load(f"{work}/flips/{layer['file']}")
    NearestNeighbors(n_neighbors=11, algorithm="brute", n_jobs=threads).fit(x).kneighbors(x)
    rows = rng.permutation(len(x))[:6000]
    LogisticRegression(C=1.0).fit(x[rows[1500:]], labels[rows[1500:]]).score(x[rows[:1500]], labels[rows[:1500]])
t_sk = time.perf_counter() - t0
print("findings stage over %d layers of 10,000 inputs: nerve %.1f s (everything); scikit-learn's kNN + "
      "LogisticRegression (default max_iter 100) alone %.1f s; ratio %.2f" % (len(m["layers"]), t_nerve, t_sk, t_nerve / t_sk))
PY
