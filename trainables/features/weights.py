"""Pretrained weights of the network feature paths: where they are looked up and how they are identified.

Nothing is downloaded. A file is found at the explicit path (``--feature-weights``), else under its published
file name in the torch hub cache (``torch.hub.get_dir()/checkpoints``); a missing file is one line naming where
to put it. Every result records the file's SHA-256 (``weights_sha256``), so scores from different weights never
mix and a replaced file never reuses cached reference features.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import torch


class FeatureWeightsError(ValueError):
    """One-line, user-facing problem with a feature network's weights."""


def hub_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def resolve_weights(what: str, names: tuple[str, ...], explicit: str | os.PathLike | None, flag: str,
                    source: str) -> Path:  # fmt: skip
    """``explicit`` if given (it must be a file), else the first of ``names`` in the hub cache."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise FeatureWeightsError(f"{flag}: {path} is not a file; point it at {what} weights ({names[0]})")
        return path
    for name in names:
        if (hub_dir() / name).is_file():
            return hub_dir() / name
    raise FeatureWeightsError(f"{what} weights not found (nothing is downloaded): pass {flag} FILE, or copy "
                              f"{names[0]} ({source}) into {hub_dir()}/")  # fmt: skip


@lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, computed once per process for each (path, size, modification time)."""
    st = Path(path).stat()
    return _sha256(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def state_dict_sha256(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 of a state dict's names and tensor bytes (for networks that live in memory, the classifier)."""
    h = hashlib.sha256()
    for k in sorted(state):
        t = state[k].detach().cpu().contiguous()
        h.update(f"{k}|{tuple(t.shape)}|{t.dtype}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()
