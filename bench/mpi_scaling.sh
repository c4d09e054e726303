#!/bin/sh
# Strong scaling of nerve-mpi (make MPI=1) on this machine: each stage that
# splits its work, at 1 and 2 ranks of one thread each (OMP_NUM_THREADS=1),
# in the same run, with the speedup and the efficiency t1 / (2 t2).
#   bench/mpi_scaling.sh [N_EXTRACT] [N_STUDY] [GOOGLENET_INPUTS]
#   DATA=fashion-mnist:all bench/mpi_scaling.sh 70000 ...   (more than the 10,000 test images)
#   N_STUDY 0 leaves the study out; BUILD=build/mine builds and runs there.
# 1. extraction of N_EXTRACT (10,000) Fashion-MNIST test images through the
#    built-in cnn-small when it is cached, else the committed small CNN: the
#    whole command's wall time (MPI start-up, model, sprite and manifest in);
# 2. a study of N_STUDY (2,000) inputs, the stages that split their work and
#    sim (on rank 0 alone, the others waiting), each stage's time as nerve
#    run prints it;
# 3. GoogLeNet (bench/data/zoo/googlenet.13.onnx, made by bench/zoo_parity.sh;
#    skipped without it; batch 1, as exported): every layer of GOOGLENET_INPUTS (32) random
#    224 x 224 inputs, seconds and bytes written per image, which the
#    README's model of a 300,000-image study takes.
# Other work on the machine skews the wall times: the load is printed, and
# beside each command the CPU time of its busiest rank, which is what the
# wall time would be with a core a rank and nothing else running. Linux's
# autogroup scheduler gives a session one share of a busy machine however
# many processes it runs; SESSION="setsid -w" starts each rank in its own
# session, as if on its own machine.
set -eu
cd "$(dirname "$0")/.."
n_extract=${1:-10000}
n_study=${2:-2000}
n_google=${3:-32}
build=${BUILD:-build}
make --no-print-directory -s MPI=1 BUILD="$build" "$build/nerve" "$build/nerve-mpi"
cores=$(nproc --all)
SESSION=${SESSION:-}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
root=""
[ "$(id -u)" -eq 0 ] && root=--allow-run-as-root
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model=$(ls "$HOME"/.cache/nerve/cnn-small-*.onnx 2>/dev/null | grep -v ckpt | head -n 1 || true)
[ -n "$model" ] || model=tests/fixtures/nn/small_cnn.onnx
echo "machine: $cores cores, load $(cut -d' ' -f1-3 /proc/loadavg); commit $(git rev-parse --short HEAD)"
echo "model: $model"

# ranks K ARGS...: nerve-mpi on K ranks; its wall time on stdout, and the
# CPU time (user + system) of its busiest rank in $tmp/cpu.K.
ranks() {
    k=$1
    shift
    rm -f "$tmp/rank_cpu"
    t0=$(date +%s.%N)
    mpirun --oversubscribe --bind-to core $root -n "$k" $SESSION /usr/bin/time -a -o "$tmp/rank_cpu" -f "%U %S" \
        "$build/nerve-mpi" "$@" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
    awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { print a - b }'
    awk '{ t = $1 + $2; if (t > m) m = t } END { print m }' "$tmp/rank_cpu" >"$tmp/cpu.$k"
}
row() {   # row NAME T1 T2
    awk -v name="$1" -v a="$2" -v b="$3" \
        'BEGIN { printf "%-28s %9.2f s %9.2f s   %5.2fx   %3.0f%%\n", name, a, b, a / b, 100 * a / (2 * b) }'
}
header() {
    printf "%-28s %11s %11s %8s %6s\n" "$1" "1 rank" "2 ranks" "speedup" "eff."
}

echo
header "extraction, $n_extract inputs"
data=${DATA:-fashion-mnist:test}
t1=$(ranks 1 extract -q -m "$model" -d "$data" -n "$n_extract" -o "$tmp/e1")
t2=$(ranks 2 extract -q -m "$model" -d "$data" -n "$n_extract" -o "$tmp/e2")
row "extract (command)" "$t1" "$t2"
row "extract (busiest rank's CPU)" "$(cat "$tmp/cpu.1")" "$(cat "$tmp/cpu.2")"
diff -r -x manifest.json "$tmp/e1" "$tmp/e2" >/dev/null && echo "(the two studies are byte for byte the same)"

[ "$n_study" -gt 0 ] && {
echo
header "study, $n_study inputs"
for k in 1 2; do
    ranks $k run -q -m "$model" -n "$n_study" --stages mean,mapper,ph,embed,sim -o "$tmp/s$k" >"$tmp/t$k"
    cp "$tmp/cpu.$k" "$tmp/study_cpu.$k"
    grep '^stages:' "$tmp/out" | sed 's/^stages: //; s/, /\n/g' | awk '{ print $1, $2 }' >"$tmp/stages$k"
done
paste -d' ' "$tmp/stages1" "$tmp/stages2" | while read -r stage a _ b; do row "$stage" "$a" "$b"; done
row "whole study (command)" "$(cat "$tmp/t1")" "$(cat "$tmp/t2")"
row "study (busiest rank's CPU)" "$(cat "$tmp/study_cpu.1")" "$(cat "$tmp/study_cpu.2")"
}

google=bench/data/zoo/googlenet.13.onnx
if [ -f "$google" ] && [ "$n_google" -gt 0 ]; then
    /usr/bin/python3 -c "import numpy as np; np.save('$tmp/g.npy', np.random.default_rng(0).standard_normal(($n_google, 3, 224, 224)).astype(np.float32))"
    echo
    header "GoogLeNet, $n_google inputs"
    t1=$(ranks 1 extract -q -m "$google" -d "$tmp/g.npy" -b 1 -o "$tmp/g1")
    t2=$(ranks 2 extract -q -m "$google" -d "$tmp/g.npy" -b 1 -o "$tmp/g2")
    row "extract (command)" "$t1" "$t2"
    row "extract (busiest rank's CPU)" "$(cat "$tmp/cpu.1")" "$(cat "$tmp/cpu.2")"
    bytes=$(find "$tmp/g1/acts" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
    layers=$(ls "$tmp/g1/acts" | grep -vc positions)
    echo "$(cat "$tmp/cpu.1") $bytes $n_google $layers" |
        awk '{ printf "per image, one thread: %.3f s of CPU; %d layers, %.0f bytes written per image\n", $1 / $3, $4, $2 / $3 }'
fi
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
