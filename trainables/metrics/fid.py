"""Fréchet Inception Distance (Heusel et al. 2017) and Kernel Inception Distance (Bińkowski et al. 2018).

Both work on any feature matrix (Inception-v3 pool features for published numbers, or the domain
classifier's penultimate features); the feature path is recorded next to every result by the caller.

FID = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}. The trace term is computed from
the eigenvalues of the symmetric PSD matrix Σ₁^{1/2} Σ₂ Σ₁^{1/2} (clipped at 0), which has the same
trace-sqrt as Σ₁Σ₂ but, unlike ``sqrtm(Σ₁Σ₂)``, never produces complex numbers or NaN when a
covariance is rank-deficient (fewer samples than feature dimensions).

KID is the unbiased MMD² with the cubic polynomial kernel k(x, y) = (xᵀy/d + 1)³, averaged over
random subsets, with torch-fidelity's defaults (100 subsets of 1,000, seed 2020) and its sampling
order, so the numbers agree with ``torch_fidelity`` on the same features. When both sets are no
larger than a subset every subset is the two whole sets reordered, so that one value is computed once.
"""

from __future__ import annotations

import numpy as np
import torch


def _as64(x: torch.Tensor, name: str) -> torch.Tensor:
    x = torch.as_tensor(x).detach().to("cpu", torch.float64)
    if x.ndim != 2:
        raise ValueError(f"{name}: expected an N×d feature matrix, got shape {tuple(x.shape)}")
    return x


def gaussian_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased covariance (as ``np.cov``) of an N×d feature matrix, float64."""
    x = _as64(features, "features")
    if len(x) < 2:
        raise ValueError(f"FID needs at least 2 samples per set (got {len(x)})")
    mu = x.mean(0)
    xc = x - mu
    return mu, xc.T @ xc / (len(x) - 1)


def psd_sqrt(s: torch.Tensor) -> torch.Tensor:
    """The symmetric PSD square root (eigenvalues clipped at 0)."""
    w, v = torch.linalg.eigh((s + s.T) / 2)
    return (v * w.clamp_min(0.0).sqrt()) @ v.T


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor, *,
                     sigma1_sqrt: torch.Tensor | None = None) -> float:  # fmt: skip
    """Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂), float64, ≥ 0. ``sigma1_sqrt``: Σ₁^{1/2} when the caller
    has it (a cached reference set), which saves one of the two eigendecompositions."""
    mu1, mu2 = (torch.as_tensor(m, dtype=torch.float64) for m in (mu1, mu2))
    s1, s2 = (torch.as_tensor(s, dtype=torch.float64) for s in (sigma1, sigma2))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"FID statistics do not match: μ {tuple(mu1.shape)}/{tuple(mu2.shape)}, "
                         f"Σ {tuple(s1.shape)}/{tuple(s2.shape)}")  # fmt: skip
    r1 = psd_sqrt(s1) if sigma1_sqrt is None else torch.as_tensor(sigma1_sqrt, dtype=torch.float64)
    m = r1 @ s2 @ r1
    tr_covmean = torch.linalg.eigvalsh((m + m.T) / 2).clamp_min(0.0).sqrt().sum()
    diff = mu1 - mu2
    value = float(diff @ diff + torch.trace(s1) + torch.trace(s2) - 2.0 * tr_covmean)
    return max(value, 0.0)  # rounding can leave −1e-12 for identical statistics


def fid(real: torch.Tensor, generated: torch.Tensor) -> float:
    """FID between two feature matrices (rows are samples)."""
    r, g = _as64(real, "real"), _as64(generated, "generated")
    if r.shape[1] != g.shape[1]:
        raise ValueError(f"feature dimensions differ: real {r.shape[1]}, generated {g.shape[1]}")
    return frechet_distance(*gaussian_stats(r), *gaussian_stats(g))


def _mmd2_unbiased(k_xx: torch.Tensor, k_yy: torch.Tensor, k_xy: torch.Tensor) -> float:
    """torch-fidelity's "unbiased" estimator: diagonals dropped from K_XX and K_YY, K_XY kept whole."""
    m = len(k_xx)
    off_diag = (k_xx.sum() - k_xx.diagonal().sum()) + (k_yy.sum() - k_yy.diagonal().sum())
    return float(off_diag / (m * (m - 1)) - 2.0 * k_xy.sum() / (m * m))


GRAM_MAX = 4096  # up to this many samples in all, one Gram matrix (≤ 134 MB) serves every subset


def kid(
    real: torch.Tensor,
    generated: torch.Tensor,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1.0,
    seed: int = 2020,
) -> tuple[float, float]:
    """Mean and std over ``subsets`` random subsets of the unbiased polynomial-kernel MMD².

    ``subset_size`` is capped at the smaller set's size (torch-fidelity refuses instead), so per-epoch
    evaluation with few samples still works; the cap is part of what the caller records as n.
    """
    r, g = _as64(real, "real"), _as64(generated, "generated")
    if r.shape[1] != g.shape[1]:
        raise ValueError(f"feature dimensions differ: real {r.shape[1]}, generated {g.shape[1]}")
    m = min(subset_size, len(r), len(g))
    if m < 2:
        raise ValueError(f"KID needs at least 2 samples per set (got {len(r)} real, {len(g)} generated)")
    gamma = 1.0 / r.shape[1] if gamma is None else gamma
    rng = np.random.RandomState(seed)
    if m == len(g) == len(r):  # every subset is both whole sets reordered: one value, std 0
        return _mmd2_unbiased(*((d * gamma + coef0) ** degree for d in (g @ g.T, r @ r.T, g @ r.T))), 0.0
    # Per-epoch sets are small: one Gram matrix of all samples, indexed per subset, replaces 3 × subsets matmuls.
    both = torch.cat([g, r]) if len(g) + len(r) <= GRAM_MAX else None
    gram = both @ both.T if both is not None else None
    values = []
    for _ in range(subsets):
        # torch-fidelity's order: the generated subset is drawn first, then the real one.
        gi = torch.from_numpy(rng.choice(len(g), m, replace=False))
        ri = torch.from_numpy(rng.choice(len(r), m, replace=False))
        if gram is not None:
            ri_all = ri + len(g)
            dots = (gram[gi][:, gi], gram[ri_all][:, ri_all], gram[gi][:, ri_all])
        else:
            x, y = g[gi], r[ri]
            dots = (x @ x.T, y @ y.T, x @ y.T)
        values.append(_mmd2_unbiased(*((d * gamma + coef0) ** degree for d in dots)))
    return float(np.mean(values)), float(np.std(values))
