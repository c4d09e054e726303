#!/usr/bin/python3
"""Writes the fuzz harnesses' seed corpora, fuzz/corpus/<harness>/: small
valid inputs of every format nerve parses, and for ONNX one tiny model per
operator nerve runs (with the attributes a hostile model would bend:
Conv's kernel_shape and pads, Concat's inputs, Pad's pads, Reshape's
shape), so that mutation starts from every operator.

Run from the repository: /usr/bin/python3 fuzz/make_corpus.py
(numpy and onnx 1.12). The files are committed; the harnesses need no Python.
"""
import gzip
import io
import json
import os
import shutil
import struct
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")


def out(harness, name, data):
    folder = os.path.join(ROOT, harness)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def npy_bytes(a, version=None):
    b = io.BytesIO()
    if version is None:
        np.save(b, a)
    else:
        np.lib.format.write_array(b, a, version=version)
    return b.getvalue()


def npy():
    rng = np.random.default_rng(0)
    out("fuzz_npy", "f32.npy", npy_bytes(rng.standard_normal((3, 4)).astype(np.float32)))
    out("fuzz_npy", "f64_fortran.npy", npy_bytes(np.asfortranarray(rng.standard_normal((2, 3)))))
    out("fuzz_npy", "i64.npy", npy_bytes(np.arange(6, dtype=np.int64).reshape(2, 3)))
    out("fuzz_npy", "u8_3d.npy", npy_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4)))
    out("fuzz_npy", "f16_be.npy", npy_bytes(np.arange(4, dtype=">f2")))
    out("fuzz_npy", "scalar.npy", npy_bytes(np.float32(1.5)))
    out("fuzz_npy", "empty.npy", npy_bytes(np.zeros((0, 5), np.float32)))
    out("fuzz_npy", "v2.npy", npy_bytes(np.ones((2, 2), np.float32), version=(2, 0)))
    out("fuzz_npy", "bool.npy", npy_bytes(np.array([True, False])))


def npz():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(4, dtype=np.int64)
    for name, save in (("stored.npz", np.savez), ("deflated.npz", np.savez_compressed)):
        buf = io.BytesIO()
        save(buf, x=a, y=b)
        out("fuzz_npz", name, buf.getvalue())
    # A v3 header member, as numpy writes for non-latin1 field names.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("v3.npy", npy_bytes(a, version=(3, 0)))
    out("fuzz_npz", "v3.npz", buf.getvalue())


def copy_fixtures(harness, folder, names):
    for name in names:
        with open(os.path.join(FIXTURES, folder, name), "rb") as f:
            out(harness, name, f.read())


def zoo_blocks():
    # Blocks of today's architectures (tests/fixtures/zoo/make_zoo.py): the
    # operators of MobileNetV3, ShuffleNet, ConvNeXt and ViT wired as torch
    # exports them, for mutation to start from.
    copy_fixtures("fuzz_onnx", "zoo", ["mobilenet_v3_block.13.onnx", "shufflenet_block.13.onnx",
                                       "convnext_block.17.onnx", "vit_two_layers.17.onnx"])


def idx():
    copy_fixtures("fuzz_idx", "idx", sorted(n for n in os.listdir(os.path.join(FIXTURES, "idx"))
                                            if not n.endswith(".npy")))
    images = struct.pack(">IIII", 0x0803, 2, 3, 3) + bytes(range(18))
    out("fuzz_idx", "images_3d.idx", images)
    out("fuzz_idx", "images_3d.idx.gz", gzip.compress(images, mtime=0))


def images():
    copy_fixtures("fuzz_image", "image", ["gray.png", "rgb.png", "rgba.png", "rgb.jpg"])


