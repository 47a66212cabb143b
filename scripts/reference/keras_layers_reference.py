"""Reference tensors for the layers and optimizers beyond the paper's model, computed by Keras
(TensorFlow CPU): Conv2D with strides and 'same' padding, max pooling with overlapping windows,
average pooling, tanh/sigmoid/elu, batch normalization (training and inference), dropout, and the
SGD (momentum, Nesterov) and RMSprop (momentum, centered) updates; and a small network with batch
normalization between its convolution and ReLU, trained one step.

Usage: python scripts/reference/keras_layers_reference.py   (writes Tests/Reference/keras_layers.safetensors)

Inputs are drawn from NumPy with a fixed seed; no MNIST is needed. For a layer, `LAYER/input`,
the weights it was built with, `LAYER/output` (its output in the mode named), and with
`LAYER/probe` R the gradients of sum(output * R): `LAYER/grad/input` and `LAYER/grad/WEIGHT`.
See the table in README.md beside this script.
"""
import json
import os
import platform
import struct

import numpy as np
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf
import keras
from keras import layers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "..", "Tests", "Reference", "keras_layers.safetensors"))
rng = np.random.default_rng(18)
t = {}


def uniform(shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def layer_case(name, layer, x, training=False, extra_weights=None):
    """The layer's output on `x` and the gradients of sum(output * R) for a random R."""
    x = tf.constant(x)
    if not layer.built:
        layer.build(x.shape)
    if extra_weights is not None:
        layer.set_weights(extra_weights(layer))
    t[name + "/input"] = x.numpy()
    for w in layer.weights:
        t[f"{name}/{w.name}"] = w.numpy()
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=training)
        probe = tf.constant(uniform(y.shape))
        loss = tf.reduce_sum(y * probe)
    grads = tape.gradient(loss, [x] + layer.trainable_weights)
    t[name + "/output"] = y.numpy()
    t[name + "/probe"] = probe.numpy()
    t[name + "/grad/input"] = grads[0].numpy()
    for w, g in zip(layer.trainable_weights, grads[1:]):
        t[f"{name}/grad/{w.name}"] = g.numpy()
    return layer


