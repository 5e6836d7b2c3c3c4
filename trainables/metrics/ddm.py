"""Distribution Divergence Measure (paper 004 ch. 3, eq. 3.4).

    DDM(T, G) = −(1/|T|) Σ_t log[ (1/|G|) Σ_g exp(−D(t, g)) ]

T is the held-out test set, G the generated set, both as embeddings (classifier logits in the
thesis), and D(t, g) the Euclidean distance between embeddings (the thesis' choice: "pairwise
distances between each Gaussian mixture center"). Lower is better.

The thesis reports negative values although eq. 3.4 with D ≥ 0 is non-negative: it dropped the
constant numerator of the variational approximation (eq. 3.3). Compare orderings with the thesis,
not raw values.

Computed by a streaming log-sum-exp over tiles of the |T|×|G| distance matrix, so memory is
O(tile² + |T|) and never the dense matrix; accumulation is float64.
"""

from __future__ import annotations

import math

import torch

DISTANCES = ("euclidean", "sqeuclidean")


def _distance(a: torch.Tensor, b: torch.Tensor, distance: str, sigma: float) -> torch.Tensor:
    sq = (a * a).sum(1, keepdim=True) - 2.0 * a @ b.T + (b * b).sum(1)[None, :]
    sq = sq.clamp_min_(0.0)  # cancellation can make tiny squared distances negative
    if distance == "euclidean":
        return sq.sqrt_()
    if distance == "sqeuclidean":
        return sq.div_(2.0 * sigma * sigma)
    raise ValueError(f"unknown distance {distance!r}; valid: {', '.join(DISTANCES)}")


def mean_neg_log_mean_exp(
    queries: torch.Tensor,
    refs: torch.Tensor,
    *,
    distance: str = "euclidean",
    sigma: float = 1.0,
    tile: int = 1024,
) -> torch.Tensor:
    """For each query q: −log( (1/|refs|) Σ_r exp(−D(q, r)) ), streamed over tiles; returns a vector."""
    q = queries.detach().to(torch.float64)
    r = refs.detach().to(q.device, torch.float64)
    out = torch.empty(q.shape[0], dtype=torch.float64, device=q.device)
    for i in range(0, q.shape[0], tile):
        qi = q[i : i + tile]
        running = torch.full((qi.shape[0],), -math.inf, dtype=torch.float64, device=q.device)
        for j in range(0, r.shape[0], tile):
            block = -_distance(qi, r[j : j + tile], distance, sigma)
            running = torch.logaddexp(running, torch.logsumexp(block, dim=1))
        out[i : i + tile] = math.log(r.shape[0]) - running
    return out


def ddm(
    test: torch.Tensor,
    generated: torch.Tensor,
    *,
    distance: str = "euclidean",
    sigma: float = 1.0,
    tile: int = 1024,
) -> float:
    """Eq. 3.4: mean over test embeddings of −log mean_g exp(−D(t, g))."""
    return float(mean_neg_log_mean_exp(test, generated, distance=distance, sigma=sigma, tile=tile).mean())
