"""A small synthetic dataset in FashionMNIST's on-disk format, for offline demos and tests.

torchvision reads ``root/FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``
(uncompressed, all four, existence checked only). Ten class prototypes of rectangles and an
ellipse; each image is its prototype scaled, shifted and noised. A linear model learns it to
about 0.88 test accuracy in one epoch.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")  # fmt: skip
MARKER = "SYNTHETIC"


def _prototypes(rng: np.random.Generator) -> np.ndarray:
    protos = np.zeros((10, 28, 28))
    yy, xx = np.mgrid[0:28, 0:28]
    for c in range(10):
        for _ in range(3):
            y0, x0 = rng.integers(2, 20, size=2)
            h, w = rng.integers(4, 10, size=2)
            protos[c, y0 : y0 + h, x0 : x0 + w] = rng.uniform(0.5, 1.0)
        cy, cx = rng.uniform(8, 20, size=2)
        ry, rx = rng.uniform(3, 7, size=2)
        protos[c][((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1] = 1.0
    return protos * 255


def _images(
    protos: np.ndarray, labels: np.ndarray, rng: np.random.Generator, noise: float
) -> np.ndarray:
    out = np.empty((len(labels), 28, 28), dtype=np.uint8)
    for i, c in enumerate(labels):
        img = protos[c] * rng.uniform(0.6, 1.0)
        dy, dx = rng.integers(-2, 3, size=2)
        img = np.roll(np.roll(img, dy, axis=0), dx, axis=1)
        img = img + rng.normal(0, noise, size=img.shape)
        out[i] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def write_fashion_mnist(root: Path, n_train: int = 2000, n_test: int = 500,
                        seed: int = 1234, noise: float = 200.0) -> Path:  # fmt: skip
    """Write the four IDX files under ``root/FashionMNIST/raw``; return ``root``."""
    rng = np.random.default_rng(seed)
    protos = _prototypes(rng)
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)
        images = _images(protos, labels, rng, noise)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 0x803, n, 28, 28) + images.tobytes()
        )
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(
            struct.pack(">II", 0x801, n) + labels.tobytes()
        )
    (root / MARKER).write_text("synthetic FashionMNIST-format data made by `grader data`\n")
    return root


def is_synthetic(root: Path) -> bool:
    return (root / MARKER).is_file()


def has_fashion_mnist(root: Path) -> bool:
    raw = root / "FashionMNIST" / "raw"
    return all((raw / f).is_file() for f in FILES)