def ph_text():
    rng = np.random.default_rng(1)
    pts = rng.standard_normal((8, 2))
    out("fuzz_ph_text", "points.txt", "\n".join(" ".join("%.4f" % v for v in p) for p in pts) + "\n")
    out("fuzz_ph_text", "points_comma.txt", "\n".join(",".join("%.3g" % v for v in p) for p in pts[:5]) + "\n")
    d = np.linalg.norm(pts[:6, None] - pts[None, :6], axis=2)
    lower = "\n".join(" ".join("%.4f" % d[i, j] for j in range(i)) for i in range(6))
    out("fuzz_ph_text", "lower.txt", lower + "\n")
    out("fuzz_ph_text", "lower_commas.txt", "\n".join(",".join("%.2f" % d[i, j] for j in range(i)) for i in range(4)))
    out("fuzz_ph_text", "specials.txt", "0 0\n1 nan\ninf 2\n-1e308 3\n")


def diagrams():
    doc = {"points": 6, "max_dim": 1, "threshold": None,
           "diagrams": [{"dim": 0, "pairs": [[0, 0.5], [0, 1.25], [0, None]]},
                        {"dim": 1, "pairs": [[0.75, 1.5], [1.0, 1.1]]}]}
    out("fuzz_diagram_json", "ph.json", json.dumps(doc))
    out("fuzz_diagram_json", "bare.json", json.dumps([[0.1, 0.4], [0.2, None], [0.3, 0.35]]))
    out("fuzz_diagram_json", "four_dims.json",
        json.dumps({"diagrams": [{"pairs": [[0, 1]]}, {"pairs": []}, {"pairs": [[1, 2]]}, {"pairs": [[2, 3]]}]}))


def manifest():
    doc = {"version": 1, "model": {"path": "model.onnx", "input_shape": [1, 1, 28, 28]},
           "inputs": {"spec": "fashion-mnist:test", "count": 64, "skipped": 0},
           "vectors": "mean",
           "layers": [{"name": "/conv1/Conv_output_0", "file": "acts/_conv1_Conv_output_0.npy", "rows": 64,
                       "shape": [8, 14, 14], "dim": 8},
                      {"name": "logits", "file": "acts/logits.npy", "rows": 64, "shape": [10], "dim": 10}],
           "run": {"extract": {"done": True}}}
    out("fuzz_manifest", "manifest.json", json.dumps(doc))
    out("fuzz_manifest", "minimal.json", json.dumps({"inputs": {"count": 1}, "layers": [{"name": "a", "file": "a.npy", "rows": 1}]}))


def queries():
    for i, target in enumerate([
            "/", "/index.html", "/app.js", "/study/manifest.json", "/study/acts/x.npy", "/api/study",
            "/api/mapper?layer=%2Fconv1%2FConv_output_0&intervals=10&overlap=0.5&eps=0.3&min_samples=3&lens=pca",
            "/api/mapper?layer=logits&clusterer=dbscan&intervals=200&overlap=0.95",
            "/api/activations?input=3", "/study/../manifest.json", "/api/activations?input=-1&input=2",
            "/study/a%20b+c.json?x=1"]):
        out("fuzz_query", "target%02d" % i, target)


# ---- ONNX: a tiny model per operator -----------------------------------------------------------

def tensor(name, a):
    return numpy_helper.from_array(np.asarray(a), name)


