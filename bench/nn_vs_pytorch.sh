#!/bin/sh
# Inference throughput, nerve vs PyTorch, on torchvision's resnet18 and
# googlenet with random weights (weights=None): batch 16, 224x224, the same
# thread count for both (default 2), in the same run. Prints images/s for
# each and the ratio nerve/PyTorch (the goal: at least 1.0).
#   bench/nn_vs_pytorch.sh [THREADS] [RUNS]
set -eu
cd "$(dirname "$0")/.."
threads=${1:-2}
runs=${2:-3}
scripts/install-deps.sh scripts/peer-packages.txt
make --no-print-directory -s build/libnerve.a
mkdir -p bench/data build/bench
cc -O2 -fopenmp -Iinclude bench/nn_throughput.c build/libnerve.a \
   $(pkg-config --libs libzip jansson stb zlib libprotobuf-c openblas) -lm -o build/bench/nn_throughput
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
/usr/bin/python3 - "$threads" "$runs" <<'PY'
import os, subprocess, sys, time
import torch, torchvision
threads, runs = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
for name in ["resnet18", "googlenet"]:
    path = "bench/data/%s.onnx" % name
    kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
    model = getattr(torchvision.models, name)(weights=None, **kwargs).eval()
    x = torch.randn(16, 3, 224, 224)
    if not os.path.exists(path):
        torch.onnx.export(model, x, path, opset_version=13, input_names=["input"],
                          output_names=["output"], dynamic_axes={"input": {0: "batch"}})
    with torch.no_grad():
        model(x)
        best = 1e30
        for _ in range(runs):
            t0 = time.perf_counter()
            model(x)
            best = min(best, time.perf_counter() - t0)
    torch_rate = 16 / best
    out = subprocess.run(["build/bench/nn_throughput", path, "16,3,224,224", str(runs)],
                         check=True, capture_output=True, text=True).stdout.split()
    nerve_rate = float(out[-1])
    print("%-10s PyTorch %6.2f img/s   nerve %6.2f img/s   ratio nerve/PyTorch %.2f (goal >= 1.0)"
          % (name, torch_rate, nerve_rate, nerve_rate / torch_rate), flush=True)
PY
