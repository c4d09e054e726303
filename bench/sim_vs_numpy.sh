#!/bin/sh
# CKA and SVCCA of two 10,000 x 512 layers, each side starting from the
# two .npy files: nerve compare against the NumPy references in the same run (linear CKA in feature space as Kornblith et
# al.'s code; SVCCA as Google's cca_core.py on the top directions holding
# 99% of the variance), same thread count. The goal: no slower than NumPy.
#   bench/sim_vs_numpy.sh SVCCA_DIR [THREADS]
# SVCCA_DIR holds cca_core.py from Google's svcca repository.
set -eu
cd "$(dirname "$0")/.."
svcca=${1:?usage: bench/sim_vs_numpy.sh SVCCA_DIR [THREADS]}
threads=${2:-2}
scripts/install-deps.sh scripts/peer-packages.txt
make --no-print-directory -s build/nerve
mkdir -p bench/data
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
/usr/bin/python3 - "$svcca" <<'PY'
import subprocess, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import cca_core
rng = np.random.default_rng(0)
n, d = 10000, 512
latent = rng.standard_normal((n, 64)).astype(np.float32)
a = np.maximum(latent @ rng.standard_normal((64, d), dtype=np.float32), 0) + 0.1 * rng.standard_normal((n, d), dtype=np.float32)
b = np.tanh(latent @ rng.standard_normal((64, d), dtype=np.float32)) + 0.1 * rng.standard_normal((n, d), dtype=np.float32)
np.save("bench/data/sim_a.npy", a); np.save("bench/data/sim_b.npy", b)

def cka(x, y):
    x = x - x.mean(0); y = y - y.mean(0)
    return np.linalg.norm(x.T @ y) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))

def svcca(x, y):
    def reduce(z):
        z = z - z.mean(0)
        u, s, _ = np.linalg.svd(z, full_matrices=False)
        k = int(np.searchsorted(np.cumsum(s ** 2) / np.sum(s ** 2), 0.99) + 1)
        return u[:, :k] * s[:k]
    return np.mean(cca_core.get_cca_similarity(reduce(x).T, reduce(y).T, epsilon=1e-10, verbose=False)["cca_coef1"])

def best(f, runs=3):
    t = 1e9
    for _ in range(runs):
        t0 = time.perf_counter(); v = f(); t = min(t, time.perf_counter() - t0)
    return t, v

def load():
    return np.load("bench/data/sim_a.npy").astype(np.float64), np.load("bench/data/sim_b.npy").astype(np.float64)
for metric, ref in [("cka", cka), ("svcca", svcca)]:
    t_np, v_np = best(lambda: ref(*load()))
    def run():
        out = subprocess.run(["build/nerve", "compare", "-q", "-M", metric, "bench/data/sim_a.npy", "bench/data/sim_b.npy"],
                             check=True, capture_output=True, text=True).stdout
        return float(out.split('"value":')[1].split(",")[0].split("}")[0])
    t_nv, v_nv = best(run)
    print("%-6s NumPy %.2f s   nerve %.2f s   ratio nerve/NumPy %.2f (goal <= 1)   values %.8f / %.8f"
          % (metric, t_np, t_nv, t_nv / t_np, v_np, v_nv), flush=True)
PY
