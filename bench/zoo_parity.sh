#!/bin/sh
# Every torchvision classification model (torchvision.models.list_models),
# exported by torch.onnx.export at opsets 13 and 17, run by nerve: a table
# model x opset x {ok, largest tap error relative to the tensor's largest
# magnitude (goal < 1e-4), nerve / PyTorch time per image}. Not a test: it
# needs python3-torch, torchvision and onnx (scripts/peer-packages.txt), and
# exporting ~80 models twice takes an hour on 2 cores. Scratch files go to
# bench/data/zoo/ and are reused.
#   [BUILD=build] bench/zoo_parity.sh [THREADS] [--models a,b] [--opsets 13,17]
set -eu
cd "$(dirname "$0")/.."
threads=2
case ${1:-} in [0-9]*) threads=$1; shift ;; esac
scripts/install-deps.sh scripts/peer-packages.txt
build=${BUILD:-build}
make --no-print-directory -s BUILD="$build" "$build/libnerve.a"
mkdir -p "$build/bench"
cc -O2 -fopenmp -Iinclude bench/zoo_parity.c "$build/libnerve.a" \
   $(pkg-config --libs jansson stb zlib libprotobuf-c libpng) -ljpeg -lm -o "$build/bench/zoo_parity"
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads ZOO_HELPER="$build/bench/zoo_parity"
exec /usr/bin/python3 bench/zoo_parity.py "$@"
