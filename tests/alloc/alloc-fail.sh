#!/bin/sh
# Allocation-failure injection: runs a small workload of each nerve command
# with its n-th allocation failed, for n = 1, 1 + stride, ... until the
# command ends before making n allocations, and checks each run ended
# cleanly: exit status 1 or 2 with "nerve: error: ..." naming the lack of
# memory, no sanitizer report (LeakSanitizer included), no signal, no hang,
# or status 0 with the same output as a run without injection.
#   tests/alloc/alloc-fail.sh BUILD/nerve-failalloc [COMMAND...]
# (make BUILD=build/san SAN=1 alloc-fail). The stride is $ALLOC_STRIDE
# (default 1: every n), or with ALLOC_SAMPLE=K the one that tries about K
# n spread over each command's allocations (make test's sample). One line
# per failing n, one per command, then "alloc-fail: N passed, N failed" (a
# command passes when all its n do); the status is 1 if any failed.
set -u
cd "$(dirname "$0")/../.."
bin=$1
shift
only="$*"
fix=$PWD/tests/fixtures
work=$(mktemp -d /tmp/nerve-alloc-fail-XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
# One thread: the n-th allocation is then the same call in every run.
export OMP_NUM_THREADS=1
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS=print_stacktrace=1
TIMEOUT=${ALLOC_TIMEOUT:-60}

# The workloads: a command name, then its arguments; @OUT@ is a fresh
# folder for each run, @PREP@ what prepare made, @FIX@ tests/fixtures. A
# name ending in * is heavy (train evaluates 10,000 test images, run makes
# every stage: 16-19 s and thousands of allocations under ASan): always
# sampled, about ALLOC_HEAVY_SAMPLE n (default 12), and left out when
# ALLOC_SKIP_HEAVY=1 (make test). serve is not here: it is a daemon.
workloads() {
    cat <<WORK
info info @FIX@/npy/fortran_f8_3d.npy @FIX@/npz/deflated.npz @FIX@/idx/labels_u8.idx.gz
layers layers @FIX@/nn/small_cnn.onnx --input-shape 1,1,28,28
extract extract -q -m @FIX@/nn/small_cnn.onnx -d fashion-mnist:test -n 4 -b 2 -o @OUT@/study
mapper mapper -q -n 4 -o @OUT@/g.json @FIX@/mapper/circle.points.npy
ph ph -q -o @OUT@/d.json @FIX@/ph/circle.npy
ph-distance ph-distance @PREP@/a.json @PREP@/b.json
embed embed -q --method pca -k 2 -o @OUT@/e.npy @FIX@/embed/points.npy
compare compare --metric all @PREP@/study/acts/a.npy @PREP@/study/acts/b.npy
report report -q --activations 2 -o @OUT@/r.html @PREP@/study
train* train -q -a mlp --limit 64 -e 1 -b 32 -o @OUT@/m.onnx
run* run -q -m @FIX@/nn/small_cnn.onnx -n 100 -o @OUT@/study
WORK
}

# What the workloads read besides the fixtures, made by the same binary
# without injection.
prepare() {
    p=$work/prep
    mkdir -p "$p"
    # 40 inputs: CCA (compare --metric all) needs more than a layer's 32 dimensions.
    "$bin" extract -q -m "$fix/nn/small_cnn.onnx" -d fashion-mnist:test -n 40 -o "$p/study" >/dev/null &&
        "$bin" mapper -q --study "$p/study" >/dev/null &&
        "$bin" ph -q -o "$p/a.json" "$fix/ph/circle.npy" >/dev/null &&
        "$bin" ph -q -o "$p/b.json" "$fix/mapper/circle.points.npy" >/dev/null || return 1
    # Two layers' activations under fixed names for compare.
    set -- "$p"/study/acts/*.npy
    cp "$1" "$p/study/acts/a.npy" && cp "$2" "$p/study/acts/b.npy"
}

# The arguments of workload line "$@" with the placeholders filled; prints
# them one per line (no argument holds a newline).
expand() {
    shift
    for a in "$@"; do
        printf '%s\n' "$a" | sed -e "s|@OUT@|$out|g" -e "s|@PREP@|$work/prep|g" -e "s|@FIX@|$fix|g"
    done
}

# A digest of what a run left: stdout, and every file in its folder with its
# size (not its bytes: a report or a record holds the time it was made).
digest() {
    (cat "$1/stdout"; cd "$1/o" && find . -type f -printf '%p %s\n' | sort) | md5sum | cut -c1-32
}

# Runs the workload with allocation n failed (0: none) in folder $run.
run_once() {
    run=$1 n=$2
    shift 2
    rm -rf "$run"
    mkdir -p "$run/o"
    out=$run/o
    expand "$@" >"$run/args"
    # Arguments from the file, one per line (IFS newline), globbing off.
    (set -f; IFS='
'
     NERVE_FAIL_ALLOC=$n NERVE_FAIL_ALLOC_LOG=$run/log timeout -s KILL "$TIMEOUT" "$bin" $(cat "$run/args") \
        >"$run/stdout" 2>"$run/stderr")
    echo $? >"$run/status"
}

# Why run $1 (with n injected) is not clean, or nothing when it is.
verdict() {
    run=$1 reference=$2
    status=$(cat "$run/status")
    if grep -q 'Sanitizer\|runtime error' "$run/stderr"; then
        grep -m 1 'ERROR: \|runtime error' "$run/stderr" | sed 's/^==[0-9]*==//'
        grep -m 1 -E '#[0-9]+ .* in [A-Za-z_0-9]+ (src|cli)/' "$run/stderr" | sed 's/^ */    at /'
    elif [ "$status" -eq 137 ]; then
        echo "hung (killed after $TIMEOUT s)"
    elif [ "$status" -ge 128 ]; then
        echo "killed by signal $((status - 128))"
    elif [ "$status" -eq 0 ]; then
        [ "$(digest "$run")" = "$reference" ] || echo "exit 0 with output different from a run without injection"
    elif [ "$status" -ne 1 ] && [ "$status" -ne 2 ]; then
        echo "exit status $status"
    elif ! grep -q '^nerve: error: ' "$run/stderr"; then
        echo "exit $status without 'nerve: error:'"
    elif ! grep -qi 'memory\|alloc' "$run/stderr"; then
        echo "exit $status, the message does not name the lack of memory: $(grep -m 1 '^nerve: error: ' "$run/stderr")"
    fi
}

passed=0
failed=0
prepare || { echo "alloc-fail: could not prepare the workloads' inputs" >&2; exit 1; }
workloads | while read -r line; do
    set -- $line
    name=${1%\*} heavy=0
    [ "$name" = "$1" ] || heavy=1
    [ -z "$only" ] || case " $only " in *" $name "*) ;; *) continue ;; esac
    [ $heavy -eq 1 ] && [ "${ALLOC_SKIP_HEAVY:-0}" = 1 ] && continue
    run_once "$work/ref" 0 $line
    if [ "$(cat "$work/ref/status")" -ne 0 ]; then
        echo "FAIL $name: the workload fails without injection:"; sed 's/^/    /' "$work/ref/stderr"
        echo "result $name 1"
        continue
    fi
    reference=$(digest "$work/ref")
    total=$(sed -n 's/^calls //p' "$work/ref/log")
    stride=${ALLOC_STRIDE:-1}
    sample=${ALLOC_SAMPLE:-0}
    [ $heavy -eq 1 ] && { [ "$sample" -gt 0 ] || sample=${ALLOC_HEAVY_SAMPLE:-12}; }
    [ "$sample" -gt 0 ] && stride=$(( (total + sample - 1) / sample ))
    [ "$stride" -ge 1 ] || stride=1
    bad=0 n=1 tried=0
    start=$(date +%s)
    while :; do
        run_once "$work/run" $n $line
        grep -q '^injected' "$work/run/log" 2>/dev/null || break   # past the last allocation
        tried=$((tried + 1))
        why=$(verdict "$work/run" "$reference")
        if [ -n "$why" ]; then
            bad=$((bad + 1))
            echo "  $name n=$n: $why" | head -n 3
        fi
        n=$((n + stride))
    done
    echo "$([ $bad -eq 0 ] && echo PASS || echo FAIL) $name: $tried of $total allocations failed in turn, $bad not clean ($(( $(date +%s) - start )) s)"
    echo "result $name $bad"
done >"$work/report"
grep -v '^result ' "$work/report"
passed=$(grep -c '^result .* 0$' "$work/report")
failed=$(grep -c '^result .* [1-9][0-9]*$' "$work/report")
echo "alloc-fail: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
