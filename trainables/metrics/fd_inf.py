"""FD∞ (Chong & Forsyth, "Effectively unbiased FID and Inception Score and where to find them", CVPR 2020): the
Fréchet distance extrapolated to infinitely many generated samples, free of FID's 1/N bias, as
layer6ai-labs/dgm-eval computes it (``compute_FD_infinity``).

FD_N is evaluated on random subsets of N generated samples, N at 15 evenly spaced counts from
min(5000, max(M/10, 2)) to M (M = all generated), drawn without replacement; a least-squares line FD_N = a + b/N is
fitted and FD∞ = a. The real statistics are fixed (the whole reference set). Differences from dgm-eval: the subsets
come from a seeded generator (dgm-eval's is unseeded) and each FD_N is this package's eigenvalue form of the
Fréchet distance (``trainables.metrics.fid``) rather than ``scipy.linalg.sqrtm`` with an ε retry.
"""

from __future__ import annotations

import numpy as np
import torch

from trainables.metrics.fid import frechet_distance, gaussian_stats, psd_sqrt
from trainables.metrics.nearest import as64

POINTS = 15


def fd_counts(m: int, points: int = POINTS) -> np.ndarray:
    """The subset sizes N at which FD_N is evaluated (dgm-eval's grid)."""
    return np.linspace(min(5000, max(m // 10, 2)), m, points).astype(np.int64)


def fd_inf(real: torch.Tensor | tuple[torch.Tensor, torch.Tensor], generated: torch.Tensor, *,
           points: int = POINTS, seed: int = 0) -> float:  # fmt: skip
    """FD∞ of ``generated`` features against ``real`` features (or their cached (μ, Σ))."""
    mu1, s1 = real if isinstance(real, tuple) else gaussian_stats(real)
    g = as64(generated, "generated")
    if g.shape[1] != len(mu1):
        raise ValueError(f"feature dimensions differ: real {len(mu1)}, generated {g.shape[1]}")
    counts = fd_counts(len(g), points)
    rng = np.random.default_rng(seed)
    root = psd_sqrt(torch.as_tensor(s1, dtype=torch.float64))  # the real side is shared by every FD_N
    fds = [frechet_distance(mu1, s1, *gaussian_stats(g[torch.from_numpy(rng.choice(len(g), n, replace=False))]),
                            sigma1_sqrt=root) for n in counts]  # fmt: skip
    design = np.stack([np.ones(len(counts)), 1.0 / counts], 1)
    intercept, _ = np.linalg.lstsq(design, np.asarray(fds), rcond=None)[0]
    return float(intercept)
