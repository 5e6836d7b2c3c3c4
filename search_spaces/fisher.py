"""Fisher GAN with a standard Gaussian latent."""

from search_spaces.common import FISHER_DEFAULTS, fisher_space


def space() -> dict:
    return fisher_space()


def defaults() -> dict:
    return dict(FISHER_DEFAULTS)
