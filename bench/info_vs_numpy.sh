#!/bin/sh
# nerve info vs NumPy on a 1 GiB float32 .npy (the foundation issue's
# figure): NumPy memory-maps the file and computes min, max, mean and std;
# nerve info computes the same plus NaN/Inf counts. Both run warm (file in
# the page cache), several times each, in the same run; the ratio is
# nerve's median time over NumPy's.
#   bench/info_vs_numpy.sh [SIZE_MIB]      (default 1024)
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh scripts/peer-packages.txt
make --no-print-directory -s build/nerve
mib=${1:-1024}
py=/usr/bin/python3
data=bench/data/info_${mib}mib.npy
mkdir -p bench/data
if [ ! -f "$data" ]; then
    echo "writing $data" >&2
    $py - "$data" "$mib" <<'PY'
import sys, numpy as np
path, mib = sys.argv[1], int(sys.argv[2])
n = mib * 1024 * 1024 // 4
cols = 512
a = np.lib.format.open_memmap(path, mode="w+", dtype="<f4", shape=(n // cols, cols))
rng = np.random.default_rng(0)
step = 1 << 16
for i in range(0, a.shape[0], step):
    a[i:i + step] = rng.standard_normal((min(step, a.shape[0] - i), cols), dtype=np.float32) * 2 + 0.5
a.flush()
PY
fi
cat "$data" > /dev/null   # warm the page cache for both tools

numpy_cmd="$py -c \"import numpy; a=numpy.load('$data', mmap_mode='r'); a.min(); a.max(); a.mean(); a.std()\""
nerve_cmd="build/nerve info --quiet $data"
hyperfine --warmup 1 --runs 5 --export-json bench/data/info.json \
    --command-name numpy "$numpy_cmd" --command-name nerve "$nerve_cmd" >&2
$py - bench/data/info.json <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
n, p = r["nerve"]["median"], r["numpy"]["median"]
print("nerve info: %.3f s   numpy: %.3f s   ratio nerve/numpy: %.2f (goal < 2)" % (n, p, n / p))
PY
