"""Improved GAN, feature matching (Salimans et al. 2016): Adam's knobs."""

from search_spaces.common import adam_defaults, adam_space


def space() -> dict:
    return adam_space()


def defaults() -> dict:
    return adam_defaults(lr=3e-4, beta1=0.5, n_critic=1)  # openai/improved-gan: Adam(0.0003, β₁ 0.5)
