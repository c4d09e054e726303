#!/bin/sh
# SVCCA of whole conv maps with the DFT (issue 18 point 2): 5,000 inputs
# of 256 x 14 x 14 against 512 x 7 x 7, synthetic data, the goal under
# 10 s on the project machine (2 cores).
#   bench/sim_dft.sh [THREADS] [N C1 S1 C2 S2]
set -eu
cd "$(dirname "$0")/.."
threads=${1:-2}
[ $# -gt 0 ] && shift
make --no-print-directory -s build/libnerve.a
mkdir -p build/bench
cc -O2 -fopenmp -Iinclude bench/sim_dft_time.c build/libnerve.a \
   $(pkg-config --libs jansson stb zlib libprotobuf-c) -lm -o build/bench/sim_dft_time
export OMP_NUM_THREADS=$threads
set -- $(build/bench/sim_dft_time "$@")
echo "svcca-dft: $1 s (mean $2 over $3 coefficients), $threads threads"
