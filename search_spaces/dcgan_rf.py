"""DCGAN-RF (paper 003): DCGAN's knobs and defaults."""

from search_spaces.dcgan import defaults, space

__all__ = ["defaults", "space"]
