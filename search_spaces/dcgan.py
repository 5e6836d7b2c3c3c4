"""DCGAN (Radford et al. 2016, paper 001 §3): Adam's lr, β₁ and the critic steps."""

from search_spaces.common import adam_defaults, adam_space


def space() -> dict:
    return adam_space()


def defaults() -> dict:
    return adam_defaults(lr=2e-4, beta1=0.5, n_critic=1)  # the paper's Adam(0.0002, β₁ 0.5), 1:1 updates
