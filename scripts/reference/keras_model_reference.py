"""Keras/TensorFlow reference tensors for the paper's model, for the engine to be checked against
number by number: every layer's activation, the loss and its L2 terms, every gradient, and one
Adam step, from the same initial weights and the same few MNIST training images.

The initial biases are random, not Keras's zeros: with zero biases the L2 term on conv1's bias adds
nothing to the loss or to its gradient, and a bias left out of a forward pass or a gradient would
go unseen.

Usage (from the project's top directory; MNIST from $DIGITLAB_DATA, else data/mnist):
    /path/to/venv/bin/python scripts/reference/keras_model_reference.py
writes Tests/Reference/keras_dense3_l2.safetensors (cases 3 and 7: 3 dense layers, L2(0.01) on
conv1's kernel and bias) and Tests/Reference/keras_dense4.safetensors (cases 2 and 6: 4 dense
layers, no L2). Tensor names and layouts: README.md beside this script.
"""
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402
from tensorflow.keras import Sequential, layers, regularizers  # noqa: E402

from reference_io import idx, save  # noqa: E402

BATCH = 5  # odd, so the engine's two workers split it unevenly; labels 5, 0, 4, 1, 9
# Activations are kept for the first images only: a forward pass treats each image alone, so two
# check it as well as five, and conv1's and relu1's outputs for all five would make each file 3.3 MB
# (kept under 2 MB: a reference file is committed with the project). The loss, gradients and Adam step use all five.
ACTIVATION_IMAGES = 2
BIAS_RANGE = 0.1


def build(dense, l2):
    """The paper's model: three 3x3 convolutions of 64 filters, each with ReLU and 2x2 max pooling,
    then dense layers (64-32-10 or 64-64-32-10) with ReLU and a softmax; L2(0.01) on conv1's kernel and
    bias when `l2`."""
    reg = dict(kernel_regularizer=regularizers.l2(0.01), bias_regularizer=regularizers.l2(0.01)) if l2 else {}
    m = Sequential([layers.Input((28, 28, 1)),
                    layers.Conv2D(64, 3, name="conv1", **reg), layers.Activation("relu", name="relu1"),
                    layers.MaxPooling2D(2, name="pool1"),
                    layers.Conv2D(64, 3, name="conv2"), layers.Activation("relu", name="relu2"),
                    layers.MaxPooling2D(2, name="pool2"),
                    layers.Conv2D(64, 3, name="conv3"), layers.Activation("relu", name="relu3"),
                    layers.MaxPooling2D(2, name="pool3"),
                    layers.Flatten(name="flatten")], name="sequential")  # the weights' paths: sequential/LAYER/...
    widths = [64, 32] if dense == 3 else [64, 64, 32]
    for i, w in enumerate(widths, 1):
        m.add(layers.Dense(w, name=f"dense{i}"))
        m.add(layers.Activation("relu", name=f"relu_d{i}"))
    m.add(layers.Dense(10, name=f"dense{len(widths) + 1}"))
    m.add(layers.Activation("softmax", name="softmax"))
    return m


def reference(name, dense, l2, seed):
    tf.keras.utils.set_random_seed(seed)
    raw = idx("train-images-idx3-ubyte")[:BATCH]
    y = idx("train-labels-idx1-ubyte")[:BATCH].astype(np.int32)
    x = tf.keras.utils.normalize(raw.astype("float32"), axis=1).reshape(-1, 28, 28, 1).astype("float32")
    m = build(dense, l2)
    rng = np.random.default_rng(seed)
    for w in m.weights:
        if w.path.endswith("/bias"):
            w.assign(rng.uniform(-BIAS_RANGE, BIAS_RANGE, w.shape).astype(np.float32))
    t = {"raw_images": raw, "input": x, "labels": y}
    for w in m.weights:
        t["init/" + w.path] = w.numpy()
    probe = tf.keras.Model(m.inputs, [layer.output for layer in m.layers])
    for layer, a in zip(m.layers, probe(x)):
        t["act/" + layer.name] = a.numpy()[:ACTIVATION_IMAGES]
    ce = tf.keras.losses.SparseCategoricalCrossentropy()
    with tf.GradientTape() as tape:
        p = m(x, training=True)
        data_loss = ce(y, p)
        reg_loss = tf.add_n(m.losses) if m.losses else tf.constant(0.0)
        loss = data_loss + reg_loss
    grads = tape.gradient(loss, m.trainable_weights)
    t["loss/data"] = np.array(data_loss.numpy(), dtype=np.float32)
    t["loss/regularization"] = np.array(reg_loss.numpy(), dtype=np.float32)
    t["loss/total"] = np.array(loss.numpy(), dtype=np.float32)
    for w, g in zip(m.trainable_weights, grads):
        t["grad/" + w.path] = g.numpy()
    tf.keras.optimizers.Adam().apply_gradients(zip(grads, m.trainable_weights))
    for w in m.weights:
        t["adam_step1/" + w.path] = w.numpy()
    save(name, t, {
        "generator": "scripts/reference/keras_model_reference.py", "dense_layers": dense, "l2_first_conv": l2,
        "seed": seed, "batch": f"the first {BATCH} MNIST training images",
        "activations": f"every layer's output for the first {ACTIVATION_IMAGES} images of the batch",
        "initialization": f"glorot-uniform kernels (Keras, tf.keras.utils.set_random_seed({seed})); "
                          f"biases uniform in [-{BIAS_RANGE}, {BIAS_RANGE}) (numpy default_rng({seed}))",
        "preprocess": "tf.keras.utils.normalize(x, axis=1)",
        "loss": "sparse categorical cross-entropy (mean over the batch) + 0.01 * sum of squares over the L2 terms",
        "optimizer": "Adam(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7): one step from init with the gradients above"})


def main():
    reference("keras_dense3_l2", dense=3, l2=True, seed=0)
    reference("keras_dense4", dense=4, l2=False, seed=1)


if __name__ == "__main__":
    main()
