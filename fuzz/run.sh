#!/bin/sh
# Runs every libFuzzer harness of a fuzz build on its seed corpus.
#   fuzz/run.sh BUILD [libFuzzer options...]
# e.g. fuzz/run.sh build/fuzz -max_total_time=60 (make fuzz) or
#      fuzz/run.sh build/fuzz -max_total_time=5 -seed=1 (make test).
# New inputs go to BUILD/corpus/<harness> (kept between runs; FUZZ_SCRATCH
# names another folder), crashes, leaks, OOMs and timeouts to
# BUILD/findings/<harness>/. One line per harness, then
# "fuzz: N passed, N failed"; the status is 1 if any failed.
set -u
cd "$(dirname "$0")/.."
build=$1
shift
scratch=${FUZZ_SCRATCH:-$build/corpus}
# One thread per harness (they also set it); UBSan's reports with a stack.
export OMP_NUM_THREADS=1 UBSAN_OPTIONS=print_stacktrace=1
passed=0
failed=0
for bin in "$build"/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    mkdir -p "$scratch/$name" "$build/findings/$name"
    dict=""
    [ -f "fuzz/dict/$name.dict" ] && dict="-dict=fuzz/dict/$name.dict"
    log="$build/findings/$name.log"
    # 2 GB is the issue's memory bound; a single input may take 10 s.
    if "$bin" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$build/findings/$name/" $dict "$@" "$scratch/$name" "fuzz/corpus/$name" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
        echo "PASS $name: ${runs:-?} runs, $cov"
        passed=$((passed + 1))
    else
        echo "FAIL $name (log: $log)"
        grep -m 1 -A 12 'ERROR: \|runtime error\|==ERROR\|out-of-memory\|timeout after\|deadly signal' "$log" | sed 's/^/    /'
        grep -m 1 'Test unit written to' "$log" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
