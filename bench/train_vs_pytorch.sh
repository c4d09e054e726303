#!/bin/sh
# One epoch of training cnn-small on Fashion-MNIST's 60,000 training
# images: nerve against PyTorch (the same architecture and initialisation,
# the same standardisation of [0, 1] inputs, Adam at 3e-3 with cosine
# decay, batch 16, same thread count), in the same run. Prints each one's seconds for the
# epoch (data already in memory, evaluation excluded), the ratio, and the
# test accuracy after the epoch.
#   bench/train_vs_pytorch.sh [THREADS] [EPOCHS]
set -eu
cd "$(dirname "$0")/.."
threads=${1:-2}
epochs=${2:-1}
scripts/install-deps.sh scripts/peer-packages.txt
make --no-print-directory -s build/nerve
mkdir -p bench/data
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
/usr/bin/python3 - "$threads" "$epochs" <<'PY'
import gzip, json, subprocess, sys, time
import numpy as np
import torch
from torch import nn

threads, epochs = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
def load(kind, split):
    raw = gzip.open("/usr/share/datasets/fashion-mnist/%s-%s-idx%d-ubyte.gz"
                    % (split, kind, 3 if kind == "images" else 1)).read()
    return np.frombuffer(raw[16 if kind == "images" else 8:], np.uint8)
xtr = torch.tensor(load("images", "train").reshape(-1, 1, 28, 28) / 255.0, dtype=torch.float32)
ytr = torch.tensor(load("labels", "train").astype(np.int64))
xte = torch.tensor(load("images", "t10k").reshape(-1, 1, 28, 28) / 255.0, dtype=torch.float32)
yte = torch.tensor(load("labels", "t10k").astype(np.int64))
class Standardise(nn.Module):
    def forward(self, x):
        return (x - 0.2860) * (1 / 0.3530)
model = nn.Sequential(
    Standardise(),
    nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(64, 256, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
for m in model.modules():   # nerve's initialisation: He-uniform conv weights, PyTorch's defaults else
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
batch = 16
steps = epochs * ((len(xtr) + batch - 1) // batch)
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
loss_fn = nn.CrossEntropyLoss()
t_torch = 0.0
for e in range(epochs):
    model.train()
    order = torch.randperm(len(xtr))
    t0 = time.perf_counter()
    for s in range(0, len(xtr), batch):
        idx = order[s:s + batch]
        opt.zero_grad()
        loss = loss_fn(model(xtr[idx]), ytr[idx])
        loss.backward()
        opt.step()
        sched.step()
    t_torch += time.perf_counter() - t0
model.eval()
with torch.no_grad():
    acc_torch = float((model(xte).argmax(1) == yte).float().mean())
out = subprocess.run(["build/nerve", "train", "-q", "--epochs", str(epochs), "--force", "-o",
                      "bench/data/train_cnn_small.onnx"], check=True, capture_output=True, text=True).stdout
r = json.loads(out)
t_nerve = sum(e["seconds"] for e in r["per_epoch"])
print("train cnn-small, %d epoch(s), batch 16, Adam: PyTorch %.1f s (test accuracy %.4f)   nerve %.1f s "
      "(test accuracy %.4f)   ratio nerve/PyTorch %.2f (goal <= 1)"
      % (epochs, t_torch, acc_torch, t_nerve, r["test_accuracy"], t_nerve / t_torch))
PY
