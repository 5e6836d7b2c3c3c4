"""Parzen-window log-likelihood (Breuleux et al. 2011; Goodfellow et al. 2014; paper 004 §3.4.1).

A Gaussian kernel of bandwidth σ is put on every generated sample; the score is the mean
log-density of held-out real points under that mixture, in nats:

    log p(x) = log (1/|G|) Σ_g N(x; g, σ² I) = logmeanexp_g(−‖x − g‖² / 2σ²) − d log(σ √(2π))

σ is chosen from a grid by the mean log-likelihood of a validation split (real points not in the
test split), as in goodfeli/adversarial's ``parzen_ll.py``, whose default grid (10 values
log-spaced over [0.1, 1], for pixels in [0, 1]) is the default here. Paper 004 uses the number to
show how little it says about image quality; it is here so that comparison can be repeated.
Streamed over tiles (float64): the distance tile is computed once and reused for every σ.
"""

from __future__ import annotations

import math

import numpy as np
import torch

DEFAULT_SIGMAS = tuple(float(s) for s in np.logspace(-1, 0, 10))


def parzen_log_density(queries: torch.Tensor, centers: torch.Tensor, sigmas, tile: int = 1024) -> torch.Tensor:
    """log p(x) of every query under the Gaussian-kernel mixture for every σ: a |queries| × |σ| matrix."""
    q = torch.as_tensor(queries).detach().to("cpu", torch.float64).flatten(1)
    c = torch.as_tensor(centers).detach().to("cpu", torch.float64).flatten(1)
    if q.shape[1] != c.shape[1] or len(c) == 0:
        raise ValueError(f"Parzen window needs points of equal dimension, got {tuple(q.shape)} and {tuple(c.shape)}")
    s = torch.as_tensor(sigmas, dtype=torch.float64)
    if s.ndim != 1 or len(s) == 0 or bool((s <= 0).any()):
        raise ValueError("Parzen bandwidths must be a non-empty list of positive numbers")
    inv = 1.0 / (2.0 * s * s)
    out = torch.empty(len(q), len(s), dtype=torch.float64)
    for i in range(0, len(q), tile):
        qi = q[i : i + tile]
        running = torch.full((len(qi), len(s)), -math.inf, dtype=torch.float64)
        for j in range(0, len(c), tile):
            cj = c[j : j + tile]
            sq = ((qi * qi).sum(1, keepdim=True) - 2.0 * qi @ cj.T + (cj * cj).sum(1)[None]).clamp_min_(0.0)
            block = torch.stack([torch.logsumexp(-sq * w, dim=1) for w in inv.tolist()], 1)  # queries × σ
            running = torch.logaddexp(running, block)
        out[i : i + tile] = running
    d = q.shape[1]
    return out - math.log(len(c)) - d * torch.log(s * math.sqrt(2 * math.pi))


def parzen_log_likelihood(
    generated: torch.Tensor,
    test: torch.Tensor,
    validation: torch.Tensor,
    *,
    sigmas=DEFAULT_SIGMAS,
    tile: int = 1024,
) -> tuple[float, float]:
    """(mean test log-likelihood in nats, the σ chosen on ``validation``)."""
    best = int(parzen_log_density(validation, generated, sigmas, tile).mean(0).argmax())
    sigma = float(torch.as_tensor(sigmas, dtype=torch.float64)[best])
    return float(parzen_log_density(test, generated, [sigma], tile)[:, 0].mean()), sigma
