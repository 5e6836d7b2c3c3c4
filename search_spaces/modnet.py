"""ModNet (paper 004 §2.5): Adam's lr and β₁, the weights of the classification (eq. 2.5) and modification
(eq. 2.6) losses, how x + δ is bounded, which network classifies, and whether it also learns from generated images.

The thesis publishes no hyperparameter values; the defaults are pix2pix's optimiser (Isola et al. 2017, ModNet's
starting point: Adam 2e-4, β₁ 0.5), eq. 2.7's unit weight on L_label and (no λ being published) on the L1 penalty,
clipping, the AC-GAN variant, and a classifier that learns from real labels only (``classify_fakes`` false: with
eq. 2.5's fake term it learns to read the generator's pattern and target accuracy stays near 0; README, ModNet).
"""

from ray import tune

from search_spaces.common import adam_beta1, learning_rate


def space() -> dict:
    return {
        "lr": learning_rate(1e-5, 1e-2),
        "beta1": adam_beta1(),
        "cls_weight": tune.loguniform(0.1, 10.0),
        "l1_weight": tune.choice([0.0, 0.1, 1.0, 10.0]),  # 0: the penalty off, as the thesis allows
        "output_mode": tune.choice(["clip", "renormalise"]),
        "variant": tune.choice(["critic", "classifier", "frozen"]),
        "classify_fakes": tune.choice([True, False]),
    }


def defaults() -> dict:
    return {
        "lr": 2e-4,
        "beta1": 0.5,
        "cls_weight": 1.0,
        "l1_weight": 1.0,
        "output_mode": "clip",
        "variant": "critic",
        "classify_fakes": False,
    }
