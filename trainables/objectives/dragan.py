"""DRAGAN (Kodali et al. 2017): the non-saturating GAN plus a gradient penalty near the data.

Critic loss = logistic loss + λ E[(‖∇ f(x̂)‖₂ − 1)²] with x̂ a random perturbation of a real sample
(see ``penalties.dragan_perturbed``). Defaults of the reference code: λ = 10, Adam(1e-4, 0.5, 0.9);
no batch norm in the critic (set in the registry), since the penalty is per sample.
"""

from __future__ import annotations

import torch
from torch import nn

from trainables.objectives.base import Batch, label_bound
from trainables.objectives.penalties import dragan_perturbed, gradient_penalty
from trainables.objectives.vanilla import VanillaObjective


class DRAGANObjective(VanillaObjective):
    def __init__(self, *, gp_weight: float, n_critic: int):
        super().__init__(non_saturating=True, n_critic=n_critic)
        self.gp_weight = float(gp_weight)

    def critic_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        loss, info = super().critic_loss(critic, batch)
        gp = gradient_penalty(label_bound(critic, batch.labels), dragan_perturbed(batch.real))
        return loss + self.gp_weight * gp, {**info, "gp": float(gp.detach())}
