#!/bin/sh
# Mapper graphs at TopoAct's scale and beyond, on 2 threads: 300,000 x 512
# and 1,000,000 x 256 activation vectors (l2norm lens, 30 intervals, 30%
# overlap, DBSCAN with automatic eps; nerve picks its kNN-graph
# neighbourhoods at this size). Prints nerve's wall time and peak memory
# against the input's size. Goals: 300k x 512 under 20 s with peak memory
# under 3x the input; 1M x 256 under 60 s.
#   bench/mapper_scale.sh [THREADS]
# The vectors: ReLU(x W - 0.3) of a fixed random 784 -> 512 (or 256) layer
# over the 70,000 Fashion-MNIST images shifted by up to two pixels (several
# positions per input, as conv activations give).
set -eu
cd "$(dirname "$0")/.."
threads=${1:-2}
scripts/install-deps.sh scripts/peer-packages.txt
make --no-print-directory -s build/nerve
mkdir -p bench/data
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
/usr/bin/python3 - <<'PY'
import gzip, os
import numpy as np
def images(f):
    return np.frombuffer(gzip.open("/usr/share/datasets/fashion-mnist/" + f).read()[16:], np.uint8).reshape(-1, 28, 28)
x = np.concatenate([images("train-images-idx3-ubyte.gz"), images("t10k-images-idx3-ubyte.gz")])
for n, d in [(300000, 512), (1000000, 256)]:
    path = "bench/data/mapper_%dx%d.npy" % (n, d)
    if os.path.exists(path):
        continue
    w = np.random.default_rng(0).standard_normal((784, d)).astype(np.float32) / 28
    out = np.lib.format.open_memmap(path + ".part", mode="w+", dtype=np.float32, shape=(n, d))
    r = 0
    for s0, s1 in [(a, b) for a in range(-2, 3) for b in range(-2, 3)]:
        xs = np.roll(np.roll(x, s0, axis=1), s1, axis=2).reshape(-1, 784).astype(np.float32) / 255
        for i in range(0, len(xs), 20000):
            b = xs[i:i + 20000][:n - r]
            if len(b) == 0:
                break
            out[r:r + len(b)] = np.maximum(b @ w - 0.3, 0)
            r += len(b)
    out.flush()
    del out
    os.rename(path + ".part", path)
PY
for shape in 300000x512 1000000x256; do
    f=bench/data/mapper_$shape.npy
    /usr/bin/time -f "%e %M" -o bench/data/time.txt build/nerve mapper -q -n 30 -p 0.3 -o bench/data/mapper_$shape.json "$f" \
        > bench/data/mapper_$shape.out
    read -r secs kib < bench/data/time.txt
    bytes=$(stat -c %s "$f")
    awk -v s="$shape" -v t="$secs" -v k="$kib" -v b="$bytes" 'BEGIN {
        printf "mapper %s: %.1f s, peak memory %.0f MiB = %.2fx the input (%.0f MiB)\n", s, t, k / 1024, k * 1024 / b, b / 1048576 }'
    grep -E '"(nodes|edges|eps|neighbours)"' bench/data/mapper_$shape.out | tr -d '\n '; echo
done
