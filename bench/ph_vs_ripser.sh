#!/bin/sh
# Vietoris-Rips barcodes, nerve against ripser 1.2.1 (Debian), same input
# points (written once as text for ripser, as .npy for nerve), same
# dimension and threshold, in the same run; nerve with 1 and with 2
# threads. Prints seconds and peak memory (resident, MiB) of each, and the
# ratios. Goals: 1 thread <= 1.0x ripser's time, 2 threads <= 0.7x, memory
# <= ripser's. Peak memory includes each program's start-up (its shared
# libraries, about 3 MiB for either), so each is also run on two points,
# and the memory above that is printed as "+N".
#   bench/ph_vs_ripser.sh
# Clouds: 1,000 and 2,000 ReLU activation vectors (a fixed random
# 784 -> 128 layer over Fashion-MNIST images), dim 1; 1,024 random
# rotations in SO(3) as 3 x 3 matrices in R^9, dim 2, threshold 1.4; 192
# uniform points on S^3, dim 2; 100 uniform points in [0, 1]^16, dim 2.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh scripts/peer-packages.txt
make --no-print-directory -s build/nerve
mkdir -p bench/data
/usr/bin/python3 - <<'PY'
import gzip
import numpy as np
rng = np.random.default_rng(0)
raw = gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").read()
x = np.frombuffer(raw[16:], np.uint8).reshape(-1, 784)[:20000].astype(np.float32) / 255
w = rng.standard_normal((784, 128)).astype(np.float32) / 28
acts = np.maximum(x @ w - 0.3, 0)
clouds = {"acts1000": acts[rng.choice(len(acts), 1000, replace=False)],
          "acts2000": acts[rng.choice(len(acts), 2000, replace=False)]}
q, r = np.linalg.qr(rng.standard_normal((1024, 3, 3)))
q = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]
q[np.linalg.det(q) < 0, :, 0] *= -1
clouds["so3_1024"] = q.reshape(1024, 9)
s = rng.standard_normal((192, 4))
clouds["s3_192"] = s / np.linalg.norm(s, axis=1, keepdims=True)
clouds["r16_100"] = rng.uniform(0, 1, (100, 16))
clouds["two"] = np.array([[0, 0], [1, 0]])
for name, c in clouds.items():
    c = c.astype(np.float32)
    np.save("bench/data/ph_%s.npy" % name, c)
    np.savetxt("bench/data/ph_%s.txt" % name, c, fmt="%.9g", delimiter=",")
PY
measure() {   # prints "seconds peak_MiB" of a command
    /usr/bin/time -f "%e %M" -o bench/data/ph_time.txt "$@" > bench/data/ph_out.txt
    awk '{ printf "%s %.0f", $1, $2 / 1024 }' bench/data/ph_time.txt
}
r0=$(measure ripser --format point-cloud bench/data/ph_two.txt | cut -d' ' -f2)
n0=$(measure build/nerve ph -q -n 0 bench/data/ph_two.npy | cut -d' ' -f2)
echo "start-up (two points): ripser $r0 MiB, nerve $n0 MiB"
for case in "acts1000 1" "acts2000 1" "so3_1024 2 1.4" "s3_192 2" "r16_100 2"; do
    set -- $case
    name=$1 dim=$2 thr=${3:-}
    targs="" ; nargs=""
    if [ -n "$thr" ]; then targs="--threshold $thr"; nargs="--threshold $thr"; fi
    r=$(measure ripser --format point-cloud --dim "$dim" $targs "bench/data/ph_$name.txt")
    n1=$(OMP_NUM_THREADS=1 measure build/nerve ph -q -n 0 --dim "$dim" $nargs "bench/data/ph_$name.npy")
    n2=$(OMP_NUM_THREADS=2 measure build/nerve ph -q -n 0 --dim "$dim" $nargs "bench/data/ph_$name.npy")
    echo "$name dim $dim${thr:+ threshold $thr}: $r $n1 $n2" | awk -v r0="$r0" -v n0="$n0" '{
        printf "%-10s %s %s %s  ripser %.2f s %d MiB (+%d)   nerve 1 thread %.2f s (%.2fx) %d MiB (+%d)   2 threads %.2f s (%.2fx) %d MiB (+%d)\n",
            $1, $2, $3, ($4 == "threshold" ? $4 " " $5 : ""), $(NF-5), $(NF-4), $(NF-4) - r0, $(NF-3), $(NF-3) / $(NF-5),
            $(NF-2), $(NF-2) - n0, $(NF-1), $(NF-1) / $(NF-5), $NF, $NF - n0 }'
done
