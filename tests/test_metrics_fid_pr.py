"""FID, KID, precision/recall, density/coverage: closed forms, invariants, library cross-checks, tiling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.metric_prc import calculate_precision_recall_full

from trainables.metrics import fid, frechet_distance, gaussian_stats, kid, precision_recall


def _randn(*shape, seed=0, shift=0.0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) + shift


def test_fid_of_a_set_with_itself_is_zero_even_when_rank_deficient():
    for n, d in [(500, 16), (50, 128)]:  # second: covariance of rank 49 in 128 dimensions
        x = _randn(n, d)
        value = fid(x, x)
        assert isinstance(value, float) and math.isfinite(value) and value == pytest.approx(0.0, abs=1e-8)


def test_fid_closed_form_for_two_diagonal_gaussians():
    # Commuting covariances: FID = ‖μ₁ − μ₂‖² + Σ (√a − √b)².
    mu1, mu2 = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, -1.0])
    a, b = torch.tensor([1.0, 4.0, 0.25]), torch.tensor([9.0, 1.0, 0.25])
    expected = float(((mu1 - mu2) ** 2).sum() + ((a.sqrt() - b.sqrt()) ** 2).sum())  # 10 + 4 + 1 + 0
    assert expected == 15.0
    assert frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b)) == pytest.approx(expected, abs=1e-12)


def test_fid_general_covariances_match_the_sqrtm_formula():
    g = torch.Generator().manual_seed(1)
    m1, m2 = torch.randn(6, 6, generator=g, dtype=torch.float64), torch.randn(6, 6, generator=g, dtype=torch.float64)
    s1, s2 = m1 @ m1.T + 0.1 * torch.eye(6, dtype=torch.float64), m2 @ m2.T
    mu1, mu2 = torch.randn(6, generator=g, dtype=torch.float64), torch.zeros(6, dtype=torch.float64)
    covmean = scipy.linalg.sqrtm(s1.numpy() @ s2.numpy()).real
    expected = float(((mu1 - mu2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * np.trace(covmean))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_fid_agrees_with_torch_fidelity_on_the_same_features():
    real, gen = _randn(400, 32, seed=2), _randn(300, 32, seed=3, shift=0.3) * 1.2
    ref = fid_statistics_to_metric(fid_features_to_statistics(gen), fid_features_to_statistics(real), verbose=False)
    assert fid(real, gen) == pytest.approx(ref["frechet_inception_distance"], rel=1e-8)
    mu, sigma = gaussian_stats(real)
    assert np.allclose(sigma.numpy(), np.cov(real.numpy(), rowvar=False), atol=1e-12)


def test_kid_agrees_with_torch_fidelity_and_is_unbiased_near_zero():
    real, gen = _randn(300, 16, seed=4), _randn(250, 16, seed=5, shift=0.5)
    ours = kid(real, gen, subsets=20, subset_size=100)
    ref = kid_features_to_metric(gen, real, kid_subsets=20, kid_subset_size=100, rng_seed=2020, verbose=False)
    assert ours[0] == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-9)
    assert ours[1] == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-9)
    # Same distribution: the unbiased estimate is centred on 0; a shifted one is clearly positive.
    same = kid(real, _randn(300, 16, seed=6), subsets=20, subset_size=100)
    assert abs(same[0]) < 3 * same[1] + 1e-3 and ours[0] > 10 * abs(same[0])


def test_kid_with_whole_sets_as_subsets_is_one_value():
    real, gen = _randn(120, 8, seed=7), _randn(120, 8, seed=8, shift=0.2)
    ref = kid_features_to_metric(gen, real, kid_subsets=5, kid_subset_size=120, rng_seed=2020, verbose=False)
    mean, std = kid(real, gen)  # subset size capped at 120: every subset is both whole sets
    assert mean == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-9) and std == 0.0


def test_identical_sets_have_perfect_precision_recall_and_coverage():
    x = _randn(300, 8, seed=9)
    r = precision_recall(x, x, tile=64)
    assert r["precision"] == r["recall"] == r["coverage"] == 1.0
    assert r["density"] >= 1.0  # every sample sits in its own ball plus, on average, k others' at most


def test_disjoint_sets_have_zero_everything():
    r = precision_recall(_randn(100, 4, seed=10), _randn(100, 4, seed=11, shift=100.0))
    assert r == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_precision_recall_equal_torch_fidelity():
    real, gen = _randn(257, 12, seed=12), _randn(190, 12, seed=13, shift=0.4) * 0.8
    ours = precision_recall(real, gen, k=3, tile=50)  # tiles that do not divide the sizes
    precision, recall = calculate_precision_recall_full(gen, real, neighborhood=3)
    # torch-fidelity averages the hits in float32: the same counts, to float32 resolution.
    assert round(ours["precision"] * len(gen)) == round(precision * len(gen)) and 0 < precision < 1
    assert round(ours["recall"] * len(real)) == round(recall * len(real)) and 0 < recall < 1


def test_density_coverage_equal_prdc():
    prdc = pytest.importorskip("prdc")  # installed with the test extras: fails loudly in CI if missing
    real, gen = _randn(240, 6, seed=14), _randn(200, 6, seed=15, shift=0.3)
    ref = prdc.compute_prdc(real.numpy(), gen.numpy(), nearest_k=5)  # continuous data: no distance ties
    ours = precision_recall(real, gen, k=5, tile=64)
    for key in ("precision", "recall", "density", "coverage"):
        assert ours[key] == pytest.approx(float(ref[key]), abs=1e-12), key


def test_no_distance_matrix_beyond_a_tile(monkeypatch):
    shapes = []
    cdist = torch.cdist

    def recording_cdist(a, b, *args, **kw):
        shapes.append((a.shape[0], b.shape[0]))
        return cdist(a, b, *args, **kw)

    monkeypatch.setattr(torch, "cdist", recording_cdist)
    precision_recall(_randn(500, 4, seed=16), _randn(400, 4, seed=17), tile=64)
    assert shapes and max(max(s) for s in shapes) <= 64