def model(name, nodes, inputs, outputs, inits=(), opset=13):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="nerve-fuzz")
    m.ir_version = 7
    out("fuzz_onnx", name + ".onnx", m.SerializeToString())


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def onnx_models():
    rng = np.random.default_rng(2)
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)
    X = vi("x", [1, 2, 4, 4])
    Y = vi("y", None)
    one = lambda op, name=None, inits=(), inputs=("x",), opset=13, **attrs: model(
        name or op.lower(), [helper.make_node(op, list(inputs), ["y"], **attrs)], [X], [Y], inits, opset)
    for op in ("Relu", "Sigmoid", "Tanh", "Erf", "Identity", "Dropout", "GlobalAveragePool", "GlobalMaxPool",
               "Shape"):
        one(op)
    one("LeakyRelu", alpha=0.2)
    one("Softmax", axis=1)
    one("LogSoftmax", axis=-1)
    one("Flatten", axis=2)
    one("Transpose", perm=[0, 2, 3, 1])
    one("LRN", size=3, alpha=1e-4, beta=0.75, bias=1.0)
    one("ReduceMean", axes=[2, 3], keepdims=1)
    one("Clip", inputs=("x", "lo", "hi"), inits=[tensor("lo", np.float32(-0.5)), tensor("hi", np.float32(0.5))])
    for op in ("Add", "Sub", "Mul", "Div"):
        one(op, inputs=("x", "b"), inits=[tensor("b", f32(1, 2, 1, 1) + 2)])
    one("Concat", inputs=("x", "x"), axis=1)
    one("Concat", "concat_optional", inputs=("x", "", "x"), axis=1)
    one("Reshape", inputs=("x", "s"), inits=[tensor("s", np.array([1, -1, 4], np.int64))])
    one("Reshape", "reshape_zero", inputs=("x", "s"), inits=[tensor("s", np.array([0, 0, 16], np.int64))])
    one("Squeeze", inputs=("x", "a"), inits=[tensor("a", np.array([0], np.int64))])
    one("Unsqueeze", inputs=("x", "a"), inits=[tensor("a", np.array([0], np.int64))])
    one("Gather", inputs=("x", "i"), inits=[tensor("i", np.array([1, 0], np.int64))], axis=1)
    one("Pad", inputs=("x", "p"), inits=[tensor("p", np.array([0, 0, 1, 1, 0, 0, 2, 2], np.int64))], mode="constant")
    one("Pad", "pad_reflect", inputs=("x", "p"), inits=[tensor("p", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))],
        mode="reflect")
    one("Pad", "pad_opset9", opset=9, pads=[0, 0, 1, 1, 0, 0, 1, 1], value=0.0)
    one("Conv", inputs=("x", "w", "b"), inits=[tensor("w", f32(3, 2, 3, 3)), tensor("b", f32(3))],
        kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1)
    one("Conv", "conv_grouped", inputs=("x", "w"), inits=[tensor("w", f32(4, 1, 2, 2))], group=2, strides=[2, 2])
    one("Conv", "conv_auto_pad", inputs=("x", "w"), inits=[tensor("w", f32(2, 2, 3, 3))], auto_pad="SAME_UPPER",
        dilations=[2, 2])
    one("MaxPool", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1], ceil_mode=1)
    one("AveragePool", kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=0)
    one("BatchNormalization", inputs=("x", "s", "b", "m", "v"),
        inits=[tensor("s", f32(2)), tensor("b", f32(2)), tensor("m", f32(2)), tensor("v", np.ones(2, np.float32))],
        epsilon=1e-5)
    model("constant", [helper.make_node("Constant", [], ["c"], value=tensor("v", f32(1, 2, 1, 1))),
                       helper.make_node("Add", ["x", "c"], ["y"])], [X], [Y])
    V = vi("x", [2, 8])
    model("gemm", [helper.make_node("Gemm", ["x", "w", "b"], ["y"], alpha=1.0, beta=1.0, transB=1)], [V], [Y],
          [tensor("w", f32(3, 8)), tensor("b", f32(3))])
    model("matmul", [helper.make_node("MatMul", ["x", "w"], ["y"])], [V], [Y], [tensor("w", f32(8, 3))])
    # A small network: every tap kind of a real model in one seed.
    shutil.copy(os.path.join(FIXTURES, "nn", "inception_block.onnx"), os.path.join(ROOT, "fuzz_onnx"))


# ---- dictionaries: the words a mutation should splice in ---------------------------------------

