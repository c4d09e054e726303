#!/usr/bin/python3
"""Every torchvision classification model, exported by torch.onnx.export at
opsets 13 and 17, run by nerve and compared with PyTorch (bench/zoo_parity.sh).

For each model and opset, in its own process (so one model's memory is
freed before the next): random weights (torch.manual_seed(0)), eval mode,
one 1x3xSxS input (S = 224, 299 for inception_v3); PyTorch's output of
every leaf module (forward hooks) keyed by the ONNX value that the last
node of the module's scope writes (torch 1.13 names nodes
"/features/features.0/Conv"), and the model's output. Models past
protobuf's 2 GB (vit_h_14, regnet_y_128gf) are exported with their weights
in one external data file beside the model (NAME.OPSET.onnx.data). Then
the helper build/bench/zoo_parity runs nerve on the same input and compares
every tap. Scratch files go to bench/data/zoo/ (not committed); a model
whose NAME.OPSET.json is there is not exported again (delete it to redo the
PyTorch side).

    bench/zoo_parity.py [--models a,b,...] [--opsets 13,17] [--runs N]

Prints one row per model and opset: ok / FAIL, the largest error of any tap
relative to that tensor's largest magnitude (goal < 1e-4), the taps
compared, and nerve's time per image over PyTorch's, side by side: PyTorch
(in a child process, the model built afresh with the same seed) and then
nerve, one after the other, best of N runs each, the same thread count;
and the input gradient of output element 0 (or, where the output does not
depend on the input, of the last module output that does) from nerve's
tape against PyTorch's (relative to its largest magnitude): every backward
step the model needs, as feature visualisation uses them.
"""
import argparse, json, os, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRATCH = os.path.join(ROOT, "bench", "data", "zoo")
HELPER = os.environ.get("ZOO_HELPER", os.path.join(ROOT, "build", "bench", "zoo_parity"))
GOAL = 1e-4

def input_size(name):
    return 299 if name == "inception_v3" else 224


def scope_of(model, module_name):
    """The node-name prefix torch 1.13 gives a module's nodes. A called
    container's index is joined to its name ("features.1.block.0" is
    "/features/features.1/block/block.0/"); a ModuleList, iterated rather than
    called, has no scope of its own ("blocks.0.layers.1" is
    "/blocks.0/layers.1/")."""
    import torch
    modules = dict(model.named_modules())
    parts, path = [], ""
    for p in module_name.split("."):
        if p.isdigit() and parts and isinstance(modules[path], torch.nn.ModuleList):
            parts[-1] += "." + p
        elif p.isdigit() and parts:
            parts.append(parts[-1] + "." + p)
        else:
            parts.append(p)
        path = path + "." + p if path else p
    return "/" + "/".join(parts) + "/"

def build_model(name):
    import torch, torchvision
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None).eval()
    size = input_size(name)
    return model, torch.randn(1, 3, size, size)


def export_onnx(model, x, opset, path):
    """torch.onnx.export into a folder of its own (past 2 GB it writes each
    weight to a file of its own beside the model); such weights are then
    gathered into one data file, PATH.data, beside PATH."""
    import shutil, onnx, torch
    folder = path + ".export"
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    inside = os.path.join(folder, "model.onnx")
    # torch 1.13's exporter has no symbolic for aten::zero (Swin V2 zeroes a
    # third of its qkv bias in place): zeroing is multiplying by 0.
    torch.onnx.register_custom_op_symbolic(
        "aten::zero", lambda g, self: g.op("Mul", self, g.op("Constant", value_t=torch.tensor(0.0))), opset)
    torch.onnx.export(model, x, inside, opset_version=opset, input_names=["input"], output_names=["output"])
    if os.listdir(folder) == ["model.onnx"]:
        os.replace(inside, path)
    else:
        whole = onnx.load(inside)   # reads the per-weight files
        if os.path.exists(path + ".data"):
            os.remove(path + ".data")   # onnx.save appends to it
        onnx.save(whole, path + ".tmp", save_as_external_data=True, all_tensors_to_one_file=True,
                  location=os.path.basename(path) + ".data")
        os.replace(path + ".tmp", path)
    shutil.rmtree(folder)


