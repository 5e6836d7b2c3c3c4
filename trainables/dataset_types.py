"""What a dataset is and the table of known ones: the types every loader (``trainables.data`` for embedded
sets, ``trainables.real_data`` for sets under ``--data-root``) registers into. Importing nothing of either
keeps the loaders free of import cycles."""

from __future__ import annotations

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
    layout: str = ""  # real sets: the expected on-disk layout under --data-root, for error messages


@dataclass
class Dataset:
    info: DatasetInfo
    train_x: torch.Tensor  # float32 in [-1, 1], or uint8 [0, 255] for real image sets: use ``as_float``
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


def to_unit_range(images_uint8: np.ndarray) -> torch.Tensor:
    """uint8 [0, 255] → float32 [-1, 1]; the generators end in tanh."""
    return torch.from_numpy(images_uint8.astype(np.float32) / 127.5 - 1.0)
