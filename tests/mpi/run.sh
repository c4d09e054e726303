#!/bin/sh
# tests/mpi/run.sh NERVE NERVE_MPI — nerve-mpi (make MPI=1) against nerve:
# the study of 2,000 Fashion-MNIST test images through the committed small
# CNN made by 1, 2 and 3 ranks is byte for byte the single process's
# (manifest.json aside: its timings and run.ranks; among what the ranks
# split are the sprite's bands, ph's distances by pairs and sim's metrics,
# and at 2 ranks Mapper's cover elements); a rank killed during
# extraction stops the job with the rank named, and the rerun resumes its
# shards and ends with the same study; Mapper by cover elements at 2 and 3
# ranks is the single process's; studies of 3 and 12 inputs, where
# stages skip layers, are the same at 3 ranks; a rank's bad input ends the
# job with one error naming the rank. Prints PASS/FAIL lines and a summary.
#
# The study is the default one but for t-SNE's iterations and the
# persistence landmarks (--tsne-iters 250 --ph-points 400), and one thread a
# rank, to keep the four studies within a minute or two on two cores.
set -u
nerve=${1:-build/nerve}
mpi=${2:-build/nerve-mpi}
root=$(cd "$(dirname "$0")/../.." && pwd)
model=$root/tests/fixtures/nn/small_cnn.onnx
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
run_as_root=""
[ "$(id -u)" -eq 0 ] && run_as_root=--allow-run-as-root
passed=0
failed=0
pass() { echo "PASS mpi/$1"; passed=$((passed + 1)); }
fail() { echo "FAIL mpi/$1: $2"; failed=$((failed + 1)); }
mpirun_k() {   # mpirun_k K ARGS...
    k=$1
    shift
    timeout 600 mpirun --oversubscribe $run_as_root -n "$k" "$mpi" "$@"
}
study_args="run -q -m $model -n 2000 --tsne-iters 250 --ph-points 400"

# same A B: the studies hold the same files with the same bytes, the
# manifests aside, the t-SNE index's absolute paths made relative, and the
# featvis index's time (which two runs of one process differ in too).
same() {
    diff -r -x manifest.json -x .lock -x index.tsne.json -x featvis "$1" "$2" >"$tmp/diff" 2>&1 &&
        sed "s|$1/||" "$1/embed/index.tsne.json" >"$tmp/a.json" &&
        sed "s|$2/||" "$2/embed/index.tsne.json" >"$tmp/b.json" &&
        diff "$tmp/a.json" "$tmp/b.json" >>"$tmp/diff" 2>&1 &&
        { [ ! -d "$1/featvis" ] || diff -r -x index.json "$1/featvis" "$2/featvis" >>"$tmp/diff" 2>&1; } &&
        { [ ! -f "$1/featvis/index.json" ] || {
            grep -v '"seconds"' "$1/featvis/index.json" >"$tmp/a.json"
            grep -v '"seconds"' "$2/featvis/index.json" >"$tmp/b.json"
            diff "$tmp/a.json" "$tmp/b.json" >>"$tmp/diff" 2>&1; }; }
}

if ! $nerve $study_args -o "$tmp/one" >/dev/null 2>"$tmp/one.log"; then
    fail reference "nerve run failed: $(tail -n 3 "$tmp/one.log")"
