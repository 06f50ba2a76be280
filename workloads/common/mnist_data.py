"""Minimal IDX (MNIST / Fashion-MNIST) reader.

Reads the four classic files from a directory, optionally gzip-compressed:

    train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]
    t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]

Returns float32 tensors of shape [N, 1, 28, 28] normalised with
Normalize(0.1307, 0.3081) (the torchvision MNIST convention) and int64 labels.
No torchvision, no downloads.
"""

import gzip
import hashlib
import os
import struct

import numpy as np
import torch

MEAN = 0.1307
STD = 0.3081

SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# IDX type codes -> numpy dtype (big-endian where it matters)
_IDX_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class DataError(Exception):
    """Raised when the data directory or an IDX file is missing or malformed."""


def find_idx_file(data_dir, base):
    """Return the path of `base` or `base.gz` in data_dir (also accepts the
    `base.idx3-ubyte` style with a dot, as some mirrors name them)."""
    candidates = [base, base + ".gz", base.replace("-idx", ".idx"), base.replace("-idx", ".idx") + ".gz"]
    for name in candidates:
        path = os.path.join(data_dir, name)
        if os.path.isfile(path):
            return path
    raise DataError("missing IDX file %s[.gz] in %s" % (base, data_dir))


def fingerprint(data_dir):
    """sha256 over the four IDX files this workload reads (name, then bytes, in a fixed order):
    the dataset's identity in the model's lineage."""
    h = hashlib.sha256()
    for base in SPLITS["train"] + SPLITS["test"]:
        path = find_idx_file(data_dir, base)
        h.update(os.path.basename(path).encode() + b"\0")
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def read_idx(path):
    """Read one IDX file into a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise DataError("cannot read %s: %s" % (path, exc))
    if len(raw) < 4:
        raise DataError("%s: file too short for an IDX header" % path)
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code not in _IDX_DTYPES or ndim == 0:
        raise DataError("%s: not an IDX file (bad magic %02x%02x%02x%02x)" % ((path,) + tuple(raw[:4])))
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataError("%s: truncated IDX header" % path)
    shape = struct.unpack(">" + "I" * ndim, raw[4:header_len])
    dtype = np.dtype(_IDX_DTYPES[dtype_code])
    count = int(np.prod(shape))
    expected = header_len + count * dtype.itemsize
    if len(raw) < expected:
        raise DataError("%s: truncated data (%d bytes, expected %d)" % (path, len(raw), expected))
    return np.frombuffer(raw, dtype=dtype, count=count, offset=header_len).reshape(shape)


def load_split(data_dir, split="train", limit=0):
    """Load a split ("train" or "test") as (images, labels) tensors.

    images: float32 [N, 1, 28, 28], normalised; labels: int64 [N].
    limit > 0 keeps only the first `limit` samples.
    """
    if split not in SPLITS:
        raise ValueError("split must be 'train' or 'test'")
    if not os.path.isdir(data_dir):
        raise DataError("data dir %s does not exist or is not a directory" % data_dir)
    img_base, lbl_base = SPLITS[split]
    images = read_idx(find_idx_file(data_dir, img_base))
    labels = read_idx(find_idx_file(data_dir, lbl_base))
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError("%s images have shape %s, expected [N, 28, 28]" % (split, images.shape))
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DataError("%s: %d images but labels shape %s" % (split, images.shape[0], labels.shape))
    if images.shape[0] == 0:
        raise DataError("%s split is empty" % split)
    if limit and limit > 0:
        images = images[:limit]
        labels = labels[:limit]
    x = torch.from_numpy(images.astype(np.float32))  # one float copy, normalised in place
    x.div_(255.0).sub_(MEAN).div_(STD)
    x = x.unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    if int(y.min()) < 0 or int(y.max()) > 9:
        raise DataError("%s labels out of range 0..9" % split)
    return x, y


def load_mnist(data_dir, train_samples=0, test_samples=0):
    """Return (x_train, y_train, x_test, y_test)."""
    x_tr, y_tr = load_split(data_dir, "train", train_samples)
    x_te, y_te = load_split(data_dir, "test", test_samples)
    return x_tr, y_tr, x_te, y_te
