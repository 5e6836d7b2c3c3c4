"""Deli-Fisher GAN (paper 000): Fisher's knobs plus the mixture latent's β, C, N and η′."""

from ray import tune

from search_spaces.common import FISHER_DEFAULTS, fisher_space


def space() -> dict:
    return {
        **fisher_space(),
        "beta": tune.loguniform(1e-4, 1.0),  # weight of β·mean((C − σ)²)
        "C": tune.uniform(0.1, 2.0),  # target scale of the component σ's
        "n_components": tune.randint(1, 51),  # N mixture components
        "lr_latent": tune.loguniform(1e-6, 1e-3),  # η′ for μ, σ
    }


def defaults() -> dict:
    return {
        **FISHER_DEFAULTS,
        "beta": 1e-2,  # not given in paper 000; small, so σ is nudged rather than pinned
        "C": 1.0,  # DeLiGAN's σ regulariser pulls σ towards 1
        "n_components": 10,  # one component per class of the embedded datasets
        "lr_latent": 5e-5,  # paper 000 Table 2 caption
    }
