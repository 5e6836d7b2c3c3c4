"""The nearest-neighbour copy test for generation: the share of generated samples that sit closer to a training
image than any other training image does.

For each generated g, let t be its nearest training image (in the chosen features) and d₁ = ‖g − t‖; let d₂ be t's
distance to its nearest *other* training image. g counts as a copy when d₁ < d₂: it is nearer to t than the
training set's own nearest pair around t, which two independent draws rarely are. Lower is better; a generator
that returns training images scores 1, one that returns fresh real images scores near 0.5 or below.

It is the complement of AuthPct (``trainables.metrics.authpct``, d₂ < d₁ counts as authentic): nn_share =
1 − authpct / 100 − (share of exact ties d₁ = d₂). Both are kept so numbers compare with the papers of either.
"""

from __future__ import annotations

import torch

from trainables.metrics.nearest import as64, nearest, nearest_other


def nn_share(train: torch.Tensor, generated: torch.Tensor, train_nearest: torch.Tensor | None = None) -> float:
    """Share of ``generated`` rows closer to their nearest ``train`` row than that row is to its nearest other
    training row. ``train_nearest``: ``nearest_other(train)``, passed when cached (it depends on train only)."""
    t, g = as64(train, "train"), as64(generated, "generated")
    d2_all = nearest_other(t) if train_nearest is None else train_nearest.to(torch.float64)
    d1, j = nearest(g, t)
    return float((d1 < d2_all[j]).double().mean())
