"""Adversarial objectives: how the critic and generator losses are computed, plus any state."""

from trainables.objectives.base import Objective
from trainables.objectives.dragan import DRAGANObjective
from trainables.objectives.feature_matching import FeatureMatchingObjective
from trainables.objectives.fisher import FisherObjective
from trainables.objectives.hinge import HingeObjective
from trainables.objectives.lsgan import LSGANObjective
from trainables.objectives.san import SANObjective
from trainables.objectives.unrolled import UnrolledObjective
from trainables.objectives.vanilla import VanillaObjective
from trainables.objectives.wgan import WGANObjective
from trainables.objectives.wgan_gp import WGANGPObjective

__all__ = [
    "Objective",
    "DRAGANObjective",
    "FeatureMatchingObjective",
    "FisherObjective",
    "HingeObjective",
    "LSGANObjective",
    "SANObjective",
    "UnrolledObjective",
    "VanillaObjective",
    "WGANObjective",
    "WGANGPObjective",
]
