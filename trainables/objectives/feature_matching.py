"""Feature matching (Salimans et al. 2016 §3.1), the generator loss of Improved GAN (paper 004 §3.3).

The critic is trained as in the original GAN; the generator instead minimises
‖E_P h(x) − E_Q h(x̃)‖²₂ with h the critic's last hidden features (``Critic.features``), i.e. it
matches the statistics the critic finds discriminative rather than maximising the critic's output.
(The authors' code uses the mean absolute difference; we follow the paper's squared norm.)
"""

from __future__ import annotations

import torch
from torch import nn

from trainables.objectives.base import Batch
from trainables.objectives.vanilla import VanillaObjective


def feature_matching_loss(h_real: torch.Tensor, h_fake: torch.Tensor) -> torch.Tensor:
    return ((h_real.flatten(1).mean(0) - h_fake.flatten(1).mean(0)) ** 2).sum()


def _features(critic: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    """The critic's last hidden features, of the labelled input where the batch has labels (concatenation)."""
    return critic.features(x) if y is None else critic.features(x, y)


class FeatureMatchingObjective(VanillaObjective):
    def __init__(self, *, n_critic: int):
        super().__init__(non_saturating=True, n_critic=n_critic)

    def generator_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        with torch.no_grad():  # the real statistics are a target, not something G can move
            h_real = _features(critic, batch.real, batch.labels)
        return feature_matching_loss(h_real, _features(critic, batch.fake, batch.fake_labels)), {}
