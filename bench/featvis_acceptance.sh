#!/bin/sh
# Issue 20's acceptance figures on the built-in model (cnn-small, cached):
# a default study's extract and Mapper stages, then its featvis stage;
# prints the stage's time, each class image's probability of its class
# (goal >= 0.9 for every class) and the share of the last conv layer's
# Mapper nodes whose image's activation has cosine >= 0.9 with the node's
# mean vector (goal >= 90%).
#   bench/featvis_acceptance.sh [STUDY] [THREADS]
# STUDY: an existing default study to add the stage to (default: made now).
set -eu
cd "$(dirname "$0")/.."
study=${1:-}
threads=${2:-2}
nerve=${NERVE:-build/nerve}   # NERVE: another build's binary
[ -n "${NERVE:-}" ] || make --no-print-directory -s build/nerve
export OMP_NUM_THREADS=$threads
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$study" ]; then
    study=$work/study
    "$nerve" run -q --stages extract,mapper -o "$study" > /dev/null
fi
/usr/bin/time -f "%e s wall, %U s user, %S s system" -o "$work/time" \
    "$nerve" run -q --stages extract,mapper,featvis -o "$study" > /dev/null
echo "== featvis stage of $study ($threads threads)"
cat "$work/time"
jq -r '"stage time (its own clock): \(.seconds | . * 10 | round / 10) s",
       "class probabilities: \([.classes[].probability | . * 1000 | round / 1000])",
       "classes with p >= 0.9: \([.classes[] | select(.probability >= 0.9)] | length) of \(.classes | length)",
       (.layers | to_entries[] | select(.value.nodes) |
        "\(.value.name): \(.value.nodes | length) nodes, cosine >= 0.9: \([.value.nodes[] | select(.cosine >= 0.9)] | length) (\(.value["nodes_cosine_0.9"] * 1000 | round / 10)%), lowest \([.value.nodes[].cosine] | min | . * 1000 | round / 1000)")' \
    "$study/featvis/index.json"
