"""Class-conditional generation, shared by training, evaluation and sampling: which labels the scored samples are
generated for, how a grid shows them, and which conditioning a trial uses.

Scored samples are class-balanced: sample i is generated for label i mod K, so the first n samples of an epoch
hold every class ⌊n/K⌋ or ⌈n/K⌉ times and every metric's prefix of them stays balanced. Training fakes draw their
labels uniformly (pfnet-research/sngan_projection's ``sample_categorical``), independently of the real batch.
"""

from __future__ import annotations

import torch

from trainables.nets.conditional import CONDITIONS

GRID_COLUMNS = 8


def balanced_labels(n: int, num_classes: int) -> torch.Tensor:
    """Label i mod K for sample i: the labels every scored, class-balanced sample set is generated for."""
    return torch.arange(n) % num_classes


def random_labels(n: int, num_classes: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Uniform labels for a training batch of fakes."""
    return torch.randint(0, num_classes, (n,), device=device)


def grid_by_class(samples: torch.Tensor, num_classes: int, columns: int = GRID_COLUMNS) -> torch.Tensor:
    """One row per class (class k in row k), ``columns`` samples each (fewer when fewer were made)."""
    per_class = max(1, min(columns, len(samples) // num_classes))
    rows = [samples[k::num_classes][:per_class] for k in range(num_classes)]
    return torch.cat(rows)


def trial_condition(config: dict) -> str:
    """The trial's conditioning: ``condition`` in its config (``--condition``), else its method's ("" for none)."""
    from trainables.registry import get_method

    condition = config.get("condition") or get_method(config["method"], config.get("method_path")).condition
    if condition and condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; valid: {', '.join(CONDITIONS)}")
    return condition
