"""AuthPct (Alaa et al. 2022, "How faithful is your synthetic data?", the authenticity score), as
layer6ai-labs/dgm-eval computes it (``compute_authpct``, after marcojira/fls).

For each generated g: its nearest training image t at distance d₁, and t's distance d₂ to its nearest other
training image. g is *authentic* when d₂ < d₁ (t has a closer training neighbour than g is to it); AuthPct is the
percentage of authentic samples, 0-100, higher is better. dgm-eval computes in float32; here float64.
"""

from __future__ import annotations

import torch

from trainables.metrics.nearest import as64, nearest, nearest_other


def authpct(train: torch.Tensor, generated: torch.Tensor, train_nearest: torch.Tensor | None = None) -> float:
    """Percentage of ``generated`` rows that are authentic; ``train_nearest`` = ``nearest_other(train)`` if cached."""
    t, g = as64(train, "train"), as64(generated, "generated")
    d2_all = nearest_other(t) if train_nearest is None else train_nearest.to(torch.float64)
    d1, j = nearest(g, t)
    return 100.0 * float((d2_all[j] < d1).double().mean())
