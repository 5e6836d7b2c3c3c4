"""MS-SSIM diversity, ring coverage, Parzen window, and the Evaluator's per-metric counts and schedules."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pytorch_msssim
import torch
from sklearn.neighbors import KernelDensity

from trainables.data import load_dataset, ring_modes
from trainables.evaluate import Evaluator, check_metrics, metric_modes, resolve_metrics
from trainables.features import RawFeatures
from trainables.metrics import ms_ssim_diversity, parzen_log_likelihood, ring_coverage
from trainables.metrics.ms_ssim import ms_ssim_pairs
from trainables.metrics.parzen import parzen_log_density


def _images(n, c, size, seed=0):
    return torch.rand(n, c, size, size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2 - 1


@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3), (64, 3)])
def test_ms_ssim_works_at_small_sizes(size, channels):
    x = _images(8, channels, size)
    assert torch.allclose(ms_ssim_pairs(x, x), torch.ones(8, dtype=torch.float64), atol=1e-9)
    assert ms_ssim_diversity(x[:1].repeat(8, 1, 1, 1)) == pytest.approx(1.0, abs=1e-9)  # mode collapse
    assert ms_ssim_diversity(x) < 0.2  # independent noise: nearly nothing in common


def test_ms_ssim_rejects_images_too_small_for_its_scales():
    with pytest.raises(ValueError, match="at least 28 px"):
        ms_ssim_pairs(_images(2, 1, 16), _images(2, 1, 16, seed=1))


def test_ms_ssim_agrees_with_pytorch_msssim():
    # pytorch-msssim needs side > 16 × (window − 1): at 64 px a 3-px window, which both libraries accept.
    a = (_images(6, 3, 64) + 1) / 2
    b = (a + 0.3 * torch.rand(a.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)).clamp(0, 1)
    ours = ms_ssim_pairs(a * 2 - 1, b * 2 - 1, sigma=0.3)  # torchmetrics derives a 3-px window from σ = 0.3
    weights = [0.0448, 0.2856, 0.3001]
    ref = pytorch_msssim.ms_ssim(a, b, data_range=1.0, size_average=False, win_size=3, win_sigma=0.3,
                                 weights=[w / sum(weights) for w in weights])  # fmt: skip
    assert torch.allclose(ours, ref, atol=2e-3), (ours, ref)  # border handling differs by < 1e-3


def test_ring_coverage_hand_built():
    centers, std = ring_modes("ring8")
    # 6 modes with 30 samples each at 0.5σ from the centre, 1 mode with 2 samples, 20 far-away points.
    offset = torch.tensor([0.5 * std, 0.0], dtype=torch.float64)
    pts = [centers[i] + offset for i in range(6) for _ in range(30)] + [centers[6] + offset] * 2
    pts += [torch.tensor([0.0, 0.0], dtype=torch.float64)] * 20  # the ring's centre: 2 away from every mode
    r = ring_coverage(torch.stack(pts), centers, std)
    assert r["high_quality_fraction"] == pytest.approx(182 / 202, abs=1e-12)
    assert r["modes_covered"] == 6  # the mode with 2 samples is below 20 % of its even share (202 / 8)
    assert ring_coverage(torch.stack(pts), centers, std, min_count=1)["modes_covered"] == 7


def test_ring_coverage_of_the_real_ring_matches_the_gaussian_3_sigma_mass():
    data = load_dataset("ring8")
    r = ring_coverage(data.test_x, *ring_modes("ring8"))
    assert r["modes_covered"] == 8
    # A 2-D isotropic Gaussian puts 1 − e^{−9/2} = 98.89 % of its mass within 3σ.
    assert r["high_quality_fraction"] == pytest.approx(1 - math.exp(-4.5), abs=0.006)


def test_parzen_density_matches_sklearn_kernel_density():
    g = torch.Generator().manual_seed(2)
    centers, queries = torch.randn(150, 3, generator=g, dtype=torch.float64), torch.randn(40, 3, generator=g) * 1.5
    ours = parzen_log_density(queries, centers, [0.3, 0.8], tile=32)
    for j, s in enumerate([0.3, 0.8]):
        ref = KernelDensity(bandwidth=s, kernel="gaussian").fit(centers.numpy()).score_samples(queries.double().numpy())
        assert np.allclose(ours[:, j].numpy(), ref, atol=1e-9)
    # One centre at the origin: log N(x; 0, σ²I) by hand.
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    hand = -5.0 / (2 * 0.5**2) - 2 * math.log(0.5 * math.sqrt(2 * math.pi))
    assert float(parzen_log_density(x, torch.zeros(1, 2), [0.5])[0, 0]) == pytest.approx(hand, abs=1e-12)


def test_parzen_bandwidth_is_chosen_on_validation_and_scored_on_test():
    g = torch.Generator().manual_seed(3)
    gen, test, valid = (torch.randn(n, 2, generator=g, dtype=torch.float64) * 0.5 for n in (300, 200, 200))
    sigmas = [0.01, 0.05, 0.2, 1.0, 5.0]
    ll, sigma = parzen_log_likelihood(gen, test, valid, sigmas=sigmas)
    by_sigma = parzen_log_density(valid, gen, sigmas).mean(0)
    assert sigma == sigmas[int(by_sigma.argmax())] and sigma in (0.05, 0.2, 1.0)
    assert ll == pytest.approx(float(parzen_log_density(test, gen, [sigma]).mean()), abs=1e-12)


def test_metric_names_resolve_and_modes_cover_every_optimisable_key():
    assert resolve_metrics("precision,recall,fid,modes_covered") == ["precision_recall", "fid", "ring"]
    modes = metric_modes()
    image_min = {
        "fid",
        "kid",
        "ddm",
        "ddm_relative",
        "ddm_goldberger",
        "ddm_sq",
        "ms_ssim",
        "intra_fid",
        "fd_inf",
        "nn_share",
    }
    translate_min = {"cycle_l1", *(f"{k}_ba" for k in {*image_min, "cycle_l1"})}  # B→A twins of the translate task
    assert {k for k, m in modes.items() if m == "min"} == image_min | translate_min
    assert {"inception_score", "precision", "recall", "density", "coverage", "modes_covered",
            "high_quality_fraction", "parzen_ll"} <= {k for k, m in modes.items() if m == "max"}  # fmt: skip
    with pytest.raises(ValueError, match="needs images"):
        check_metrics("ms_ssim", "ring8")
    with pytest.raises(ValueError, match="Gaussian-ring"):
        check_metrics("ring", "mnist5k")


def test_evaluator_sample_counts_schedules_and_worst_values():
    data = load_dataset("ring8")
    ev = Evaluator(data, RawFeatures(), ["ring", "ddm", "precision_recall"], samples={"ring": 400, "precision": 100},
                   every={"precision_recall": 3})  # fmt: skip
    assert ev.feature_path == "raw"
    assert ev.due(1) == ["ring", "ddm"] and ev.due(3) == ["ring", "ddm", "precision_recall"]
    assert ev.due(4, final=True) == ["ring", "ddm", "precision_recall"]
    assert ev.samples_needed(1, available=250) == 400
    samples = data.test_x[torch.randperm(len(data.test_x), generator=torch.Generator().manual_seed(0))][:500]
    out = ev(samples, epoch=3)
    assert set(out) == {"modes_covered", "high_quality_fraction", "ddm", "precision", "recall", "density", "coverage"}
    # Each metric saw only its own count: ring its 400 samples, precision/recall its 100.
    assert out["high_quality_fraction"] == ring_coverage(samples[:400], *ring_modes("ring8"))["high_quality_fraction"]
    assert "precision" not in ev(samples, epoch=2)
    assert ev.worst() == {"modes_covered": 0.0, "high_quality_fraction": 0.0, "ddm": math.inf, "precision": 0.0,
                          "recall": 0.0, "density": 0.0, "coverage": 0.0}  # fmt: skip
