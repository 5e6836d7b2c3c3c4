"""WGAN-GP-RF (paper 003): trained "with their original hyper-parameters", i.e. WGAN-GP's."""

from search_spaces.wgan_gp import defaults, space

__all__ = ["defaults", "space"]
