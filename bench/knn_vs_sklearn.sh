#!/bin/sh
# Exact k-nearest neighbours (k = 15, euclidean) of 100,000 x 128 points:
# nerve's blocked-GEMM search against scikit-learn's brute-force
# NearestNeighbors, same thread count, same run, both timing the search
# alone on points already in memory. Prints seconds and the ratio.
#   bench/knn_vs_sklearn.sh [THREADS] [N]
set -eu
cd "$(dirname "$0")/.."
threads=${1:-2}
n=${2:-100000}
scripts/install-deps.sh scripts/peer-packages.txt
make --no-print-directory -s build/libnerve.a
mkdir -p bench/data build/bench
cc -O2 -fopenmp -Iinclude bench/knn_time.c build/libnerve.a \
   $(pkg-config --libs jansson stb zlib libprotobuf-c) -lm -o build/bench/knn_time
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
/usr/bin/python3 - "$threads" "$n" <<'PY'
import subprocess, sys, time
import numpy as np
from sklearn.neighbors import NearestNeighbors
threads, n = int(sys.argv[1]), int(sys.argv[2])
x = np.random.default_rng(1).standard_normal((n, 128)).astype(np.float32)
np.save("bench/data/knn_points.npy", x)
t0 = time.perf_counter()
NearestNeighbors(n_neighbors=16, algorithm="brute", n_jobs=threads).fit(x).kneighbors(x)
t_sk = time.perf_counter() - t0
t_nv = float(subprocess.run(["build/bench/knn_time", "bench/data/knn_points.npy", "15", "euclidean"],
                            check=True, capture_output=True, text=True).stdout)
print("exact kNN %d x 128, k=15: scikit-learn brute %.2f s   nerve %.2f s   ratio nerve/scikit-learn %.2f"
      % (n, t_sk, t_nv, t_nv / t_sk))
PY
