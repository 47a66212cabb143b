"""Keras reference tensors for the ImageDataGenerator options the paper's annexure lists: rotation,
shifts, featurewise and samplewise centring and std normalization, and what ZCA whitening starts from.

Usage (from the project's top directory; MNIST from $DIGITLAB_DATA, else data/mnist):
    /path/to/venv/bin/python scripts/reference/keras_datagen_reference.py
writes Tests/Reference/keras_datagen.safetensors. Tensor names: README.md beside this script.
"""
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402
from keras.src.legacy.preprocessing.image import ImageDataGenerator, apply_affine_transform  # noqa: E402

from reference_io import idx, save  # noqa: E402

FIT = 2000


def transform(image, **kwargs):
    """`apply_affine_transform` on one 28 x 28 x 1 image as ImageDataGenerator calls it: bilinear, fill 'nearest'."""
    return apply_affine_transform(image, row_axis=0, col_axis=1, channel_axis=2, fill_mode="nearest", order=1, **kwargs)


def main():
    raw = idx("train-images-idx3-ubyte")[:FIT]
    x = tf.keras.utils.normalize(raw.astype("float32"), axis=1).reshape(-1, 28, 28, 1).astype("float32")
    imgs = x[:8].copy()
    t = {"datagen/fit_count": np.array([FIT], dtype=np.int32), "datagen/input": imgs}

    g = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
    g.fit(x)
    t["datagen/featurewise_mean"] = np.asarray(g.mean, dtype=np.float32).reshape(-1)
    t["datagen/featurewise_std"] = np.asarray(g.std, dtype=np.float32).reshape(-1)
    t["datagen/featurewise_output"] = np.stack([g.standardize(im.copy()) for im in imgs]).astype(np.float32)

    g = ImageDataGenerator(samplewise_center=True, samplewise_std_normalization=True)
    t["datagen/samplewise_output"] = np.stack([g.standardize(im.copy()) for im in imgs]).astype(np.float32)

    # ZCA as Keras 3 fits it: u, s = svd(centred flat_x.T), W = u diag(sqrt(n) / (s + eps)) u^T. On MNIST
    # about 158 of the 784 singular values are round-off (pixels that never change), which W scales by
    # sqrt(n)/eps ~ 4.5e7, so its whitened images are not stable enough to compare element by element.
    # Stored: the singular values (computed in float64) to check an SVD against, and the centring mean.
    xc = x.reshape(FIT, -1).astype(np.float64)
    mean = xc.mean()
    t["datagen/zca_mean"] = np.array([mean], dtype=np.float32)
    t["datagen/zca_singular_values"] = np.linalg.svd((xc - mean).T, compute_uv=False).astype(np.float32)

    # Rotation as ImageDataGenerator(rotation_range=10) applies it, for the given angles.
    degrees = np.array([-10, -7.5, -3, 0.5, 2, 5, 8.25, 10], dtype=np.float32)
    t["rotate/degrees"] = degrees
    t["rotate/output"] = np.stack([transform(im, theta=float(a)) for im, a in zip(imgs, degrees)]).astype(np.float32)

    # Shifts as width/height_shift_range apply them: tx moves along rows, ty along columns.
    tx = np.array([-5.6, -3, -1.5, 0, 0.4, 2, 3.3, 5.6], dtype=np.float32)
    ty = np.array([2.8, -5.6, 0.7, 4, -2.2, 0, 5.6, -1], dtype=np.float32)
    t["shift/tx"], t["shift/ty"] = tx, ty
    t["shift/output"] = np.stack([transform(im, tx=float(a), ty=float(b)) for im, a, b in zip(imgs, tx, ty)]).astype(np.float32)

    save("keras_datagen", t, {
        "generator": "scripts/reference/keras_datagen_reference.py",
        "fit": f"the first {FIT} MNIST training images after tf.keras.utils.normalize(x, axis=1)",
        "input": "the first 8 of the fit set, transformed by each option",
        "zca": "featurewise_center=True, zca_whitening=True: the centring mean and the singular values of the centred data, in float64"})


if __name__ == "__main__":
    main()
