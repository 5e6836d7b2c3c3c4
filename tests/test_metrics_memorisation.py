"""FD∞ and the memorisation metrics (nn_share, AuthPct, C_T): constructed generators with known answers.

A generator that returns training images must score as memorising; one that returns held-out real images (fresh
draws of the same distribution) must not.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trainables.metrics.authpct import authpct
from trainables.metrics.c_t import c_t
from trainables.metrics.fd_inf import fd_counts, fd_inf
from trainables.metrics.fid import frechet_distance, gaussian_stats
from trainables.metrics.nearest import nearest, nearest_other
from trainables.metrics.nn_share import nn_share


def _mixture(n: int, d: int = 24, seed: int = 0) -> torch.Tensor:
    """A 6-component Gaussian mixture in d dimensions, the same components for every seed."""
    centres = torch.randn(6, d, generator=torch.Generator().manual_seed(99), dtype=torch.float64) * 4
    g = torch.Generator().manual_seed(seed)
    which = torch.randint(0, 6, (n,), generator=g)
    return centres[which] + torch.randn(n, d, generator=g, dtype=torch.float64)


TRAIN, TEST, HELD_OUT = _mixture(400, seed=1), _mixture(200, seed=2), _mixture(200, seed=3)


def test_nearest_matches_a_dense_distance_matrix_across_tiles():
    q, r = _mixture(70, seed=5), _mixture(90, seed=6)
    d, i = nearest(q, r, tile=16)
    dense = torch.cdist(q, r)
    assert torch.equal(i, dense.argmin(1)) and torch.allclose(d, dense.min(1).values)
    own = torch.cdist(r, r).fill_diagonal_(math.inf).min(1).values
    assert torch.allclose(nearest_other(r, tile=16), own)


def test_copies_of_training_images_score_as_memorised():
    copies = TRAIN[torch.randperm(400, generator=torch.Generator().manual_seed(0))[:200]]
    assert nn_share(TRAIN, copies) == 1.0
    assert authpct(TRAIN, copies) == 0.0
    assert c_t(TRAIN, TEST, copies) < -10  # every generated sample at distance 0: far below the held-out spread
    # Near-copies (noise much smaller than the training set's nearest-pair distances) are still copies.
    near = copies + 0.01 * torch.randn(copies.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert nn_share(TRAIN, near) == 1.0 and authpct(TRAIN, near) == 0.0


def test_held_out_real_images_do_not_score_as_memorised():
    share, auth = nn_share(TRAIN, HELD_OUT), authpct(TRAIN, HELD_OUT)
    assert share < 0.6 and auth > 40.0
    assert share + auth / 100 == pytest.approx(1.0)  # complements: no exact ties between continuous draws
    assert abs(c_t(TRAIN, TEST, HELD_OUT)) < 3.0  # Z-scored: a fresh sample is a draw from H0


def test_cached_train_distances_give_the_same_scores():
    cached = nearest_other(TRAIN)
    assert nn_share(TRAIN, HELD_OUT, cached) == nn_share(TRAIN, HELD_OUT)
    assert authpct(TRAIN, HELD_OUT, cached) == authpct(TRAIN, HELD_OUT)


def test_c_t_reduces_wide_features_to_64_components_and_is_seeded():
    wide = torch.cat([TRAIN, TRAIN[:, :1].repeat(1, 50)], 1)  # 74 > 64 dims
    w_test, w_gen = (torch.cat([x, x[:, :1].repeat(1, 50)], 1) for x in (TEST, HELD_OUT))
    value = c_t(wide, w_test, w_gen)
    assert value == c_t(wide, w_test, w_gen) and abs(value) < 3.0


def test_c_t_of_a_collapse_into_too_small_a_share_of_cells_is_nan():
    assert math.isnan(c_t(TRAIN, TEST, HELD_OUT[:15]))  # 15 samples: no cell holds more than τ = 20/15 of them


def test_fd_inf_removes_fid_s_small_sample_bias():
    # Generated and real from the same N(0, I): the true distance is 0, FID on 2,000 samples in 32 dimensions is
    # biased upwards by ~0.15 (its bias is linear in 1/N), and FD∞ extrapolates that bias away.
    g = torch.Generator().manual_seed(0)
    real = gaussian_stats(torch.randn(50000, 32, generator=g, dtype=torch.float64))
    gen = torch.randn(2000, 32, generator=g, dtype=torch.float64)
    biased = frechet_distance(*real, *gaussian_stats(gen))
    assert biased > 0.1 and abs(fd_inf(real, gen)) < 0.03
    assert fd_inf(real, gen) == fd_inf(real, gen)  # seeded subsets


def test_fd_inf_uses_dgm_eval_s_grid_of_counts():
    assert list(fd_counts(50000)[[0, -1]]) == [5000, 50000] and len(fd_counts(50000)) == 15
    assert list(fd_counts(1000)[[0, -1]]) == [100, 1000]
    assert np.all(np.diff(fd_counts(1000)) > 0)
