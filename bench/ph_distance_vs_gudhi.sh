#!/bin/sh
# Distances between persistence diagrams, nerve ph-distance against gudhi
# (Debian python3-gudhi) on the same diagrams in the same run: the exact
# bottleneck distance (gudhi.bottleneck_distance, e=None) and the
# 1-Wasserstein distance within 1% (gudhi.hera.wasserstein_distance, its
# default delta=0.01), each timed around the distance call alone for
# gudhi and around the whole command (reading the JSON included) for
# nerve. Goal: bottleneck of two 10,000-point diagrams in under 1 s.
#   bench/ph_distance_vs_gudhi.sh
# Diagrams: n points with births uniform in [0, 1] and persistences
# exponential (mean 0.2), n = 1,000 and 10,000; and the H0 diagrams
# (births 0) of 1,000 points.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh scripts/peer-packages.txt
make --no-print-directory -s build/nerve
mkdir -p bench/data
/usr/bin/python3 - <<'PY'
import json
import numpy as np
rng = np.random.default_rng(0)
def diagram(n, h0=False):
    b = np.zeros(n) if h0 else rng.uniform(0, 1, n)
    return np.c_[b, b + rng.exponential(0.2, n)]
for name, n, h0 in [("u1k", 1000, False), ("u10k", 10000, False), ("h0_1k", 1000, True)]:
    for side in "ab":
        json.dump(diagram(n, h0).tolist(), open("bench/data/dgm_%s_%s.json" % (name, side), "w"))
PY
for name in u1k h0_1k u10k; do
    a=bench/data/dgm_${name}_a.json b=bench/data/dgm_${name}_b.json
    for metric in bottleneck wasserstein; do
        extra=""
        [ $metric = wasserstein ] && extra="--relative-error 0.01"
        start=$(date +%s.%N)
        v=$(build/nerve ph-distance -q -m $metric $extra "$a" "$b" | grep "\"$metric\"" | tr -d ' ,' | cut -d: -f2)
        t=$(echo "$(date +%s.%N) - $start" | bc)
        /usr/bin/python3 - "$a" "$b" "$metric" "$v" "$t" "$name" <<'PY'
import json, sys, time
import numpy as np
import gudhi, gudhi.hera
a, b, metric, v, t, name = sys.argv[1:]
A, B = np.array(json.load(open(a))), np.array(json.load(open(b)))
start = time.perf_counter()
g = gudhi.bottleneck_distance(A, B) if metric == "bottleneck" else \
    gudhi.hera.wasserstein_distance(A, B, order=1, internal_p=np.inf, delta=0.01)
tg = time.perf_counter() - start
print("%-6s %-11s nerve %8.3f s  gudhi %8.3f s  ratio %5.2f   values %.9g / %.9g (rel. diff %.1e)"
      % (name, metric, float(t), tg, float(t) / tg, float(v), g, abs(float(v) - g) / g))
PY
    done
done
