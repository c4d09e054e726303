"""The feature visualisation nerve runs, in PyTorch on the same weights:
the same Fourier parameterisation (scaled by 1 / max(f, 1 / size), divided
by 4, sigmoid), the same same-size random warp (jitter, scale, rotation,
jitter; outside reads 0.5) drawn each step, Adam at 0.05, and the same
objective (a direction at the centre of a layer's map, dot x cos^K), for
a batch of images. Prints seconds per image-step. The ONNX graph is run by
a small interpreter over the operators cnn-small uses.

    /usr/bin/python3 bench/featvis_vs_pytorch.py MODEL.onnx LAYER DIRECTIONS.npy STEPS THREADS
"""
import math
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def run_graph(graph, weights, x, stop):
    vals = {graph.input[0].name: x}
    vals.update(weights)
    for node in graph.node:
        a, i = attrs(node), [vals[n] for n in node.input if n]
        op = node.op_type
        if op == "Sub":
            y = i[0] - i[1]
        elif op == "Mul":
            y = i[0] * i[1]
        elif op == "Conv":
            p = a.get("pads", [0, 0, 0, 0])
            y = F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, stride=a.get("strides", [1, 1]),
                         padding=(p[0], p[1]), groups=a.get("group", 1))
        elif op == "BatchNormalization":
            y = F.batch_norm(i[0], i[3], i[4], i[1], i[2], False, 0.0, a.get("epsilon", 1e-5))
        elif op == "Relu":
            y = F.relu(i[0])
        elif op == "MaxPool":
            p = a.get("pads", [0, 0, 0, 0])
            y = F.max_pool2d(i[0], a["kernel_shape"], a.get("strides", a["kernel_shape"]), (p[0], p[1]))
        elif op == "GlobalAveragePool":
            y = i[0].mean(dim=(2, 3), keepdim=True)
        elif op == "Flatten":
            y = torch.flatten(i[0], 1)
        elif op == "Gemm":
            y = F.linear(i[0], i[1] if a.get("transB", 0) else i[1].t(), i[2])
        else:
            raise SystemExit("operator %s is not in this small interpreter" % op)
        vals[node.output[0]] = y
        if node.output[0] == stop or node.name == stop:
            return y
    raise SystemExit("no layer " + stop)


def fourier_scale(h, w):
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.arange(w // 2 + 1)[None, :] / w
    f = np.maximum(np.sqrt(fx * fx + fy * fy), 1.0 / max(h, w))
    return torch.from_numpy((1.0 / f * math.sqrt(h * w) / 4).astype(np.float32))


def warp(img, rng, jitter):
    n, c, h, w = img.shape
    j1 = torch.from_numpy(rng.integers(-jitter, jitter + 1, size=(n, 2)).astype(np.float32))
    j2 = torch.from_numpy(rng.integers(-(jitter // 2), jitter // 2 + 1, size=(n, 2)).astype(np.float32))
    s = torch.from_numpy(rng.uniform(0.95, 1.05, size=n).astype(np.float32))
    a = torch.from_numpy(np.radians(rng.uniform(-10, 10, size=n)).astype(np.float32))
    # where output pixel u reads: c + R(-a)(u - c - t2) / s - t1, in grid_sample's [-1, 1] units
    cos, sin = torch.cos(a) / s, torch.sin(a) / s
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos, sin
    theta[:, 1, 0], theta[:, 1, 1] = -sin, cos
    t2x, t2y = j2[:, 1] * 2 / (w - 1), j2[:, 0] * 2 / (h - 1)
    theta[:, 0, 2] = -(cos * t2x + sin * t2y) - j1[:, 1] * 2 / (w - 1)
    theta[:, 1, 2] = -(-sin * t2x + cos * t2y) - j1[:, 0] * 2 / (h - 1)
    grid = F.affine_grid(theta, img.shape, align_corners=True)
    return F.grid_sample(img - 0.5, grid, mode="bilinear", padding_mode="zeros", align_corners=True) + 0.5


def main():
    path, layer, dirs, steps, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    model = onnx.load(path)
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    v = torch.from_numpy(np.load(dirs)).float()
    n, h, w = v.shape[0], 28, 28
    scale = fourier_scale(h, w)
    g = torch.Generator().manual_seed(0)
    spec = (torch.randn(n, 1, h, w // 2 + 1, 2, generator=g) * 0.01).requires_grad_()
    opt = torch.optim.Adam([spec], lr=0.05, eps=1e-8)
    rng = np.random.default_rng(0)
    vn = v / v.norm(dim=1, keepdim=True)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        z = torch.view_as_complex(spec) * scale
        img = torch.sigmoid(torch.fft.irfft2(z, s=(h, w)))
        act = run_graph(model.graph, weights, warp(img, rng, 1), layer)
        a = act[:, :, act.shape[2] // 2, act.shape[3] // 2]
        dot = (a * v).sum(1)
        cos = (a * vn).sum(1) / (a.norm(dim=1) + 1e-12)
        loss = -(dot * cos.clamp(min=0.1) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    with torch.no_grad():
        img = torch.sigmoid(torch.fft.irfft2(torch.view_as_complex(spec) * scale, s=(h, w)))
        a = run_graph(model.graph, weights, img, layer)
        a = a[:, :, a.shape[2] // 2, a.shape[3] // 2]
        cosine = ((a * vn).sum(1) / (a.norm(dim=1) + 1e-12)).numpy()
    print("pytorch %d images x %d steps: %.3f s, %.3f ms per image-step (CPU %.3f ms), cosine >= 0.9: %.2f"
          % (n, steps, seconds, 1000 * seconds / (n * steps), 1000 * cpu / (n * steps), float((cosine >= 0.9).mean())))


if __name__ == "__main__":
    main()
