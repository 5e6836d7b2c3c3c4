"""LSGAN-RF (paper 003): LSGAN's knobs and defaults."""

from search_spaces.lsgan import defaults, space

__all__ = ["defaults", "space"]