def main():
    images = uniform((3, 7, 6, 4))
    t["images"] = images
    # Convolutions: 'same' at stride 1 and 2, 'valid' at stride 2; random biases so they count.
    for name, conv in [("conv_same", layers.Conv2D(8, 3, padding="same")),
                       ("conv_same_s2", layers.Conv2D(5, 3, strides=2, padding="same")),
                       ("conv_even_same", layers.Conv2D(4, 2, padding="same")),
                       ("conv_valid_s2", layers.Conv2D(5, 2, strides=2))]:
        layer_case(name, conv, images, extra_weights=lambda l: [l.kernel.numpy(), uniform(l.bias.shape, -0.5, 0.5)])
    # Poolings: overlapping max windows, average windows that tile and that overlap.
    layer_case("max_pool_s1", layers.MaxPooling2D(2, strides=1), images)
    layer_case("avg_pool", layers.AveragePooling2D(2), images)
    layer_case("avg_pool_3s2", layers.AveragePooling2D(3, strides=2), images)
    # Activations.
    flat = uniform((3, 20), -3, 3)
    for f in ["tanh", "sigmoid", "elu", "relu"]:
        layer_case("act_" + f, layers.Activation(f), flat)
    # Batch normalization, training (batch statistics, moving statistics updated) and inference.
    shifted = uniform((4, 5, 5, 6), -1, 3)
    def bn_weights(l):
        c = l.gamma.shape[0]
        return [uniform((c,), 0.5, 1.5), uniform((c,), -0.5, 0.5), uniform((c,), -0.2, 0.2), uniform((c,), 0.5, 2.0)]
    for name, x in [("bn_images", shifted), ("bn_flat", uniform((6, 10), -1, 3))]:
        bn = layers.BatchNormalization()
        bn.build(x.shape)
        bn.set_weights(bn_weights(bn))
        before = [w.numpy() for w in bn.weights]
        layer_case(name + "_training", bn, x, training=True)
        for w, b in zip(bn.weights, before):
            t[f"{name}_training/{w.name}"] = b            # the weights it started from
            t[f"{name}_training/after/{w.name}"] = w.numpy()
        bn.set_weights(before)
        layer_case(name + "_inference", bn, x, training=False)
    # Dropout: which values Keras drops is its generator's; the rule (keep, scaled by 1/(1-rate))
    # and the gradient are what a test compares, with the mask read off the output.
    layer_case("dropout", layers.Dropout(0.3, seed=7), uniform((4, 50), 0.1, 1.0), training=True)

    # Optimizers: two steps from the same weights with two gradients.
    w0 = uniform((40,))
    g1, g2 = uniform((40,)), uniform((40,))
    t["opt/initial"], t["opt/grad1"], t["opt/grad2"] = w0, g1, g2
    optimizers = {
        "sgd": lambda: keras.optimizers.SGD(),
        "sgd_momentum": lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
        "sgd_nesterov": lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
        "rmsprop": lambda: keras.optimizers.RMSprop(),
        "rmsprop_momentum_centered": lambda: keras.optimizers.RMSprop(learning_rate=0.01, rho=0.8, momentum=0.5, centered=True),
        "adam": lambda: keras.optimizers.Adam(),
    }
    for name, make in optimizers.items():
        v = tf.Variable(w0)
        opt = make()
        for k, g in enumerate([g1, g2], 1):
            opt.apply_gradients([(tf.constant(g), v)])
            t[f"opt/{name}/step{k}"] = v.numpy()

    # A network with batch normalization between its convolution and ReLU, and dropout off
    # (rate 0) so that its training step is Keras's exactly: one step of loss and gradients.
    x = uniform((5, 12, 12, 1), 0, 1)
    y = rng.integers(0, 10, size=5).astype(np.int32)
    m = keras.Sequential([layers.Input((12, 12, 1)), layers.Conv2D(32, 3, name="conv1"), layers.BatchNormalization(name="bn1"),
                          layers.Activation("relu", name="relu1"), layers.MaxPooling2D(2, name="pool1"),
                          layers.Flatten(name="flatten"), layers.Dense(10, name="dense1"), layers.Activation("softmax", name="softmax")])
    m.get_layer("conv1").bias.assign(uniform((32,), -0.1, 0.1))
    t["net/input"], t["net/labels"] = x, y
    for w in m.weights:
        t["net/init/" + w.path.split("/", 1)[-1]] = w.numpy()
    ce = keras.losses.SparseCategoricalCrossentropy()
    with tf.GradientTape() as tape:
        p = m(x, training=True)
        loss = ce(y, p)
    grads = tape.gradient(loss, m.trainable_weights)
    t["net/loss"] = np.array(loss.numpy(), dtype=np.float32)
    t["net/probabilities"] = p.numpy()
    for w, g in zip(m.trainable_weights, grads):
        t["net/grad/" + w.path.split("/", 1)[-1]] = g.numpy()
    for w in m.non_trainable_weights:
        t["net/after/" + w.path.split("/", 1)[-1]] = w.numpy()
    t["net/inference"] = m(x, training=False).numpy()

    meta = {"generator": "scripts/reference/keras_layers_reference.py", "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "python": platform.python_version(), "seed": "numpy default_rng(18)"}
    save(OUT, t, meta)
    print(f"wrote {OUT}: {len(t)} tensors, {os.path.getsize(OUT)} bytes")


def save(path, tensors, metadata):
    """safetensors: 8-byte little-endian header size, JSON header, raw little-endian data; keys sorted."""
    dtypes = {np.dtype("float32"): "F32", np.dtype("int32"): "I32"}
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for key in sorted(tensors):
        a = np.ascontiguousarray(tensors[key])
        data = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[key] = {"dtype": dtypes[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


if __name__ == "__main__":
    keras.utils.set_random_seed(18)
    main()
