"""LSGAN (Mao et al. 2017): Adam's lr, β₁ and the critic steps."""

from search_spaces.common import adam_defaults, adam_space


def space() -> dict:
    return adam_space()


def defaults() -> dict:
    return adam_defaults(lr=2e-4, beta1=0.5, n_critic=1)  # Mao et al. / the RFGAN reference code
