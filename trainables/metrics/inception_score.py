"""Inception Score (Salimans et al. 2016; paper 000 §5.1): exp(E_x KL(p(y|x) ‖ p(y))).

Protocol of openai/improved-gan and torch-fidelity: the samples are split into ``splits`` equal
parts (after a seeded shuffle, as torch-fidelity does), the score is computed per split with p(y)
the split's marginal, and the mean and standard deviation over splits are reported.
"""

from __future__ import annotations

import numpy as np
import torch


def inception_score(
    logits: torch.Tensor | None = None,
    *,
    probs: torch.Tensor | None = None,
    splits: int = 10,
    shuffle: bool = True,
    seed: int = 2020,
) -> tuple[float, float]:
    """Mean and std of the Inception Score over ``splits`` splits.

    Pass classifier ``logits`` (preferred: log-softmax in float64 avoids log(0)) or ``probs``.
    """
    if (logits is None) == (probs is None):
        raise ValueError("pass exactly one of logits= or probs=")
    x = (logits if logits is not None else probs).detach().to("cpu", torch.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D (samples × classes) tensor, got shape {tuple(x.shape)}")
    n = x.shape[0]
    if n < splits:
        raise ValueError(f"Inception Score needs at least as many samples as splits (got {n} < {splits})")
    if shuffle:
        x = x[torch.from_numpy(np.random.RandomState(seed).permutation(n))]
    if logits is not None:
        log_p = torch.log_softmax(x, dim=1)
    else:
        log_p = torch.log(x.clamp_min(0.0))
    p = log_p.exp()
    scores = []
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        p_s, log_p_s = p[lo:hi], log_p[lo:hi]
        log_marginal = torch.log(p_s.mean(dim=0, keepdim=True))
        # 0·log 0 = 0: zero-probability classes contribute nothing to the KL.
        kl = torch.where(p_s > 0, p_s * (log_p_s - log_marginal), torch.zeros_like(p_s)).sum(dim=1)
        scores.append(float(torch.exp(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))
