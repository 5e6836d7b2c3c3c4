"""Cached real references: a dataset split's features and their Gaussian statistics, computed once per
(dataset content, split, feature path, weights, resizer) and shared by every trial and final run.

Each entry lives in ``$GAN_TUNER_CACHE/references/`` (beside the scoring classifiers) under a content key: the
SHA-256 of the real samples themselves (every byte, not a fingerprint), the split, the extractor's identity (path,
weights SHA-256, resizer) and ``VERSION``. A changed dataset or weights file is therefore a new key, never a stale
hit. Entries are written atomically under a file lock, so concurrent trials compute a reference once; what is
derived from the features alone (μ, Σ, Σ^{1/2}; each training sample's nearest-other distance) is added on first use.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from filelock import FileLock

from trainables.cache import cache_dir
from trainables.features.base import Embeddings, FeatureExtractor

VERSION = 1  # bump when the reference protocol (subset, preprocessing) changes


def reference_key(split: str, x: torch.Tensor, identity: dict[str, str], dataset: str) -> str:
    h = hashlib.sha256(json.dumps({"dataset": dataset, "split": split, "v": VERSION, "shape": list(x.shape),
                                   "dtype": str(x.dtype), **identity}, sort_keys=True).encode())  # fmt: skip
    h.update(x.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


@dataclass
class Reference:
    """One real split's embeddings and what the metrics derive from them, computed once."""

    embeddings: Embeddings
    path: Path | None = None  # its cache file (None: not cached)
    extras: dict[str, torch.Tensor] = field(default_factory=dict)

    def derived(self, name: str, make: Callable[[], torch.Tensor]) -> torch.Tensor:
        """A tensor derived from these features alone, computed once and added to the cache entry."""
        if name not in self.extras:
            self.extras[name] = make()
            self._persist()
        return self.extras[name]

    def _persist(self) -> None:
        if self.path is not None:
            with FileLock(str(self.path) + ".lock"):
                _save(self.path, self.embeddings, self.extras)

    def stats(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """μ, Σ and Σ^{1/2} of the features (the real side of FID and FD∞)."""
        from trainables.metrics.fid import gaussian_stats, psd_sqrt

        if "mu" not in self.extras:
            mu, sigma = gaussian_stats(self.embeddings.features)
            self.extras.update(mu=mu, sigma=sigma, sigma_sqrt=psd_sqrt(sigma))
            self._persist()
        return self.extras["mu"], self.extras["sigma"], self.extras["sigma_sqrt"]


def _save(path: Path, emb: Embeddings, extras: dict[str, torch.Tensor]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"logits": emb.logits, "features": emb.features, **extras}, tmp)
    tmp.replace(path)  # atomic: a crash never leaves a half-written entry


def load_reference(split: str, x: torch.Tensor, extractor: FeatureExtractor, dataset: str,
                   cache: bool = True) -> Reference:  # fmt: skip
    """The reference of real samples ``x`` (split ``split`` of ``dataset``) in ``extractor``'s features."""
    if not cache:
        return Reference(extractor.embed(x))
    path = cache_dir() / "references" / f"{reference_key(split, x, extractor.identity(), dataset)}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):  # concurrent trials embed it once
        if not path.exists():
            emb = extractor.embed(x)
            _save(path, emb, {})
            path.with_suffix(".json").write_text(json.dumps({"dataset": dataset, "split": split, "n": len(x),
                                                             **extractor.identity()}))  # fmt: skip
        blob = torch.load(path, map_location="cpu", weights_only=True)
    emb = Embeddings(blob.pop("logits"), blob.pop("features"))
    return Reference(emb, path, blob)
