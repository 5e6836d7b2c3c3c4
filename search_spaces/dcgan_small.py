"""dcgan_small: the DCGAN variant of paper 004 §3.3.2; same knobs and defaults as DCGAN."""

from search_spaces.dcgan import defaults, space

__all__ = ["defaults", "space"]
