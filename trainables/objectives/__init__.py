"""Adversarial objectives: how the critic and generator losses are computed, plus any state. Each lives in its
own module; ``trainables.registry`` names the one a method uses. ``Objective`` is the base class to subclass, and
``Batch`` the one value both of its losses receive."""

from trainables.objectives.base import Batch, Objective

__all__ = ["Batch", "Objective"]
