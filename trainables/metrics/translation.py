"""Translation metrics (the ``translate`` task): how well a round trip restores an image, and whether a
translation keeps the source image's class. float64 throughout."""

from __future__ import annotations

import torch


def cycle_l1(source: torch.Tensor, reconstructed: torch.Tensor) -> float:
    """Mean absolute pixel error of the round trip, e.g. ‖F(G(a)) − a‖₁ / #pixels, in the [-1, 1] pixel scale."""
    return float((reconstructed.double() - source.double()).abs().mean())


def translation_accuracy(target_logits: torch.Tensor, source_labels: torch.Tensor) -> float:
    """Fraction of translations the target domain's classifier assigns the source image's label."""
    return float((target_logits.argmax(1) == source_labels.to(target_logits.device)).double().mean())
