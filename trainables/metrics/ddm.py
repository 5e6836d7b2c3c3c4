"""Distribution Divergence Measure (paper 004 ch. 3) in its three forms.

T is the held-out test set, R the training set, G the generated set, all as embeddings (classifier
logits in the thesis), and D(a, b) a distance between embeddings: the Euclidean distance (the
thesis' choice: "pairwise distances between each Gaussian mixture center") or the squared Euclidean
distance over 2σ², which is exactly the KL divergence between two isotropic Gaussians of variance σ²
centred on the embeddings, i.e. the D of Goldberger et al.'s approximation. Lower is better for all.

- ``ddm``, eq. 3.4:            DDM(T, G) = −(1/|T|) Σ_t log[(1/|G|) Σ_g e^{−D(t,g)}]
- ``ddm_relative``, eq. 3.5:   (1/|R|) Σ_r log[ (1/|T|) Σ_t e^{−D(r,t)} / (1/|G|) Σ_g e^{−D(r,g)} ]
- ``ddm_goldberger``, eq. 3.3: (1/|T|) Σ_t log[ (1/|T|) Σ_t' e^{−D(t,t')} / (1/|G|) Σ_g e^{−D(t,g)} ]
  (the variational KL(T ‖ G) with the self term that the thesis dropped, t' = t included as in
  Goldberger et al.; it is exactly 0 when G = T, and near 0, slightly positive, when G is a fresh draw
  from T's distribution, since each t's zero distance to itself lifts the self term.)

Why the thesis reports negative values: eq. 3.4 with D ≥ 0 is never negative (each inner mean of
e^{−D} is ≤ 1). The thesis obtained eq. 3.4 from eq. 3.3 by dropping the numerator — the self term
— as "a constant, only adding a linear shift to our results". Its published values include that
shift, so they are negative while ours are not. Compare orderings with the thesis, never raw values;
``ddm_goldberger`` keeps the self term and is the form whose zero means "matches T".

What eq. 3.4 rewards. With a fixed kernel, DDM is the cross-entropy of T under a kernel density put on
G, and nothing penalises G for being narrower than T: a generator that outputs only the class centres
of T's embeddings scores *better* (lower) than a fresh sample of T itself, because every t is then
closer on average to some g. DDM ranks generators by how close they come to T's typical points, not by
whether they reproduce its spread (``tests/test_ddm_properties.py`` shows it). The distance matters as
well: the Euclidean D (the thesis' choice, the default here) and the squared form ‖·‖²/2σ² that eq. 3.3's
derivation needs can rank the same generators differently, so a bandwidth is part of the metric.
``ddm_sq`` uses the squared form with σ chosen as the Parzen estimate chooses it: the bandwidth at which a
Gaussian kernel density of T best explains a held-out validation split (the train split) of real data.
σ is a property of the real data, so every generator is scored with the same kernel.

All of them are computed by a streaming log-sum-exp over tiles of the distance matrix: memory is
O(tile² + |queries|), never the dense matrix, and accumulation is float64. Small tiles
(256: a 512 KB block) stay in cache, which makes streaming faster than the dense form too
(``benchmarks/ddm.py``).
"""

from __future__ import annotations

import math

import torch

from trainables.metrics.parzen import parzen_log_density

DISTANCES = ("euclidean", "sqeuclidean")


EXACT_DIM = 64  # up to this dimension Euclidean distances are computed from differences, not the expansion


def _distance(a: torch.Tensor, b: torch.Tensor, distance: str, sigma: float) -> torch.Tensor:
    if distance == "euclidean" and a.shape[1] <= EXACT_DIM:
        # ‖a‖² − 2ab + ‖b‖² loses ~1e-8 to cancellation near 0 once square-rooted (the self term of
        # ddm_goldberger is all zeros); differences are exact and cheap for logits and points.
        return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")
    sq = (a * a).sum(1, keepdim=True) - 2.0 * a @ b.T + (b * b).sum(1)[None, :]
    sq = sq.clamp_min_(0.0)  # cancellation can make tiny squared distances negative
    if distance == "euclidean":
        return sq.sqrt_()
    if distance == "sqeuclidean":
        return sq.div_(2.0 * sigma * sigma)
    raise ValueError(f"unknown distance {distance!r}; valid: {', '.join(DISTANCES)}")


