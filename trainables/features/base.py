"""What a feature extractor is and what it returns (the extractors themselves are in the sibling modules)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch


@dataclass
class Embeddings:
    logits: torch.Tensor  # N × classes, float64, CPU
    features: torch.Tensor  # N × d, float64, CPU

    def __getitem__(self, idx) -> Embeddings:
        return Embeddings(self.logits[idx], self.features[idx])

    def __len__(self) -> int:
        return len(self.logits)


class FeatureExtractor(ABC):
    """Maps a batch of samples in [-1, 1] to ``Embeddings``; ``path`` names it in results. A subclass without
    ``embed`` cannot be instantiated (Python's error names the class and the method)."""

    path: str = ""
    weights_sha256: str | None = None  # SHA-256 of the weights (file, or the classifier's state dict)
    resizer: str = "none"  # how images reach the network's input size (trainables.features.resize)

    def identity(self) -> dict[str, str]:
        """What is recorded with every result: scores compare only within one identity."""
        return {"feature_path": self.path, "feature_weights_sha256": self.weights_sha256 or "none",
                "resizer": self.resizer}  # fmt: skip

    @abstractmethod
    def embed(self, x: torch.Tensor) -> Embeddings:
        """Logits and features of ``x``, float64 on the CPU."""


def feature_path(kind: str, dataset: str) -> str:
    """The string recorded with every result."""
    return f"classifier:{dataset}" if kind == "classifier" else kind
