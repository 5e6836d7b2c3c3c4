"""Cached real references: computed once and shared by every evaluator (trial), the same scores as uncached, and a
new key (never a stale hit) when the dataset, the weights or the resizer change."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from trainables.data import load_dataset
from trainables.evaluate import Evaluator
from trainables.features.base import Embeddings, FeatureExtractor
from trainables.references import load_reference, reference_key

METRICS = ["fid", "fd_inf", "nn_share", "authpct"]


class Projection(FeatureExtractor):
    """A fixed random projection of the pixels, counting the samples it embeds."""

    path = "projection"

    def __init__(self, seed: int = 0):
        self.seed, self.weights_sha256, self.embedded = seed, f"seed{seed}", 0

    def embed(self, x: torch.Tensor) -> Embeddings:
        self.embedded += len(x)
        x = x.flatten(1).double()
        w = torch.randn(x.shape[1], 16, generator=torch.Generator().manual_seed(self.seed), dtype=torch.float64)
        f = x @ w
        return Embeddings(f[:, :10], f)


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_TUNER_CACHE", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _generated(data, n=100):
    return data.test_x[:n] + 0.3 * torch.randn(data.test_x[:n].shape, generator=torch.Generator().manual_seed(1))


def test_references_are_embedded_once_for_all_trials_with_the_same_scores(cache, digits):
    gen = _generated(digits)
    uncached = Evaluator(digits, Projection(), METRICS, cache_references=False)(gen)
    first, second = Projection(), Projection()
    a = Evaluator(digits, first, METRICS)(gen)
    b = Evaluator(digits, second, METRICS)(gen)
    assert a == b == uncached
    assert first.embedded == len(gen) + len(digits.test_x) + len(digits.train_x)
    assert second.embedded == len(gen)  # the second trial embeds its own samples only
    entries = list((cache / "references").glob("*.pt"))
    assert len(entries) == 2  # test and train split
    stored = [set(torch.load(p, weights_only=True)) for p in entries]
    assert {"mu", "sigma", "sigma_sqrt"} in [s & {"mu", "sigma", "sigma_sqrt"} for s in stored]
    assert any("nearest_other" in s for s in stored)  # the memorisation metrics' train-side distances


def test_a_changed_dataset_weights_or_resizer_is_a_new_key_never_a_stale_hit(cache, digits):
    x = digits.test_x
    ex = Projection()
    key = reference_key("test", x, ex.identity(), "digits")
    changed = x.clone()
    changed[7, 0, 3, 3] += 0.01  # one pixel of one image
    assert reference_key("test", changed, ex.identity(), "digits") != key
    assert reference_key("test", x, Projection(seed=1).identity(), "digits") != key
    assert reference_key("test", x, {**ex.identity(), "resizer": "clean"}, "digits") != key
    assert reference_key("train", x, ex.identity(), "digits") != key
    old = load_reference("test", x, ex, "digits")
    new = load_reference("test", changed, ex, "digits")
    assert ex.embedded == 2 * len(x)  # the changed set was embedded, not served from the old entry
    assert not torch.equal(old.embeddings.features, new.embeddings.features)
    assert torch.equal(new.embeddings.features, ex.embed(changed).features)


def test_feature_identity_is_recorded_by_the_evaluator(cache, digits):
    ev = Evaluator(digits, Projection(), ["fid"])
    assert ev.feature_identity == {"feature_path": ev.feature_path, "feature_weights_sha256": "seed0",
                                   "resizer": "none"}  # fmt: skip
    assert dataclasses.is_dataclass(load_reference("test", digits.test_x[:20], Projection(), "digits"))