def _check(queries: torch.Tensor, refs: torch.Tensor) -> None:
    if queries.ndim != 2 or refs.ndim != 2 or queries.shape[1] != refs.shape[1]:
        raise ValueError(f"DDM needs two N×d embedding matrices of equal d, got {tuple(queries.shape)} and "
                         f"{tuple(refs.shape)}")  # fmt: skip
    if len(queries) == 0 or len(refs) == 0:
        raise ValueError("DDM needs non-empty embedding sets")


def mean_neg_log_mean_exp(
    queries: torch.Tensor,
    refs: torch.Tensor,
    *,
    distance: str = "euclidean",
    sigma: float = 1.0,
    tile: int = 256,
) -> torch.Tensor:
    """For each query q: −log( (1/|refs|) Σ_r exp(−D(q, r)) ), streamed over tiles; returns a vector."""
    _check(queries, refs)
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
    tile: int = 256,
) -> float:
    """Eq. 3.4: mean over test embeddings of −log mean_g exp(−D(t, g))."""
    return float(mean_neg_log_mean_exp(test, generated, distance=distance, sigma=sigma, tile=tile).mean())


def ddm_relative(
    train: torch.Tensor,
    test: torch.Tensor,
    generated: torch.Tensor,
    *,
    distance: str = "euclidean",
    sigma: float = 1.0,
    tile: int = 256,
) -> float:
    """Eq. 3.5: mean over train embeddings r of log[mean_t e^{−D(r,t)} / mean_g e^{−D(r,g)}]."""
    kw = {"distance": distance, "sigma": sigma, "tile": tile}
    return float((mean_neg_log_mean_exp(train, generated, **kw) - mean_neg_log_mean_exp(train, test, **kw)).mean())


def ddm_goldberger(
    test: torch.Tensor,
    generated: torch.Tensor,
    *,
    distance: str = "euclidean",
    sigma: float = 1.0,
    tile: int = 256,
) -> float:
    """Eq. 3.3 with f = T, g = G: eq. 3.4 minus the self term mean_t −log mean_t' e^{−D(t,t')}."""
    kw = {"distance": distance, "sigma": sigma, "tile": tile}
    return float((mean_neg_log_mean_exp(test, generated, **kw) - mean_neg_log_mean_exp(test, test, **kw)).mean())


def bandwidth_grid(validation: torch.Tensor, n: int = 16) -> list[float]:
    """σ candidates for the squared form: log-spaced over [0.01, 3] × the RMS spread of the validation set,
    so the grid follows the embedding's scale (logits of different classifiers differ by orders of magnitude)."""
    v = validation.detach().to(torch.float64)
    scale = float(v.var(0).mean().sqrt()) if len(v) > 1 else 1.0
    scale = scale if scale > 0 else 1.0
    return [scale * float(f) for f in torch.logspace(-2, math.log10(3.0), n, dtype=torch.float64)]


def choose_bandwidth(test: torch.Tensor, validation: torch.Tensor, sigmas=None) -> float:
    """σ maximising the mean log-likelihood of ``validation`` (held-out real embeddings) under the Gaussian
    kernel density of ``test``: the Parzen protocol (goodfeli/adversarial), applied to the real data.

    σ depends on the real data only, never on G: eq. 3.4 has no normaliser, so a σ chosen per generated set
    would reward whichever generator earned the widest kernel, and scores would not compare across generators.
    """
    grid = list(sigmas) if sigmas is not None else bandwidth_grid(validation)
    best = int(parzen_log_density(validation, test, grid).mean(0).argmax())
    return float(grid[best])


def ddm_squared(
    test: torch.Tensor, generated: torch.Tensor, validation: torch.Tensor, *, sigmas=None, tile: int = 256
) -> tuple[float, float]:
    """(eq. 3.4 with D = ‖t − g‖²/2σ², σ) with σ chosen on ``validation`` (``choose_bandwidth``)."""
    sigma = choose_bandwidth(test, validation, sigmas)
    return ddm(test, generated, distance="sqeuclidean", sigma=sigma, tile=tile), sigma
