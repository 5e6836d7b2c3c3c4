"""Original GAN (paper 002 §1): Adam's knobs plus the choice of generator loss."""

from ray import tune

from search_spaces.common import adam_defaults, adam_space


def space() -> dict:
    return {**adam_space(), "non_saturating": tune.choice([True, False])}


def defaults() -> dict:
    # Goodfellow et al. recommend the non-saturating G loss in practice; Adam(2e-4, 0.5) as DCGAN.
    return {**adam_defaults(lr=2e-4, beta1=0.5), "non_saturating": True}
