"""The one folder this platform caches into: the scoring classifiers, the RFGAN autoencoders, decoded real
datasets and MLflow records kept while a server is unreachable. ``$GAN_TUNER_CACHE``, else ``~/.cache/gan-tuner``;
on a cluster, a shared folder exported on every node before ``ray start``."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    return Path(os.environ.get("GAN_TUNER_CACHE", Path.home() / ".cache" / "gan-tuner"))
