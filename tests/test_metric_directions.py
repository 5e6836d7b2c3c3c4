"""Sanity of directions: for every metric with a registered direction, a mode-collapsed generator scores worse
than a fresh real sample, by the registry's own reading of "better"; precision and recall move the way their
definitions say (a collapsed generator keeps precision and loses recall; an off-manifold one loses precision)."""

from __future__ import annotations

import torch

from trainables.evaluate import metric_direction
from trainables.metrics import (
    authpct,
    ddm,
    ddm_goldberger,
    fd_inf,
    fid,
    inception_score,
    kid,
    nn_share,
    precision_recall,
)

D, MODES = 16, 8
CENTRES = torch.randn(MODES, D, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 6


def _draw(n: int, seed: int, modes=range(MODES)) -> tuple[torch.Tensor, torch.Tensor]:
    """Features of a Gaussian mixture and class logits that name each sample's mode."""
    g = torch.Generator().manual_seed(seed)
    modes = torch.tensor(list(modes))
    which = modes[torch.randint(0, len(modes), (n,), generator=g)]
    feats = CENTRES[which] + torch.randn(n, D, generator=g, dtype=torch.float64)
    logits = torch.nn.functional.one_hot(which, MODES).double() * 8 + 0.1 * torch.randn(n, MODES, generator=g)
    return feats, logits


TRAIN, TRAIN_LOGITS = _draw(600, 1)
REAL, REAL_LOGITS = _draw(600, 2)
FRESH, FRESH_LOGITS = _draw(400, 3)
COLLAPSED, COLLAPSED_LOGITS = _draw(400, 4, modes=[0])  # realistic samples of one mode only


def _scores(feats: torch.Tensor, logits: torch.Tensor) -> dict[str, float]:
    return {
        "fid": fid(REAL, feats),
        "kid": kid(REAL, feats, subsets=10, subset_size=200)[0],
        "fd_inf": fd_inf(REAL, feats),
        "inception_score": inception_score(logits)[0],
        "ddm": ddm(REAL_LOGITS, logits),
        "ddm_goldberger": ddm_goldberger(REAL_LOGITS, logits),
        **precision_recall(REAL, feats),
        "nn_share": nn_share(TRAIN, feats),
        "authpct": authpct(TRAIN, feats),
    }


def _better(key: str, a: float, b: float) -> bool:
    return a > b if metric_direction(key) == "max" else a < b


def test_a_fresh_real_sample_beats_a_mode_collapsed_generator_on_every_distribution_metric():
    fresh, collapsed = _scores(FRESH, FRESH_LOGITS), _scores(COLLAPSED, COLLAPSED_LOGITS)
    for key in ("fid", "kid", "fd_inf", "inception_score", "ddm", "ddm_goldberger", "recall", "coverage"):
        assert metric_direction(key) in ("max", "min"), key
        assert _better(key, fresh[key], collapsed[key]), (key, fresh[key], collapsed[key])
    # Precision scores fidelity, not diversity: collapse onto a real mode keeps it high.
    assert collapsed["precision"] > 0.7 and fresh["precision"] > 0.7


def test_precision_falls_for_off_manifold_samples_and_recall_for_collapse():
    off = FRESH + 4.0 * torch.randn(FRESH.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    fresh, collapsed, noisy = (
        precision_recall(REAL, FRESH),
        precision_recall(REAL, COLLAPSED),
        precision_recall(REAL, off),
    )
    assert noisy["precision"] < fresh["precision"] - 0.5  # generated outside the real manifold: precision drops
    assert collapsed["recall"] < fresh["recall"] - 0.5  # one mode of eight: most real samples are not covered
    assert collapsed["precision"] > noisy["precision"] and noisy["recall"] > collapsed["recall"]  # not swapped
    assert metric_direction("precision") == metric_direction("recall") == "max"


def test_memorisation_metrics_rank_copies_below_fresh_samples_by_their_registered_direction():
    copies = TRAIN[:400]
    for key, fn in (("nn_share", nn_share), ("authpct", authpct)):
        assert _better(key, fn(TRAIN, FRESH), fn(TRAIN, copies)), key
    assert metric_direction("c_t") is None  # ≈ 0 is ideal: neither larger nor smaller is better
