"""Inception Score and DDM: invariants, hand-computed values, torch-fidelity cross-check, streaming = dense."""

from __future__ import annotations

import math

import pytest
import torch
from torch_fidelity.metric_isc import isc_features_to_metric

from trainables.metrics import ddm, ddm_goldberger, ddm_relative, inception_score
from trainables.metrics.ddm import mean_neg_log_mean_exp


def test_uniform_predictions_score_one():
    mean, std = inception_score(torch.zeros(100, 10))
    assert mean == pytest.approx(1.0, abs=1e-12) and std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k", [2, 5, 10])
def test_k_balanced_one_hot_classes_score_k(k):
    # Every split holds each of the k classes equally often: p(y) uniform over k, p(y|x) one-hot → IS = k.
    labels = torch.arange(10 * k * 3) % k
    probs = torch.nn.functional.one_hot(labels, 10).double()
    mean, std = inception_score(probs=probs, shuffle=False)
    assert mean == pytest.approx(k, rel=1e-12) and std == pytest.approx(0.0, abs=1e-9)
    # Confident logits give the same score up to the softmax's leftover mass.
    assert inception_score(logits=60.0 * probs, shuffle=False)[0] == pytest.approx(k, rel=1e-9)


def test_agrees_with_torch_fidelity_on_the_same_logits():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(1000, 1008, generator=g) * 3
    ours = inception_score(logits, splits=10)
    ref = isc_features_to_metric(logits, splits=10, shuffle=True, rng_seed=2020)
    assert ours[0] == pytest.approx(ref["inception_score_mean"], rel=1e-3)
    assert ours[1] == pytest.approx(ref["inception_score_std"], rel=1e-3)
    assert ours[0] == pytest.approx(ref["inception_score_mean"], rel=1e-9)  # same float64 maths: far tighter


def test_probabilities_and_logits_give_the_same_score():
    logits = torch.randn(200, 10, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    a, b = inception_score(logits), inception_score(probs=logits.softmax(1))
    assert a == pytest.approx(b, rel=1e-9)


def test_fewer_samples_than_splits_is_a_clear_error():
    with pytest.raises(ValueError, match="at least as many samples as splits"):
        inception_score(torch.randn(9, 10), splits=10)


def _dense_nlme(q, r, distance="euclidean", sigma=1.0):
    d = torch.cdist(q.double(), r.double(), compute_mode="donot_use_mm_for_euclid_dist")
    d = d if distance == "euclidean" else d**2 / (2 * sigma**2)
    return math.log(len(r)) - torch.logsumexp(-d, dim=1)


@pytest.mark.parametrize("distance,sigma", [("euclidean", 1.0), ("sqeuclidean", 0.7)])
def test_streaming_equals_dense_to_1e_9(distance, sigma):
    g = torch.Generator().manual_seed(2)
    t, gen = torch.randn(203, 10, generator=g) * 2, torch.randn(517, 10, generator=g) * 2 + 1
    r = torch.randn(301, 10, generator=g) * 2
    kw = {"distance": distance, "sigma": sigma, "tile": 37}  # tiles that do not divide the sizes
    assert ddm(t, gen, **kw) == pytest.approx(float(_dense_nlme(t, gen, distance, sigma).mean()), abs=1e-9)
    dense_rel = (_dense_nlme(r, gen, distance, sigma) - _dense_nlme(r, t, distance, sigma)).mean()
    assert ddm_relative(r, t, gen, **kw) == pytest.approx(float(dense_rel), abs=1e-9)
    dense_gold = (_dense_nlme(t, gen, distance, sigma) - _dense_nlme(t, t, distance, sigma)).mean()
    assert ddm_goldberger(t, gen, **kw) == pytest.approx(float(dense_gold), abs=1e-9)
    assert torch.allclose(mean_neg_log_mean_exp(t, gen, **kw), _dense_nlme(t, gen, distance, sigma), atol=1e-9)


def test_hand_computed_values():
    t, g = torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, 0.0], [3.0, 4.0]])  # distances 0 and 5
    assert ddm(t, g) == pytest.approx(-math.log((1 + math.exp(-5)) / 2), abs=1e-12)
    assert ddm(t, g, distance="sqeuclidean", sigma=5.0) == pytest.approx(-math.log((1 + math.exp(-0.5)) / 2), abs=1e-12)
    # Goldberger: self term of a single point is −log e^0 = 0, so it equals eq. 3.4 here.
    assert ddm_goldberger(t, g) == pytest.approx(ddm(t, g), abs=1e-12)
    # Relative (eq. 3.5) with R = T: log[mean_t e^{-D(r,t)} / mean_g e^{-D(r,g)}] = 0 − log((1 + e^-5)/2).
    assert ddm_relative(t, t, g) == pytest.approx(-math.log((1 + math.exp(-5)) / 2), abs=1e-12)


def test_goldberger_of_a_set_against_itself_is_zero_and_thesis_form_is_not():
    g = torch.Generator().manual_seed(3)
    t = torch.randn(400, 10, generator=g)
    assert ddm_goldberger(t, t) == pytest.approx(0.0, abs=1e-12)
    assert ddm_relative(t, t, t) == pytest.approx(0.0, abs=1e-12)
    assert ddm(t, t) > 1.0  # eq. 3.4 keeps the dropped constant: positive, never 0 for a perfect generator
    # A fresh sample of the same distribution scores near 0 (a small positive bias: the self term counts
    # each t's zero distance to itself), a shifted one far more; eq. 3.4 hides that behind its constant.
    same, shifted = torch.randn(400, 10, generator=g), torch.randn(400, 10, generator=g) + 1.5
    assert 0 < ddm_goldberger(t, same) < 0.1 * ddm_goldberger(t, shifted)
    assert ddm_goldberger(t, same) < 0.05 * ddm(t, same)


def test_ddm_is_never_negative_and_orders_generators():
    g = torch.Generator().manual_seed(4)
    t = torch.randn(300, 10, generator=g)
    values = [ddm(t, torch.randn(300, 10, generator=g) + shift) for shift in (0.0, 1.0, 3.0)]
    assert all(v >= 0 for v in values) and values == sorted(values)


def test_ddm_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown distance"):
        ddm(torch.zeros(3, 2), torch.zeros(3, 2), distance="cosine")
    with pytest.raises(ValueError, match="equal d"):
        ddm(torch.zeros(3, 2), torch.zeros(3, 4))
