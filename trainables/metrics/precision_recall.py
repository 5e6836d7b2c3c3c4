"""Improved precision/recall (Kynkäänniemi et al. 2019) and density/coverage (Naeem et al. 2020).

Each set defines a manifold as the union of balls around its samples, each ball reaching the
sample's k-th nearest neighbour in the same set: k = 3 for precision/recall (Kynkäänniemi et al.) and
k = 5 for density/coverage (Naeem et al. §4 and clovaai/generative-evaluation-prdc's ``nearest_k``):

- precision = fraction of generated samples inside the real manifold
- recall    = fraction of real samples inside the generated manifold
- density   = (1 / kM) Σ_generated #{real balls containing it}   (can exceed 1)
- coverage  = fraction of real samples whose own ball contains at least one generated sample

"Inside" means distance ≤ radius, as in Kynkäänniemi et al.'s and torch-fidelity's code. Every
distance matrix is visited tile by tile (tile × tile entries at a time, float64), keeping only
per-sample running results, so memory never holds an N×M matrix.
"""

from __future__ import annotations

import torch


def _as64(x: torch.Tensor, name: str) -> torch.Tensor:
    x = torch.as_tensor(x).detach().to("cpu", torch.float64)
    if x.ndim != 2:
        raise ValueError(f"{name}: expected an N×d feature matrix, got shape {tuple(x.shape)}")
    return x


def knn_radii(x: torch.Tensor, k: int = 3, tile: int = 1024) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row (the (k+1)-th smallest, counting itself)."""
    if len(x) <= k:
        raise ValueError(f"k-NN radii need more than k={k} samples (got {len(x)})")
    radii = torch.empty(len(x), dtype=torch.float64)
    for i in range(0, len(x), tile):
        best = None  # running k+1 smallest distances of this row tile
        for j in range(0, len(x), tile):
            block = torch.cdist(x[i : i + tile], x[j : j + tile])
            cand = block if best is None else torch.cat([best, block], 1)
            best = cand.topk(min(k + 1, cand.shape[1]), dim=1, largest=False).values
        radii[i : i + tile] = best[:, k]
    return radii


def precision_recall(
    real: torch.Tensor,
    generated: torch.Tensor,
    *,
    k: int = 3,
    k_density: int = 5,
    tile: int = 1024,
) -> dict[str, float]:
    """Precision, recall (k-NN balls with ``k``), density and coverage (with ``k_density``) of ``generated``
    against ``real`` features."""
    r, g = _as64(real, "real"), _as64(generated, "generated")
    if r.shape[1] != g.shape[1]:
        raise ValueError(f"feature dimensions differ: real {r.shape[1]}, generated {g.shape[1]}")
    r_radii, g_radii = knn_radii(r, k, tile), knn_radii(g, k, tile)
    r_radii_dc = r_radii if k_density == k else knn_radii(r, k_density, tile)
    in_real = torch.zeros(len(g), dtype=torch.bool)  # generated sample inside some real ball
    density_hits = torch.zeros(len(g), dtype=torch.float64)
    in_gen = torch.zeros(len(r), dtype=torch.bool)  # real sample inside some generated ball
    covered = torch.zeros(len(r), dtype=torch.bool)  # real ball holding some generated sample
    for i in range(0, len(g), tile):
        gi, g_rad = g[i : i + tile], g_radii[i : i + tile]
        for j in range(0, len(r), tile):
            d = torch.cdist(gi, r[j : j + tile])  # generated × real
            in_real[i : i + tile] |= (d <= r_radii[j : j + tile][None, :]).any(1)
            inside_dc_ball = d <= r_radii_dc[j : j + tile][None, :]
            density_hits[i : i + tile] += inside_dc_ball.sum(1)
            covered[j : j + tile] |= inside_dc_ball.any(0)
            in_gen[j : j + tile] |= (d <= g_rad[:, None]).any(0)
    return {
        "precision": float(in_real.double().mean()),
        "recall": float(in_gen.double().mean()),
        "density": float(density_hits.sum() / (k_density * len(g))),
        "coverage": float(covered.double().mean()),
    }
