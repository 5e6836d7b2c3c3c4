"""Unrolled GAN (Metz et al. 2017): separate G/D learning rates, β₁, unrolling steps K, G loss form."""

from ray import tune

from search_spaces.common import adam_beta1, learning_rate


def space() -> dict:
    return {
        "lr_g": learning_rate(),
        "lr_d": learning_rate(),
        "beta1": adam_beta1(),
        "unroll_steps": tune.randint(1, 11),  # K ∈ 1..10
        "non_saturating": tune.choice([False, True]),
    }


def defaults() -> dict:
    # poolio/unrolled_gan (Metz et al.'s mixture-of-Gaussians demo): D 1e-4, G 1e-3, β₁ 0.5, 5 steps,
    # G minimises the unrolled value function itself.
    return {"lr_g": 1e-3, "lr_d": 1e-4, "beta1": 0.5, "unroll_steps": 5, "non_saturating": False}
