"""Adversarial objectives: how the critic and generator losses are computed, plus any state. Each lives in its
own module; ``trainables.registry`` names the one a method uses. ``Objective`` is the base class to subclass."""

from trainables.objectives.base import Objective

__all__ = ["Objective"]
