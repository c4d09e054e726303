#!/usr/bin/python3
"""The own-model recipe on an ImageNet-style model (issue 17's acceptance).

    /usr/bin/python3 bench/own_resnet18.py OUT

writes OUT/resnet18.onnx (torchvision's resnet18, random weights, seed 0,
exported by torch.onnx.export at opset 13 with a dynamic batch) and
OUT/photos/<class>/<n>.jpg: 300 Fashion-MNIST test images (Debian's
dataset-fashion-mnist) made 96 x 96 colour JPEGs, tinted per class, as a
folder of photos a user would bring. bench/own_resnet18.sh runs nerve on
them. Neither is committed.
"""
import gzip
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image

CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]


def fashion_mnist(n):
    root = "/usr/share/datasets/fashion-mnist"
    with gzip.open(os.path.join(root, "t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:n]
    with gzip.open(os.path.join(root, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    return images, labels


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval()
    torch.onnx.export(model, torch.zeros(1, 3, 224, 224), os.path.join(out, "resnet18.onnx"), opset_version=13,
                      input_names=["image"], output_names=["logits"], dynamic_axes={"image": {0: "n"}})
    images, labels = fashion_mnist(300)
    rng = np.random.default_rng(0)
    tints = rng.uniform(0.4, 1.0, (10, 3))
    for i, (img, label) in enumerate(zip(images, labels)):
        folder = os.path.join(out, "photos", CLASSES[label])
        os.makedirs(folder, exist_ok=True)
        rgb = (img[:, :, None] * tints[label][None, None, :]).astype(np.uint8)
        Image.fromarray(rgb).resize((96, 96), Image.BILINEAR).save(os.path.join(folder, "%03d.jpg" % i), quality=90)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/own-resnet18")
