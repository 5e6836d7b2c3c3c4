"""The nearest-neighbour gallery of a final run: each generated sample beside its k nearest training images in the
scoring features, the view dgm-eval and the memorisation literature use to see copying that a number hides.

One row per generated sample: generated | nearest | 2nd | 3rd, pixels in [-1, 1] → uint8 H×W×3.
"""

from __future__ import annotations

import numpy as np
import torch

ROWS, K = 8, 3


def nearest_k(queries: torch.Tensor, refs: torch.Tensor, k: int = K, tile: int = 1024) -> torch.Tensor:
    """Indices of each query's k nearest rows of ``refs`` (float64 distances, tile by tile)."""
    q, r = queries.double(), refs.double()
    best_d = torch.full((len(q), 0), 0.0, dtype=torch.float64)
    best_i = torch.zeros((len(q), 0), dtype=torch.long)
    for j in range(0, len(r), tile):
        d = torch.cdist(q, r[j : j + tile])
        cand_d, cand_i = (
            torch.cat([best_d, d], 1),
            torch.cat([best_i, torch.arange(j, j + d.shape[1]).expand(len(q), -1)], 1),
        )
        best_d, pick = cand_d.topk(min(k, cand_d.shape[1]), 1, largest=False)
        best_i = cand_i.gather(1, pick)
    return best_i


def nearest_gallery(generated: torch.Tensor, generated_features: torch.Tensor, train: torch.Tensor,
                    train_features: torch.Tensor, rows: int = ROWS, k: int = K) -> np.ndarray:  # fmt: skip
    """uint8 H×W×3 image: ``rows`` generated images, each followed by its ``k`` nearest training images."""
    from torchvision.utils import make_grid

    n = min(rows, len(generated))
    idx = nearest_k(generated_features[:n], train_features, k)
    tiles = [img for i in range(n) for img in (generated[i], *train[idx[i]])]
    grid = make_grid(
        torch.stack([t.float() for t in tiles]), nrow=k + 1, padding=2, normalize=True, value_range=(-1, 1)
    )
    return (grid.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