def nodes_of_call(graph, model, module_name, k):
    """The ONNX nodes of call k of a module. A module called again (a ResNet
    block's one ReLU) has a scope per call: "relu/", "relu_1/", ..."""
    scope = scope_of(model, module_name)
    if k:
        scope = scope[:-1] + "_%d/" % k
    return [n for n in graph.node if n.name.startswith(scope)]


def export_one(name, opset):
    """Runs in a child process: writes NAME.OPSET.{onnx,input.npy,taps.npz,json}."""
    import numpy as np, onnx, torch
    stem = os.path.join(SCRATCH, "%s.%d" % (name, opset))
    model, x = build_model(name)
    outputs, calls = [], {}   # (module name, call number, output) in the order the modules ran

    def hook(module_name):
        def record(module, args, out):
            if isinstance(out, torch.Tensor):
                k = calls[module_name] = calls.get(module_name, -1) + 1
                outputs.append((module_name, k, out.detach().numpy().copy()))
        return record

    for module_name, module in model.named_modules():
        if module_name and not list(module.children()):
            module.register_forward_hook(hook(module_name))
    with torch.no_grad():
        final = model(x).numpy()
    for module in model.modules():
        module._forward_hooks.clear()
    if not os.path.exists(stem + ".onnx"):
        export_onnx(model, x, opset, stem + ".onnx")
    graph = onnx.load(stem + ".onnx", load_external_data=False).graph
    # In the order the modules ran. A module called again (a ResNet block's
    # one ReLU) has a scope per call: "relu/", "relu_1/", ... The exporter
    # folds an eval-mode BatchNorm into the convolution before it, leaving
    # the norm's scope empty: then the convolution node's output is the
    # norm's output, and PyTorch's norm output is what it must equal.
    taps, last, last_kind = {"output": final}, None, None
    kinds = dict(model.named_modules())
    for module_name, k, value in outputs:
        inside = nodes_of_call(graph, model, module_name, k)
        if inside:
            last, last_kind = inside[-1].output[0], inside[-1].op_type
            taps.setdefault(last, value)
        elif isinstance(kinds[module_name], torch.nn.BatchNorm2d) and last_kind == "Conv" and last != "output":
            taps[last] = value
    np.save(stem + ".input.npy", x.numpy())
    np.savez(stem + ".taps.npz", **taps)
    ops = sorted({n.op_type for n in graph.node})
    with open(stem + ".json", "w") as f:
        json.dump({"ops": ops}, f)


def grad_one(name, opset):
    """Runs in a child process: PyTorch's gradient of output element 0 with
    respect to the input (eval mode) as NAME.OPSET.grad.npy, and the ONNX
    value it is of in NAME.OPSET.grad.json. Where the output does not depend
    on the input (a ViT's head starts at zero) the last leaf module's output
    that does is taken instead, by its ONNX value."""
    import numpy as np, onnx, torch
    stem = os.path.join(SCRATCH, "%s.%d" % (name, opset))
    model, x = build_model(name)
    x.requires_grad_(True)
    outputs, calls = [], {}

    def record(module_name):
        def hook(module, args, out):
            if isinstance(out, torch.Tensor):
                k = calls[module_name] = calls.get(module_name, -1) + 1
                outputs.append((module_name, k, out))
        return hook

    for module_name, module in model.named_modules():
        if module_name and not list(module.children()):
            module.register_forward_hook(record(module_name))
    y = model(x)
    value, (g,) = "output", torch.autograd.grad(y[0, 0], x, retain_graph=True, allow_unused=True)
    if g is None or not float(g.abs().max()) > 0:
        graph = onnx.load(stem + ".onnx", load_external_data=False).graph
        for module_name, k, out in reversed(outputs):
            inside = nodes_of_call(graph, model, module_name, k)
            if not inside or not out.requires_grad:
                continue
            (g,) = torch.autograd.grad(out.flatten()[0], x, retain_graph=True, allow_unused=True)
            if g is not None and float(g.abs().max()) > 0:
                value = inside[-1].output[0]
                break
    np.save(stem + ".grad.npy", g.detach().numpy())
    with open(stem + ".grad.json", "w") as f:
        json.dump({"value": value}, f)


