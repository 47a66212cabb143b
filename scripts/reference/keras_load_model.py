"""Loads a DigitLab model.safetensors into Keras and evaluates it on MNIST's test set: the check
that a saved model (any layer list, batch normalization's moving statistics and all) means in
Keras what it means in DigitLab. Not part of the product: run it in the throwaway TensorFlow
environment (see README.md beside this script).

Usage: DIGITLAB_DATA=DIR python scripts/reference/keras_load_model.py MODEL.safetensors

Builds the Sequential the model's metadata describes (the paper's shorthand, or a layer list with
the plan's names), sets every weight by its Keras path (conv1/kernel, bn1/moving_mean, ...), and
prints Keras's test loss and accuracy beside the accuracy the run recorded.
"""
import gzip
import json
import os
import struct
import sys

import numpy as np
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras
from keras import layers
from safetensors import safe_open


def idx(name):
    d = os.environ.get("DIGITLAB_DATA", "data/mnist")
    path = os.path.join(d, name + ".gz")
    b = gzip.open(path).read() if os.path.exists(path) else open(os.path.join(d, name), "rb").read()
    dims = struct.unpack(">" + "I" * b[3], b[4:4 + 4 * b[3]])
    return np.frombuffer(b[4 + 4 * b[3]:], dtype=np.uint8).reshape(dims)


def paper_layers(a):
    """The shorthand's layer list, as the harness expands it."""
    out = []
    for f in a["convFilters"]:
        out += [("conv2d", {"filters": f, "kernel_size": a["kernelSize"]}), ("activation", {"activation": "relu"}),
                ("max_pool2d", {"pool_size": a["poolSize"]})]
    out.append(("flatten", {}))
    for i, u in enumerate(a["denseUnits"]):
        out += [("dense", {"units": u}), ("activation", {"activation": "softmax" if i == len(a["denseUnits"]) - 1 else "relu"})]
    names, counts, last = [], {}, None
    for t, s in out:  # the plan's names
        if t == "activation":
            f = s["activation"]
            names.append("softmax" if f == "softmax" else f + ("_d" + last[5:] if last.startswith("dense") else last[4:]))
        elif t == "flatten":
            names.append("flatten")
        else:
            p = {"conv2d": "conv", "dense": "dense", "max_pool2d": "pool"}[t]
            counts[p] = counts.get(p, 0) + 1
            names.append(f"{p}{counts[p]}")
            if p in ("conv", "dense"):
                last = names[-1]
    return out, names


def keras_layer(kind, s, name):
    num = lambda k, d=None: (int(s[k]) if k in s else d)
    real = lambda k, d=None: (float(s[k]) if k in s else d)
    if kind == "conv2d":
        return layers.Conv2D(num("filters"), num("kernel_size"), strides=num("strides", 1), padding=s.get("padding", "valid"),
                             activation=s.get("activation"), name=name)
    if kind == "max_pool2d":
        return layers.MaxPooling2D(num("pool_size", 2), strides=num("strides"), name=name)
    if kind == "average_pool2d":
        return layers.AveragePooling2D(num("pool_size", 2), strides=num("strides"), name=name)
    if kind == "flatten":
        return layers.Flatten(name=name)
    if kind == "dense":
        return layers.Dense(num("units"), activation=s.get("activation"), name=name)
    if kind == "dropout":
        return layers.Dropout(real("rate"), name=name)
    if kind == "batch_normalization":
        return layers.BatchNormalization(momentum=real("momentum", 0.99), epsilon=real("epsilon", 1e-3), name=name)
    if kind == "activation":
        return layers.Activation(s["activation"], name=name)
    raise SystemExit(f"error: unknown layer type {kind}")


def main():
    path = sys.argv[1]
    with safe_open(path, "np") as f:
        meta = f.metadata()
        weights = {k: f.get_tensor(k) for k in f.keys()}
    arch = json.loads(meta["architecture"])
    if "layers" in arch:
        spec = [next(iter(e.items())) for e in arch["layers"]]
        names = arch["names"]
        shape = arch["inputShape"]
    else:
        spec, names = paper_layers(arch)
        shape = arch["inputShape"]
    model = keras.Sequential([layers.Input(tuple(shape))] + [keras_layer(k, s, n) for (k, s), n in zip(spec, names)])
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([weights[f"{layer.name}/{w.name}"] for w in layer.weights])
    used = {f"{l.name}/{w.name}" for l in model.layers for w in l.weights}
    assert used == set(weights), f"weights not used: {set(weights) - used}, missing: {used - set(weights)}"
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = idx("t10k-images-idx3-ubyte").astype("float32")
    x = (keras.utils.normalize(x, axis=1) if meta.get("normalization", "keras-normalize") == "keras-normalize" else x / 255)
    loss, accuracy = model.evaluate(x.reshape(-1, *shape), idx("t10k-labels-idx1-ubyte"), verbose=0)
    print(f"{path}: Keras test accuracy {100 * accuracy:.3f}%, loss {loss:.5f}; "
          f"DigitLab recorded {meta.get('test_accuracy', '?')}%")


if __name__ == "__main__":
    main()
