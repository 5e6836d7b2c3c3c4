"""SAN (Takida et al. 2024; paper 002 §3): the same knobs as its hinge-GAN baseline."""

from search_spaces.wgan_hinge import defaults, space

__all__ = ["defaults", "space"]
