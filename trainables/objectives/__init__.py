"""Adversarial objectives: how the critic and generator losses are computed, plus any state."""

from trainables.objectives.base import Objective
from trainables.objectives.fisher import FisherObjective

__all__ = ["Objective", "FisherObjective"]
