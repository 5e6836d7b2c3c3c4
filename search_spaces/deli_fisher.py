"""Deli-Fisher GAN (paper 000): Fisher's knobs plus the mixture latent's β, C, N and η′."""

from search_spaces.common import FISHER_DEFAULTS, fisher_space, mixture_space


def space() -> dict:
    return {**fisher_space(), **mixture_space()}


def defaults() -> dict:
    return {
        **FISHER_DEFAULTS,
        "beta": 1e-2,  # not given in paper 000; small, so σ is nudged rather than pinned
        "C": 1.0,  # DeLiGAN's σ regulariser pulls σ towards 1
        "n_components": 10,  # one component per class of the embedded datasets
        "lr_latent": 5e-5,  # paper 000 Table 2 caption
    }