def time_one(name, runs):
    """Runs in a child process: PyTorch's best time of one forward pass."""
    import torch
    model, x = build_model(name)
    best = float("inf")
    with torch.no_grad():
        model(x)   # warm-up, as nerve's helper loads before it times
        for _ in range(runs):
            t0 = time.perf_counter()
            model(x)
            best = min(best, time.perf_counter() - t0)
    print(best)


def child(*args):
    done = subprocess.run([sys.executable, os.path.abspath(__file__)] + list(args), capture_output=True, text=True)
    last = (done.stderr.strip().splitlines() or ["?"])[-1]
    return done.returncode, done.stdout, last[:100]


def run_one(name, opset, runs):
    """Exports if needed (child process), times PyTorch (child) then nerve; returns the row."""
    stem = os.path.join(SCRATCH, "%s.%d" % (name, opset))
    if not os.path.exists(stem + ".json"):
        rc, _, why = child("--export-one", name, str(opset))
        if rc != 0:
            return {"status": "FAIL", "note": "export failed: " + why}
    grad = stem + ".grad.npy"
    if not os.path.exists(stem + ".grad.json"):
        child("--grad-one", name, str(opset))   # a failure leaves no file: the gradient column says so
    of = json.load(open(stem + ".grad.json"))["value"] if os.path.exists(stem + ".grad.json") else "output"
    rc, out, why = child("--time-one", name, "--runs", str(runs))
    if rc != 0:
        return {"status": "FAIL", "note": "PyTorch failed: " + why}
    torch_seconds = float(out.split()[-1])
    done = subprocess.run([HELPER, stem + ".onnx", stem + ".input.npy", stem + ".taps.npz", str(runs)]
                          + ([grad, of] if os.path.exists(grad) else []), capture_output=True, text=True)
    words = done.stdout.split()
    if done.returncode != 0 or not words or words[0] != "taps":
        return {"status": "FAIL", "note": (done.stdout + done.stderr).strip()[:160]}
    compared, mismatched, worst, worst_tap, seconds = int(words[1]), int(words[2]), float(words[4]), words[5], float(words[7])
    ok = worst <= GOAL and compared > 0
    note = "" if ok else "worst tap " + worst_tap
    if mismatched:
        note += (" " if note else "") + "%d taps of another shape (hook mapping)" % mismatched
    grad_text = "-"
    if len(words) > 9 and words[8] == "grad":
        grad_text = "%.1e" % float(words[9]) + ("" if of == "output" else " (of %s)" % of)
    elif len(words) > 9 and words[8] == "grad-error":
        grad_text = "none: " + words[9].replace("_", " ")[-90:]
    return {"status": "ok" if ok else "FAIL", "error": worst, "taps": compared,
            "ratio": seconds / torch_seconds, "grad": grad_text, "note": note}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--models", default="")
    p.add_argument("--opsets", default="13,17")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--export-one", nargs=2, metavar=("MODEL", "OPSET"))
    p.add_argument("--time-one", metavar="MODEL")
    p.add_argument("--grad-one", nargs=2, metavar=("MODEL", "OPSET"))
    a = p.parse_args()
    os.makedirs(SCRATCH, exist_ok=True)
    if a.export_one:
        export_one(a.export_one[0], int(a.export_one[1]))
        return
    if a.time_one:
        time_one(a.time_one, a.runs)
        return
    if a.grad_one:
        grad_one(a.grad_one[0], int(a.grad_one[1]))
        return
    import torchvision
    names = a.models.split(",") if a.models else torchvision.models.list_models(module=torchvision.models)
    opsets = [int(o) for o in a.opsets.split(",")]
    print("| model | opset | result | max rel. error | taps | nerve / PyTorch time | input gradient rel. error | note |")
    print("|---|---|---|---|---|---|---|---|", flush=True)
    counts = {}
    for name in names:
        for opset in opsets:
            r = run_one(name, opset, a.runs)
            key = r["status"].split(":")[0]
            counts[key] = counts.get(key, 0) + 1
            print("| %s | %d | %s | %s | %s | %s | %s | %s |" % (
                name, opset, r["status"], "%.1e" % r["error"] if "error" in r else "-",
                r.get("taps", "-"), "%.2f" % r["ratio"] if "ratio" in r else "-", r.get("grad", "-"),
                r.get("note", "")), flush=True)
    print("\n" + ", ".join("%d %s" % (v, k) for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
