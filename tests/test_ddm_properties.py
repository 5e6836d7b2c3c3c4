"""What DDM (paper 004 eq. 3.4) rewards, shown on logits-like embeddings of ten classes.

T, the validation split and a fresh sample are three independent draws of the same ten-class mixture;
"collapsed" outputs only the class centres. Eq. 3.4 is a cross-entropy of T under a kernel density of G
with a fixed bandwidth, so it prefers the collapsed generator to a fresh sample of T's own distribution,
and the distance (Euclidean vs ‖·‖²/2σ²) can reverse a ranking.
"""

from __future__ import annotations

import torch

from trainables.metrics.ddm import choose_bandwidth, ddm, ddm_squared

K, DIM, N, SPREAD = 10, 10, 1000, 1.5


def mixture():
    g = torch.Generator().manual_seed(0)
    centres = 6.0 * torch.randn(K, DIM, generator=g, dtype=torch.float64)
    labels = torch.arange(N) % K

    def draw() -> torch.Tensor:
        return centres[labels] + SPREAD * torch.randn(N, DIM, generator=g, dtype=torch.float64)

    return centres, labels, draw


def test_ddm_prefers_a_generator_collapsed_to_class_centres_over_a_fresh_sample_of_t():
    centres, labels, draw = mixture()
    test, validation, fresh = draw(), draw(), draw()
    collapsed = centres[labels]
    assert ddm(test, collapsed) < ddm(test, fresh) - 0.5  # the thesis' default: Euclidean D
    # The squared form with a validated bandwidth has the same blind spot: a Gaussian kernel on the centres
    # is T's own density, so no fixed-kernel cross-entropy can tell the collapse apart.
    assert ddm_squared(test, collapsed, validation)[0] < ddm_squared(test, fresh, validation)[0]


def test_euclidean_and_squared_distances_rank_two_generators_differently():
    centres, labels, draw = mixture()
    test, validation = draw(), draw()
    missing_mode = draw()
    missing_mode[labels == 0] = draw()[labels == 1]  # class 0 never generated, class 1 twice as often
    shifted = draw() + 1.5  # every class present, all a little off
    # Euclidean D grows linearly with distance: a lost mode costs little, a shift everywhere a lot.
    assert ddm(test, missing_mode) < ddm(test, shifted)
    # ‖·‖²/2σ² grows quadratically: the lost mode's far-away test points dominate.
    assert ddm_squared(test, shifted, validation)[0] < ddm_squared(test, missing_mode, validation)[0]


def test_squared_form_bandwidth_depends_on_real_data_only():
    centres, labels, draw = mixture()
    test, validation = draw(), draw()
    sigmas = [0.1 * SPREAD, SPREAD, 10 * SPREAD]
    # A kernel density of T explains held-out real data best at the true class spread.
    assert choose_bandwidth(test, validation, sigmas) == SPREAD
    # The same σ for every generated set, so scores compare across generators.
    assert ddm_squared(test, centres[labels], validation)[1] == ddm_squared(test, draw() + 3.0, validation)[1]


def test_ddm_sq_is_a_selectable_metric_scored_on_classifier_logits():
    from trainables.classifier import load_classifier
    from trainables.data import as_float, load_dataset
    from trainables.evaluate import Evaluator

    data = load_dataset("mnist5k")
    classifier, _ = load_classifier("mnist5k")
    evaluate = Evaluator(data, classifier, ("ddm_sq",))
    real = evaluate(as_float(data.train_x[:300]))
    noise = evaluate(torch.rand(300, *data.info.shape, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    assert real["ddm_sq_sigma"] == noise["ddm_sq_sigma"] > 0  # chosen on real data only
    assert real["ddm_sq"] < noise["ddm_sq"]
