#!/bin/sh
# The default study end to end, twice: from a fresh machine's state (no
# model cached: nerve trains cnn-small with its checkpoints first) and with
# the model cached (every stage recomputed). Goals: under 5 minutes fresh,
# under 60 s cached, on 2 cores. Then the viewer's live Mapper recompute of
# a 10,000-point layer through nerve serve (goal: under 1 s).
#   bench/default_study.sh [THREADS]
# There is no peer to run beside it: the Python stack this replaces is many
# separate tools (the per-stage benchmarks compare each against its peer).
set -eu
cd "$(dirname "$0")/.."
threads=${1:-2}
make --no-print-directory -s build/nerve
export OMP_NUM_THREADS=$threads
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
server=

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

echo "== fresh: training the built-in model, then every stage"
t0=$(now)
NERVE_CACHE=$work/cache build/nerve run -q -o "$work/fresh" | tail -n 2
t1=$(now)
echo "== cached model: every stage again (--force)"
NERVE_CACHE=$work/cache build/nerve run -q --force -o "$work/fresh" | tail -n 2
t2=$(now)
fresh=$(elapsed "$t0" "$t1")
cached=$(elapsed "$t1" "$t2")

build/nerve serve --port 0 "$work/fresh" >"$work/serve.log" &
server=$!
while ! grep -q http "$work/serve.log"; do sleep 0.1; done
url=$(sed -n 's/.*\(http:[^ ]*\).*/\1/p' "$work/serve.log")
layer=$(curl -s "${url}api/study" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["mapper"]["layers"][-2]["name"])' 2>/dev/null ||
        echo /relu3/Relu_output_0)
recompute=$(curl -s -o /dev/null -w '%{time_total}' "${url}api/mapper?layer=$(printf %s "$layer" | sed 's|/|%2F|g')&intervals=20&overlap=0.3")
kill $server
server=

build/nerve report -q -o "$work/report.html" "$work/fresh" >/dev/null
size=$(stat -c %s "$work/report.html")

printf 'default study, %s threads: fresh %.1f s (goal < 300 s), model cached %.1f s (goal < 60 s)\n' "$threads" "$fresh" "$cached"
printf 'viewer: Mapper recompute of %s (10,000 points) %.3f s (goal < 1 s); report %.1f MB\n' "$layer" "$recompute" "$(echo "$size / 1000000" | bc -l)"
