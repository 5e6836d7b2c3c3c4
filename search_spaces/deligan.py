"""DeLiGAN (Gurumurthy et al. 2017): Adam's knobs plus the mixture latent's β, C, N and η′."""

from search_spaces.common import adam_defaults, adam_space, mixture_space


def space() -> dict:
    return {**adam_space(), **mixture_space()}


def defaults() -> dict:
    # val-iisc/deligan MNIST code: Adam(5e-4, β₁ 0.5) for G, D and the mixture alike, 50 components,
    # σ regulariser mean((σ − 1)²)/3.
    return {
        **adam_defaults(lr=5e-4, beta1=0.5, n_critic=1),
        "beta": 1 / 3,
        "C": 1.0,
        "n_components": 50,
        "lr_latent": 5e-4,
    }