else
    for k in 1 2 3; do
        if ! mpirun_k $k $study_args -o "$tmp/k$k" >/dev/null 2>"$tmp/k$k.log"; then
            fail "study_ranks_$k" "mpirun -n $k failed: $(tail -n 5 "$tmp/k$k.log")"
        elif ! same "$tmp/one" "$tmp/k$k"; then
            fail "study_ranks_$k" "differs from one process: $(head -n 5 "$tmp/diff")"
        elif ! grep -q "\"ranks\": $k" "$tmp/k$k/manifest.json" && [ $k -gt 1 ]; then
            fail "study_ranks_$k" "manifest.json does not record $k ranks"
        else
            pass "study_ranks_$k"
        fi
    done

    # Rank 1 of 3 dies after 300 inputs of its shard, its progress recorded.
    if NERVE_TEST_KILL_RANK=1:300 mpirun_k 3 $study_args -o "$tmp/cut" >/dev/null 2>"$tmp/cut.log"; then
        fail killed_rank_resumes "the job went on with a rank killed"
    elif ! grep -qi "rank 1" "$tmp/cut.log"; then
        fail killed_rank_resumes "the error does not name rank 1: $(tail -n 5 "$tmp/cut.log")"
    elif ! ls "$tmp/cut"/.extract-shard-* >/dev/null 2>&1; then
        fail killed_rank_resumes "no shard recorded its progress"
    elif ! mpirun_k 3 $study_args -o "$tmp/cut" >/dev/null 2>"$tmp/resume.log"; then
        fail killed_rank_resumes "the rerun failed: $(tail -n 5 "$tmp/resume.log")"
    elif ! same "$tmp/one" "$tmp/cut"; then
        fail killed_rank_resumes "the resumed study differs: $(head -n 5 "$tmp/diff")"
    elif [ -n "$(find "$tmp/cut" -name '*.partial' -o -name '.extract-*' -o -name '*.tmp*')" ]; then
        fail killed_rank_resumes "partial files or records left behind"
    else
        pass killed_rank_resumes
    fi
fi

# Mapper by cover elements (all ranks map each layer, each clustering its
# share of the elements; chosen when ranks outnumber the layers, forced
# here): the same graphs, links and index at 2 and 3 ranks.
if [ -d "$tmp/one/mapper" ]; then
    for k in 2 3; do
        mkdir -p "$tmp/el$k"
        cp -r "$tmp/one/acts" "$tmp/one/inputs" "$tmp/one/manifest.json" "$tmp/el$k/"
        if ! NERVE_TEST_MAPPER_ELEMENTS=1 mpirun_k $k mapper -q --study "$tmp/el$k" \
            >/dev/null 2>"$tmp/el.log"; then
            fail "mapper_by_elements_$k" "mpirun -n $k failed: $(tail -n 5 "$tmp/el.log")"
        elif ! diff -r "$tmp/one/mapper" "$tmp/el$k/mapper" >"$tmp/diff" 2>&1; then
            fail "mapper_by_elements_$k" "differs from one process: $(head -n 5 "$tmp/diff")"
        else
            pass "mapper_by_elements_$k"
        fi
    done
fi

# Studies too small for some stages (3 and 12 inputs: Mapper and t-SNE
# skip layers, with their reasons in the indexes): the same at 3 ranks.
for n in 3 12; do
    small="run -q -m $model -n $n"
    if ! $nerve $small -o "$tmp/small$n" >/dev/null 2>"$tmp/small.log" ||
        ! mpirun_k 3 $small -o "$tmp/small${n}k3" >/dev/null 2>"$tmp/small.log"; then
        fail "small_study_$n" "a run failed: $(tail -n 5 "$tmp/small.log")"
    elif ! same "$tmp/small$n" "$tmp/small${n}k3"; then
        fail "small_study_$n" "differs from one process: $(head -n 5 "$tmp/diff")"
    else
        pass "small_study_$n"
    fi
done

# A rank whose input is bad: the job ends (no rank left waiting) with an
# error that names the rank, exit status 2 as nerve's bad input.
mpirun_k 2 extract -q -m "$tmp/missing.onnx" -d fashion-mnist:test -n 10 -o "$tmp/bad" >/dev/null 2>"$tmp/bad.log"
status=$?
if [ $status -ne 2 ] || ! grep -q "nerve: error: rank [01] of 2: .*missing.onnx" "$tmp/bad.log"; then
    fail bad_input_names_rank "status $status: $(head -n 5 "$tmp/bad.log")"
else
    pass bad_input_names_rank
fi

echo "mpi: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
