#!/bin/sh
# Feature visualisation, nerve against PyTorch on the same weights: the
# images for the first 32 Mapper nodes of cnn-small's relu3 (the direction
# of each node's mean vector, at the centre of the map, dot x cos^2), the
# same parameterisation, warp, Adam and steps in one batch of 32
# (bench/featvis_vs_pytorch.py). Prints each one's time per image-step and
# nerve's as a ratio of PyTorch's (goal <= 1.0), and the share of images
# whose activation has cosine >= 0.9 with its node's mean vector.
#   bench/featvis_vs_pytorch.sh [STUDY] [THREADS] [STEPS]
# STUDY: a study of the built-in model with Mapper graphs (default: one
# made now from 2,000 test images).
set -eu
cd "$(dirname "$0")/.."
study=${1:-}
threads=${2:-2}
steps=${3:-128}
nerve=${NERVE:-build/nerve}   # NERVE: another build's binary
[ -n "${NERVE:-}" ] || make --no-print-directory -s build/nerve
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$study" ]; then
    study=$work/study
    "$nerve" run -q -n 2000 --stages extract,mapper -o "$study" > /dev/null
fi
model=$(jq -r .model.path "$study/manifest.json")
/usr/bin/python3 - "$study" "$work/dirs.npy" <<'PY'
import json, sys
import numpy as np
study, out = sys.argv[1], sys.argv[2]
g = json.load(open(study + "/mapper/relu3.json"))
acts = np.load(study + "/acts/relu3.npy")
start, members = g["nodes"]["member_start"], np.array(g["members"])
means = [acts[members[start[v]:start[v + 1]]].mean(0) for v in range(min(32, len(start) - 1))]
np.save(out, np.array(means, dtype=np.float32))
PY
nodes=$(/usr/bin/python3 -c "import numpy as np; print(np.load('$work/dirs.npy').shape[0])")
echo "== $nodes node images of relu3, $steps steps, $threads threads, one batch"
/usr/bin/time -f "%U %S" -o "$work/cpu" "$nerve" featvis -t "$threads" -m "$model" --layer relu3 --neuron c \
    --direction "$work/dirs.npy" --cossim-pow 2 --steps "$steps" --batch 32 --json -o "$work/nerve" > "$work/nerve.json"
nerve_s=$(jq .seconds "$work/nerve.json")
close=$(jq '[.images[] | select(.cosine >= 0.9)] | length' "$work/nerve.json")
nerve_ms=$(echo "1000 * $nerve_s / ($nodes * $steps)" | bc -l)
nerve_cpu=$(awk -v n="$nodes" -v s="$steps" '{ printf "%.3f", 1000 * ($1 + $2) / (n * s) }' "$work/cpu")
printf "nerve   %d images x %d steps: %.3f s, %.3f ms per image-step (CPU %s ms, model load included), cosine >= 0.9: %.2f\n" \
    "$nodes" "$steps" "$nerve_s" "$nerve_ms" "$nerve_cpu" "$(echo "$close / $nodes" | bc -l)"
torch_line=$(/usr/bin/python3 bench/featvis_vs_pytorch.py "$model" relu3 "$work/dirs.npy" "$steps" "$threads")
echo "$torch_line"
torch_ms=$(echo "$torch_line" | sed 's/.*s, \([0-9.]*\) ms per image-step.*/\1/')
torch_cpu=$(echo "$torch_line" | sed 's/.*(CPU \([0-9.]*\) ms).*/\1/')
printf "nerve / pytorch time per image-step: %.2fx wall, %.2fx CPU\n" "$(echo "$nerve_ms / $torch_ms" | bc -l)" \
    "$(echo "$nerve_cpu / $torch_cpu" | bc -l)"
