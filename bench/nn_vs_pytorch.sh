#!/bin/sh
# Inference throughput, nerve vs PyTorch, on torchvision's resnet18 and
# googlenet (batch 16, opset 13) and the transformers vit_b_16 and swin_t
# (batch 8, opset 17, where LayerNorm is one node) with random weights
# (weights=None), 224x224, the same thread count for both (default 2), in
# the same run: two rounds of PyTorch then nerve, the best of RUNS each. Prints images/s for each, the ratio nerve/PyTorch (the
# goals: at least 1.0 for the convnets, 0.8 for the transformers), and how
# far nerve's outputs are from PyTorch's (largest difference over the
# largest magnitude; the goal: under 1e-4), and the load average.
#   bench/nn_vs_pytorch.sh [THREADS] [RUNS] [MODEL,MODEL...]
set -eu
cd "$(dirname "$0")/.."
threads=${1:-2}
runs=${2:-3}
models=${3:-resnet18,googlenet,vit_b_16,swin_t}
scripts/install-deps.sh scripts/peer-packages.txt
make --no-print-directory -s build/libnerve.a
mkdir -p bench/data build/bench
cc -O2 -fopenmp -Iinclude bench/nn_throughput.c build/libnerve.a \
   $(pkg-config --libs jansson stb zlib libprotobuf-c) -lm -o build/bench/nn_throughput
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
/usr/bin/python3 - "$threads" "$runs" "$models" <<'PY'
import os, subprocess, sys, time
import torch, torchvision
threads, runs = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
print("load average before: %.1f %.1f %.1f" % os.getloadavg(), flush=True)
for name in sys.argv[3].split(","):
    torch.manual_seed(0)
    transformer = name in ("vit_b_16", "swin_t")
    batch, opset = (8, 17) if transformer else (16, 13)
    path = "bench/data/%s.%d.onnx" % (name, opset) if transformer else "bench/data/%s.onnx" % name
    kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
    model = getattr(torchvision.models, name)(weights=None, **kwargs).eval()
    # With torchvision's init (std 0.01) googlenet's activations vanish and its
    # output is just the last bias, which would test nothing: Kaiming-normal
    # weights keep the signal alive through every layer.
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
        # ViT's head starts at zeros (its output would be all zeros, which
        # compares nothing): every Linear of a transformer drawn afresh.
        if transformer and isinstance(m, torch.nn.Linear):
            torch.nn.init.normal_(m.weight, std=0.02)
    x = torch.randn(batch, 3, 224, 224)
    if not os.path.exists(path):
        torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"],
                          output_names=["output"], dynamic_axes={"input": {0: "batch"}})
    import numpy as np
    np.save("bench/data/%s.input.npy" % name, x.numpy())
    with torch.no_grad():
        np.save("bench/data/%s.output.npy" % name, model(x).numpy())
    # Two rounds of PyTorch then nerve, each side's best kept: on a shared
    # machine the load moves between the two otherwise.
    torch_rate = nerve_rate = 0
    for _ in range(2):
        with torch.no_grad():
            best = 1e30
            for _ in range(runs):
                t0 = time.perf_counter()
                model(x)
                best = min(best, time.perf_counter() - t0)
        torch_rate = max(torch_rate, batch / best)
        out = subprocess.run(["build/bench/nn_throughput", path, "%d,3,224,224" % batch, str(runs),
                              "bench/data/%s.input.npy" % name, "bench/data/%s.output.npy" % name],
                             check=True, capture_output=True, text=True).stdout.split()
        nerve_rate, difference = max(nerve_rate, float(out[2])), float(out[3])
    print("%-10s PyTorch %6.2f img/s   nerve %6.2f img/s   ratio nerve/PyTorch %.2f (goal >= %.1f)   "
          "output difference %.1e (goal < 1e-4)" % (name, torch_rate, nerve_rate, nerve_rate / torch_rate,
                                                    0.8 if transformer else 1.0, difference), flush=True)
print("load average after: %.1f %.1f %.1f" % os.getloadavg())
PY
