#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora: small valid inputs of every kind each reader takes, and a few
near misses. Run from Fuzz/Corpus; JPEG seeds come from make-jpeg-seeds.c (see Fuzz/README.md)."""
import gzip, json, os, struct, zlib, glob, shutil

def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)

# IDX: unsigned-byte arrays of rank 1 to 4, plain and gzip, and a truncated one.
def idx(shape, fill=lambda i: i % 251):
    n = 1
    for d in shape: n *= d
    return bytes([0, 0, 8, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape) + bytes(fill(i) for i in range(n))
write("idx/labels-10", idx([10], lambda i: i % 10))
write("idx/images-3x4x4", idx([3, 4, 4]))
write("idx/images-2x28x28.gz", gzip.compress(idx([2, 28, 28]), mtime=0))
write("idx/rank4.gz", gzip.compress(idx([2, 2, 3, 3]), mtime=0))
write("idx/truncated", idx([5, 2, 2])[:-3])

# safetensors: plain tensors of every dtype with metadata; a tiny DigitLab model; a checkpoint.
def safetensors(tensors, metadata=None):
    header, blob = {}, b""
    if metadata: header["__metadata__"] = metadata
    for name in sorted(tensors):
        dtype, shape, data = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    h = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob
def f32(values): return struct.pack("<%df" % len(values), *values)
write("safetensors/dtypes", safetensors({
    "a": ("F32", [2, 2], f32([1, 2, 3, 4])), "b": ("F64", [1], struct.pack("<d", 0.5)),
    "c": ("I32", [3], struct.pack("<3i", -1, 0, 1)), "d": ("U8", [4], bytes([0, 1, 2, 255])),
    "e": ("U64", [1], struct.pack("<Q", 7)), "empty": ("F32", [0], b"")}, {"note": "seed"}))
# One 3x3 convolution with 1 filter on 28x28, 2x2 pooling, dense 169 -> 10.
arch = {"inputShape": [28, 28, 1], "convFilters": [1], "kernelSize": 3, "poolSize": 2, "denseUnits": [10]}
model = {"conv1/kernel": ("F32", [3, 3, 1, 1], f32([0.1] * 9)), "conv1/bias": ("F32", [1], f32([0])),
         "dense1/kernel": ("F32", [169, 10], f32([0.01] * 1690)), "dense1/bias": ("F32", [10], f32([0] * 10))}
write("safetensors/model", safetensors(model, {"format": "digitlab-model", "architecture": json.dumps(arch),
                                               "normalization": "keras-normalize", "dataset": "mnist"}))
ckpt = {"weights/" + k: ("F32", [len(v[2]) // 4], v[2]) for k, v in model.items()}
ckpt.update({"adam_m/" + k: v for k, v in ckpt.items()})
ckpt["rng/shuffle"] = ("U64", [4], struct.pack("<4Q", 1, 2, 3, 4))
ckpt["rng/augmentation"] = ("U64", [4], struct.pack("<4Q", 5, 6, 7, 8))
ckpt["epoch/order"] = ("U64", [4], struct.pack("<4Q", 3, 1, 0, 2))
history = {"epochs": [{"epoch": 1, "trainLoss": 0.5, "trainAccuracy": 0.9, "validationLoss": 0.4,
                       "validationAccuracy": 0.91, "seconds": 1.5}]}
write("safetensors/checkpoint", safetensors(ckpt, {"format": "digitlab-checkpoint", "step": "10",
                                                  "history": json.dumps(history), "spec": "name: x\n",
                                                  "epoch": "1 0.5 3 4 0.25"}))

# Specs: the repository's specs as they are, and the resolved specs of committed runs.
for path in sorted(glob.glob("../../experiments/*.yaml")) + sorted(glob.glob("../../experiments/fashion/*.yaml")):
    shutil.copy(path, "spec/" + os.path.basename(os.path.dirname(path)) + "-" + os.path.basename(path))
for path in sorted(glob.glob("../../results/runs/*/seed-0/spec.yaml")):
    shutil.copy(path, "spec/resolved-" + path.split("/")[-3] + ".yaml")
with open("../../results/runs/case7/seed-0/spec.yaml") as f:
    resolved = f.read()
import re
write("spec/escapes.yaml", re.sub(r"(?m)^description: .*$", lambda m: 'description: "tab\\there, a quote \\" and a backslash \\\\"',
                                  resolved).encode())
write("spec/flow-style.yaml", b"{name: x, dataset: mnist, model: {conv_filters: [8], dense_units: [10]}}\n")

# Images: PGM/PPM in text and binary, 8 and 16 bits; PNG of every colour type, with gAMA and sRGB.
def pnm(kind, w, h, maxval, samples):
    head = b"P%d\n# seed\n%d %d\n%d\n" % (kind, w, h, maxval)
    if kind in (2, 3):
        return head + b" ".join(b"%d" % s for s in samples) + b"\n"
    if maxval > 255:
        return head + b"".join(struct.pack(">H", s) for s in samples)
    return head + bytes(samples)
write("image/p2.pgm", pnm(2, 3, 2, 15, [0, 3, 6, 9, 12, 15]))
write("image/p3.ppm", pnm(3, 2, 2, 255, list(range(0, 240, 20))))
write("image/p5.pgm", pnm(5, 4, 3, 255, list(range(0, 240, 20))))
write("image/p5-16bit.pgm", pnm(5, 2, 2, 65535, [0, 1000, 40000, 65535]))
write("image/p6.ppm", pnm(6, 2, 3, 255, list(range(0, 180, 10))))

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
def png(w, h, depth, colour, rows, extra=b"", interlace=0):
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, interlace))
            + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
write("image/grey.png", png(4, 2, 8, 0, [bytes([0, 60, 120, 250])] * 2))
write("image/grey16.png", png(2, 2, 16, 0, [b"\x00\x10\xff\x00"] * 2))
write("image/grey1bit.png", png(8, 2, 1, 0, [b"\xa5", b"\x5a"]))
write("image/rgb.png", png(2, 2, 8, 2, [bytes(range(6)), bytes(range(100, 106))], chunk(b"gAMA", struct.pack(">I", 45455))))
write("image/rgba.png", png(2, 1, 8, 6, [bytes([255, 0, 0, 128, 0, 255, 0, 255])], chunk(b"sRGB", b"\0")))
write("image/grey-alpha.png", png(2, 1, 8, 4, [bytes([10, 255, 200, 0])]))
write("image/palette.png", png(3, 1, 8, 3, [bytes([0, 1, 2])], chunk(b"PLTE", bytes([0, 0, 0, 255, 0, 0, 0, 0, 255]))))
write("image/interlaced.png", png(1, 1, 8, 0, [b"\x80"], interlace=1))
