"""What the reference generators share: reading MNIST's IDX files, and writing a safetensors file
whose metadata says how and with what it was made (the TensorFlow, Keras and NumPy versions).

Not a product: these scripts run in a throwaway virtual environment (see README.md beside them)
and their output, under Tests/Reference/, is what the project commits.
"""
import gzip
import json
import os
import platform
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "Tests", "Reference")


def mnist_directory():
    """The MNIST directory, as the harness finds it: $DIGITLAB_DATA, else data/mnist in the checkout."""
    d = os.environ.get("DIGITLAB_DATA") or os.path.join(ROOT, "data", "mnist")
    if not os.path.isabs(d):
        d = os.path.join(os.getcwd(), d)
    if not os.path.exists(os.path.join(d, "train-images-idx3-ubyte.gz")) and not os.path.exists(os.path.join(d, "train-images-idx3-ubyte")):
        sys.exit(f"error: no MNIST in {d}; set DIGITLAB_DATA=DIR (the four IDX files, .gz or not)")
    return d


def idx(name):
    """One IDX file of MNIST (`name` without .gz) as a NumPy array of its shape."""
    d = mnist_directory()
    path = os.path.join(d, name + ".gz")
    b = gzip.open(path).read() if os.path.exists(path) else open(os.path.join(d, name), "rb").read()
    rank = b[3]
    dims = struct.unpack(">" + "I" * rank, b[4:4 + 4 * rank])
    return np.frombuffer(b[4 + 4 * rank:], dtype=np.uint8).reshape(dims)


def versions():
    """The stack that computed the reference, for the file's metadata."""
    import tensorflow as tf
    import keras
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "keras_backend": keras.backend.backend()}


def save(name, tensors, metadata):
    """Writes Tests/Reference/NAME.safetensors: float32, int32 and uint8 tensors, little-endian, with
    `metadata` and the versions in the header's __metadata__ (strings only, as safetensors has it).
    Keys are sorted and nothing else varies, so the same inputs give the same bytes."""
    dtypes = {np.dtype("float32"): "F32", np.dtype("int32"): "I32", np.dtype("uint8"): "U8"}
    header, blobs, offset = {"__metadata__": {k: str(v) for k, v in sorted({**metadata, **versions()}.items())}}, [], 0
    for key in sorted(tensors):
        array = np.ascontiguousarray(tensors[key])
        if array.dtype not in dtypes:
            raise TypeError(f"{key}: {array.dtype} is not one of float32, int32, uint8")
        data = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[key] = {"dtype": dtypes[array.dtype], "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name + ".safetensors")
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(path + ".tmp", path)
    print(f"wrote {os.path.relpath(path, ROOT)}: {len(tensors)} tensors, {os.path.getsize(path)} bytes")
