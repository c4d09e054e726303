#!/bin/sh
# Extraction of every layer of the small CNN (tests/fixtures/nn: conv-bn-relu-
# pool x2, fc-relu-fc) for the 10,000 Fashion-MNIST test images: nerve extract
# against PyTorch forward hooks doing the same work (batch 64, one random
# inner position per input for conv maps, every layer to an .npy), same
# thread count, same run. The goal: nerve under 10 s.
#   bench/extract_vs_pytorch.sh [THREADS]
set -eu
cd "$(dirname "$0")/.."
threads=${1:-2}
scripts/install-deps.sh scripts/peer-packages.txt
make --no-print-directory -s build/nerve
mkdir -p bench/data
export OMP_NUM_THREADS=$threads
/usr/bin/python3 - "$threads" <<'PY'
import gzip, os, subprocess, sys, time
import numpy as np, torch
sys.path.insert(0, "tests/fixtures/nn")
from make_nn_fixtures import SmallCNN
threads = int(sys.argv[1])
torch.set_num_threads(threads)
torch.manual_seed(0)
model = SmallCNN().eval()
x0 = torch.randn(64, 1, 28, 28)
torch.onnx.export(model, x0, "bench/data/small_cnn.onnx", opset_version=13, input_names=["input"],
                  output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})

def torch_extract():
    with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    layers = [m for n, m in model.named_modules() if isinstance(m, (torch.nn.ReLU, torch.nn.MaxPool2d,
                                                                      torch.nn.AvgPool2d, torch.nn.Linear))]
    rows = {m: [] for m in layers}
    rng = np.random.default_rng(0)
    def hook(m, args, out):
        out = out.numpy()
        if out.ndim == 4:
            n, c, h, w = out.shape
            ys, xs = rng.integers(1, h - 1, n), rng.integers(1, w - 1, n)
            out = out[np.arange(n), :, ys, xs]
        rows[m].append(out.copy())
    for m in layers:
        m.register_forward_hook(hook)
    with torch.no_grad():
        for i in range(0, len(images), 64):
            model(torch.from_numpy(images[i:i + 64].astype(np.float32) / 255))
    for k, m in enumerate(layers):
        np.save("bench/data/torch_layer%d.npy" % k, np.concatenate(rows[m]))

t0 = time.perf_counter(); torch_extract(); t_torch = time.perf_counter() - t0
t0 = time.perf_counter()
subprocess.run(["build/nerve", "extract", "-q", "-m", "bench/data/small_cnn.onnx", "-d", "fashion-mnist:test",
                "-o", "bench/data/extract-study", "-b", "64"], check=True)
t_nerve = time.perf_counter() - t0
print("extract all layers, 10,000 Fashion-MNIST images: PyTorch hooks %.2f s   nerve %.2f s   "
      "ratio nerve/PyTorch %.2f   (goal: nerve < 10 s)" % (t_torch, t_nerve, t_nerve / t_torch))
PY
