#!/bin/sh
# Builds and runs the test suite twice — plainly, then under AddressSanitizer
# and UndefinedBehaviorSanitizer — then fails allocations one at a time
# through a workload of each command (a sample, sanitized build), runs each
# libFuzzer harness (fuzz/) for a few seconds on its seed corpus, and ends
# with one summary line.
set -u
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
# The browser tests drive Debian's chromium with playwright-core from the npm
# registry, installed once into build/browser.
if [ ! -d build/browser/node_modules/playwright-core ]; then
    mkdir -p build/browser
    npm install --silent --no-audit --no-fund --prefix build/browser playwright-core@1.64.1 >&2 ||
        echo "== could not install playwright-core: the browser test will fail" >&2
fi
passed=0
failed=0
for build in plain sanitized; do
    if [ $build = plain ]; then args="BUILD=build"; else args="BUILD=build/san SAN=1"; fi
    log=$(mktemp)
    echo "== $build build" >&2
    if ! make --no-print-directory -j"$jobs" $args all tests >"$log" 2>&1; then
        cat "$log" >&2
        echo "== $build build: compilation failed" >&2
        failed=$((failed + 1))
        continue
    fi
    make --no-print-directory $args check >"$log" 2>&1
    status=$?
    cat "$log"
    line=$(grep 'Synthesis: Tested:' "$log" | tail -n 1)
    tested=$(echo "$line" | sed -n 's/.*Tested: *\([0-9]*\).*/\1/p')
    passing=$(echo "$line" | sed -n 's/.*Passing: *\([0-9]*\).*/\1/p')
    if [ -z "$tested" ] || [ -z "$passing" ]; then
        echo "== $build build: the test binary gave no summary" >&2
        failed=$((failed + 1))
    else
        passed=$((passed + passing))
        failed=$((failed + tested - passing))
        if [ "$status" -ne 0 ] && [ "$tested" -eq "$passing" ]; then
            echo "== $build build: the test binary exited with status $status" >&2
            failed=$((failed + 1))
        fi
    fi
    rm -f "$log"
done

# The room rule (docs/DESIGN.md): one test.
echo "== check-layers" >&2
if scripts/check-layers.sh; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi

# nerve-mpi (make MPI=1) against nerve: studies of 1, 2 and 3 ranks, a
# rank killed and resumed, a rank's bad input (tests/mpi/run.sh; each a
# test). OpenMPI is installed for this part only (scripts/mpi-packages.txt,
# as root); without it the part is skipped and says so.
echo "== MPI (nerve-mpi)" >&2
log=$(mktemp)
if ! scripts/install-deps.sh scripts/mpi-packages.txt >"$log" 2>&1 || ! command -v mpirun >/dev/null 2>&1; then
    cat "$log" >&2
    echo "== MPI: skipped, OpenMPI is not installed (scripts/mpi-packages.txt)" >&2
elif ! make --no-print-directory -j"$jobs" MPI=1 build/nerve-mpi >"$log" 2>&1; then
    cat "$log" >&2
    echo "== MPI: compilation failed" >&2
    failed=$((failed + 1))
else
    tests/mpi/run.sh build/nerve build/nerve-mpi >"$log" 2>&1
    cat "$log"
    passed=$((passed + $(grep -c '^PASS ' "$log")))
    failed=$((failed + $(grep -c '^FAIL ' "$log")))
    grep -q '^mpi: ' "$log" || { echo "== MPI: the tests gave no summary" >&2; failed=$((failed + 1)); }
fi
rm -f "$log"

# Allocation failures under the sanitizers: a sample of n (about
# ALLOC_TEST_SAMPLE a command, spread over its allocations) through each
# command's small workload (tests/alloc/alloc-fail.sh; make alloc-fail
# tries every n, and train and run, left out here for their 16-19 s a try).
# Each command is one test.
echo "== allocation failures (sanitized build, a sample)" >&2
log=$(mktemp)
if ! make --no-print-directory -j"$jobs" BUILD=build/san SAN=1 build/san/nerve-failalloc >"$log" 2>&1; then
    cat "$log" >&2
    echo "== allocation failures: compilation failed" >&2
    failed=$((failed + 1))
else
    ALLOC_SKIP_HEAVY=1 make --no-print-directory BUILD=build/san SAN=1 alloc-fail ALLOC_SAMPLE="${ALLOC_TEST_SAMPLE:-6}" >"$log" 2>&1
    cat "$log"
    passed=$((passed + $(grep -c '^PASS ' "$log")))
    failed=$((failed + $(grep -c '^FAIL ' "$log")))
    grep -q '^alloc-fail: ' "$log" || { echo "== allocation failures: the driver gave no summary" >&2; failed=$((failed + 1)); }
fi
rm -f "$log"

# The fuzz harnesses (clang, build/fuzz): each one a test, passed when a
# short run from the committed seeds (a fixed seed, at most FUZZ_TEST_RUNS
# inputs or FUZZ_TEST_TIME seconds, a fresh scratch corpus) finds no crash,
# leak, OOM or timeout. The cap on inputs makes the run the same sequence on
# a fast machine as on a slow one.
echo "== fuzz harnesses" >&2
log=$(mktemp)
if ! make --no-print-directory -j"$jobs" fuzz-build >"$log" 2>&1; then
    cat "$log" >&2
    echo "== fuzz harnesses: compilation failed" >&2
    failed=$((failed + 1))
else
    scratch=$(mktemp -d)
    FUZZ_SCRATCH=$scratch fuzz/run.sh build/fuzz -max_total_time="${FUZZ_TEST_TIME:-5}" -runs="${FUZZ_TEST_RUNS:-3000}" -seed=1 >"$log" 2>&1
    cat "$log"
    passed=$((passed + $(grep -c '^PASS ' "$log")))
    failed=$((failed + $(grep -c '^FAIL ' "$log")))
    grep -q '^fuzz: ' "$log" || { echo "== fuzz harnesses: the runner gave no summary" >&2; failed=$((failed + 1)); }
    rm -rf "$scratch"
fi
rm -f "$log"
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
