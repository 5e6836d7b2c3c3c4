"""Nearest neighbours in feature space, tile by tile in float64: the shared step of the memorisation metrics.

``nearest(queries, refs)`` gives each query's distance to and index of its nearest reference row;
``nearest_other(x)`` each row's distance to its nearest *other* row of the same set (the copy test's yardstick:
how close two distinct training images come). Memory is one tile × tile block at a time, never N × M.
"""

from __future__ import annotations

import torch


def as64(x: torch.Tensor, name: str) -> torch.Tensor:
    x = torch.as_tensor(x).detach().to("cpu", torch.float64)
    if x.ndim != 2:
        raise ValueError(f"{name}: expected an N×d feature matrix, got shape {tuple(x.shape)}")
    return x


def nearest(queries: torch.Tensor, refs: torch.Tensor, tile: int = 1024, *, exclude_self: bool = False):
    """(distance, index) of each query's nearest row of ``refs``; ``exclude_self`` skips row i for query i
    (``queries`` is ``refs``)."""
    q, r = as64(queries, "queries"), as64(refs, "refs")
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"feature dimensions differ: {q.shape[1]} and {r.shape[1]}")
    if len(r) < 1 + exclude_self:
        raise ValueError(f"need at least {1 + exclude_self} reference rows (got {len(r)})")
    best_d = torch.full((len(q),), float("inf"), dtype=torch.float64)
    best_i = torch.zeros(len(q), dtype=torch.long)
    for i in range(0, len(q), tile):
        for j in range(0, len(r), tile):
            d = torch.cdist(q[i : i + tile], r[j : j + tile])
            if exclude_self and i == j:
                d.fill_diagonal_(float("inf"))  # tiles align when queries is refs: the diagonal is the self
            dmin, imin = d.min(1)
            better = dmin < best_d[i : i + tile]
            best_d[i : i + tile] = torch.where(better, dmin, best_d[i : i + tile])
            best_i[i : i + tile] = torch.where(better, imin + j, best_i[i : i + tile])
    return best_d, best_i


def nearest_other(x: torch.Tensor, tile: int = 1024) -> torch.Tensor:
    """Each row's distance to its nearest other row of ``x``."""
    return nearest(x, x, tile, exclude_self=True)[0]
