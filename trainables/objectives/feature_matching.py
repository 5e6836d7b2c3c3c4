"""Feature matching (Salimans et al. 2016 §3.1), the generator loss of Improved GAN (paper 004 §3.3).

The critic is trained as in the original GAN; the generator instead minimises
‖E_P h(x) − E_Q h(x̃)‖²₂ with h the critic's last hidden features (``Critic.features``), i.e. it
matches the statistics the critic finds discriminative rather than maximising the critic's output.
(The authors' code uses the mean absolute difference; we follow the paper's squared norm.)
"""

from __future__ import annotations

import torch
from torch import nn

from trainables.objectives.vanilla import VanillaObjective


def feature_matching_loss(h_real: torch.Tensor, h_fake: torch.Tensor) -> torch.Tensor:
    return ((h_real.flatten(1).mean(0) - h_fake.flatten(1).mean(0)) ** 2).sum()


class FeatureMatchingObjective(VanillaObjective):
    def __init__(self, *, n_critic: int):
        super().__init__(non_saturating=True, n_critic=n_critic)

    def generator_loss(self, critic: nn.Module, fake: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, dict]:
        with torch.no_grad():  # the real statistics are a target, not something G can move
            h_real = critic.features(real)
        return feature_matching_loss(h_real, critic.features(fake)), {}