# The operators nerve runs (`nerve layers --ops`) and the attributes they read.
OPS = ("Add Sub Mul Div Relu LeakyRelu Sigmoid Tanh Clip Erf Dropout Identity Sqrt Exp Log Neg Abs Reciprocal "
       "Softplus Softsign HardSigmoid HardSwish Elu Selu ThresholdedRelu Floor Ceil Round Sign Sin Cos Tan "
       "Asin Acos Atan Sinh Cosh Asinh Acosh Atanh Concat Flatten Reshape Transpose Squeeze Unsqueeze "
       "Constant Shape Gather Pad Gemm MatMul Conv MaxPool AveragePool GlobalAveragePool GlobalMaxPool "
       "BatchNormalization LRN Softmax LogSoftmax LayerNormalization Equal Less LessOrEqual Greater "
       "GreaterOrEqual And Or Xor Not Where Pow Mod Min Max Cast PRelu Sum Mean IsNaN IsInf ReduceSum "
       "ReduceMean ReduceMax ReduceMin ReduceProd ReduceSumSquare ReduceL1 ReduceL2 ReduceLogSum "
       "ReduceLogSumExp ArgMax ArgMin Slice Split Expand Tile Range ConstantOfShape ScatterND Einsum").split()
ATTRS = ("allowzero alpha auto_pad axes axis beta bias ceil_mode constant count_include_pad dilations end epsilon "
         "group keepdims kernel_shape max min mode momentum paddings pads perm ratio shape size start "
         "storage_order strides training_mode value transA transB SAME_UPPER SAME_LOWER VALID NOTSET reflect "
         "edge").split()


def dictionary(harness, words):
    folder = os.path.join(os.path.dirname(ROOT), "dict")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, harness + ".dict"), "w") as f:
        f.write("# Written by fuzz/make_corpus.py.\n")
        for w in words:
            f.write('"%s"\n' % "".join(c if (c.isascii() and c.isalnum()) or c in "_-./ []{}:,=&?" else "\\x%02x" % ord(c) for c in w))


def dictionaries():
    # A protobuf string is its length then its bytes: each word also comes
    # with its length byte, so a mutation can put in a whole new name.
    dictionary("fuzz_onnx", [w for word in OPS + ATTRS for w in (word, chr(len(word)) + word)]
               + ["\x08\x80\x80\x80\x80\x10", "\xff\xff\xff\xff\x07", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"])
    json_words = ['{', '}', '[', ']', ':', ',', 'null', 'true', '-1', '0', '1e308', '-1e308', '1e-300',
                  '9223372036854775807', '4611686018427387904', '""']
    dictionary("fuzz_diagram_json", json_words + ['"diagrams"', '"pairs"', '"dim"', '"points"', '"max_dim"',
                                                  '"threshold"'])
    dictionary("fuzz_manifest", json_words + ['"inputs"', '"count"', '"skipped"', '"spec"', '"layers"', '"name"',
                                              '"file"', '"rows"', '"shape"', '"dim"', '"model"', '"run"',
                                              '"../../x.npy"', '"/etc/passwd"'])
    dictionary("fuzz_query", ["/api/mapper", "/api/activations", "/api/study", "/study/", "?", "&", "=", "%", "%00",
                              "%2F", "%2e%2e", "../", "layer=", "input=", "intervals=", "overlap=", "eps=",
                              "min_samples=", "lens=", "clusterer=", "nan", "inf", "1e-300", "-0",
                              "9223372036854775807"])
    dictionary("fuzz_npy", ["\x93NUMPY", "'descr':", "'fortran_order':", "'shape':", "True", "False", "'<f4'", "'<f8'",
                            "'<i8'", "'>f2'", "'|u1'", "'|b1'", "'<c8'", "(", ")", ",", "\x02\x00", "\x03\x00",
                            "\xff\xff\xff\xff"])


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    npy(); npz(); idx(); images(); ph_text(); diagrams(); manifest(); queries(); onnx_models(); zoo_blocks()
    dictionaries()


if __name__ == "__main__":
    main()
