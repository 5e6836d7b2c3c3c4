"""MS-SSIM diversity (Odena et al. 2017; paper 003 Table 1): mean MS-SSIM of random generated pairs.

Lower means more diverse. The per-pair MS-SSIM is torchmetrics' implementation. The standard
configuration (5 scales, Gaussian window σ = 1.5, 11 px) needs images of at least 176 px, so for
28-, 32- and 64-px images this uses 3 scales (the first three standard exponents 0.0448, 0.2856,
0.3001, renormalised to sum to 1 so identical images still score 1) and a Gaussian window of
σ = 0.8, which torchmetrics turns into a 7-px window (it derives the size as 2·⌊3.5σ + 0.5⌋ + 1).
The same configuration is used at every resolution so values are comparable across datasets; they
are not comparable with full-resolution 5-scale numbers such as paper 003's CelebA table.
"""

from __future__ import annotations

import torch

STANDARD_BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
SCALES = 3
SIGMA = 0.8


def _ms_ssim():
    """torchmetrics, imported on first use: it costs ~1.5 s, paid by every trial process otherwise."""
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

    return multiscale_structural_similarity_index_measure


def betas(scales: int = SCALES) -> tuple[float, ...]:
    b = STANDARD_BETAS[:scales]
    return tuple(x / sum(b) for x in b)


def window(sigma: float) -> int:
    """The Gaussian window torchmetrics uses for ``sigma`` (it ignores ``kernel_size`` for Gaussian windows)."""
    return 2 * int(3.5 * sigma + 0.5) + 1


def min_size(scales: int = SCALES, sigma: float = SIGMA) -> int:
    """Smallest image side this configuration accepts (torchmetrics' own check)."""
    div = max(1, scales - 1) ** 2
    return max(window(sigma) * div, 2**scales)


def ms_ssim_pairs(a: torch.Tensor, b: torch.Tensor, *, scales: int = SCALES, sigma: float = SIGMA,
                  batch: int = 256) -> torch.Tensor:  # fmt: skip
    """MS-SSIM of each pair (a[i], b[i]) of images in [-1, 1], float64, one value per pair."""
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"MS-SSIM needs two N×C×H×W batches of equal shape, got {tuple(a.shape)}, {tuple(b.shape)}")
    if min(a.shape[-2:]) < min_size(scales, sigma):
        raise ValueError(f"MS-SSIM with {scales} scales and a {window(sigma)}-px window needs images of at least "
                         f"{min_size(scales, sigma)} px (got {tuple(a.shape[-2:])})")  # fmt: skip
    out = []
    for i in range(0, len(a), batch):
        x = ((a[i : i + batch].to(torch.float64) + 1) / 2).clamp(0, 1)
        y = ((b[i : i + batch].to(torch.float64) + 1) / 2).clamp(0, 1)
        out.append(_ms_ssim()(x, y, kernel_size=window(sigma), sigma=sigma, betas=betas(scales), data_range=1.0,
                            reduction="none", normalize="relu"))  # fmt: skip
    return torch.cat(out)


def ms_ssim_diversity(images: torch.Tensor, *, pairs: int | None = None, seed: int = 0, **kw) -> float:
    """Mean MS-SSIM over random disjoint pairs of the images (n // 2 pairs by default), images in [-1, 1]."""
    n = len(images)
    if n < 2:
        raise ValueError(f"MS-SSIM diversity needs at least 2 images (got {n})")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    m = n // 2 if pairs is None else min(pairs, n // 2)
    return float(ms_ssim_pairs(images[perm[:m]], images[perm[m : 2 * m]], **kw).mean())
