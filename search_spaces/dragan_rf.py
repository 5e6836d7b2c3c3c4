"""DRAGAN-RF (paper 003): DRAGAN's knobs and defaults."""

from search_spaces.dragan import defaults, space

__all__ = ["defaults", "space"]
