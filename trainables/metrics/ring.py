"""Mode coverage on a 2-D Gaussian mixture such as the 8-Gaussian ring (paper 003 §4.1, Metz et al. 2016).

Paper 003 shows the ring only as scatter plots; the numbers here follow the protocol its successors
report (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018): a generated sample is *high
quality* when it lies within ``n_std`` = 3 standard deviations of its nearest mode centre, and a
mode is *covered* when at least ``min_count`` high-quality samples are nearest to it. The default
``min_count`` is PacGAN's rule scaled to the sample count: 20 % of the samples a mode would receive
if the n samples were spread evenly over the K modes (PacGAN: 20 of 100).
"""

from __future__ import annotations

import math

import torch


def ring_coverage(
    samples: torch.Tensor,
    centers: torch.Tensor,
    std: float,
    *,
    n_std: float = 3.0,
    min_count: int | None = None,
) -> dict[str, float]:
    """``modes_covered`` (count of modes) and ``high_quality_fraction`` of ``samples`` (N×D)."""
    x = torch.as_tensor(samples).detach().to("cpu", torch.float64)
    c = torch.as_tensor(centers).detach().to("cpu", torch.float64)
    if x.ndim != 2 or c.ndim != 2 or x.shape[1] != c.shape[1] or len(x) == 0:
        raise ValueError(f"ring coverage needs N×D samples and K×D centres, got {tuple(x.shape)}, {tuple(c.shape)}")
    if std <= 0:
        raise ValueError(f"mode standard deviation must be > 0 (got {std})")
    if min_count is None:
        min_count = max(1, math.ceil(0.2 * len(x) / len(c)))
    dist, nearest = torch.cdist(x, c).min(1)
    good = dist <= n_std * std
    counts = torch.bincount(nearest[good], minlength=len(c))
    return {
        "modes_covered": float((counts >= min_count).sum()),
        "high_quality_fraction": float(good.double().mean()),
    }
