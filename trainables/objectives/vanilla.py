"""The original GAN (Goodfellow et al. 2014; paper 002 §1.1) with a logistic critic.

The critic outputs a logit f = σ⁻¹(D); it minimises the cross-entropy
    −E_P log D(x) − E_Q log(1 − D(x̃)) = E_P softplus(−f) + E_Q softplus(f).
The generator either minimises the minimax value E_Q log(1 − D) = −E_Q softplus(f), or — the
non-saturating loss DCGAN uses (paper 001 §3) — maximises E_Q log D, i.e. minimises E_Q softplus(−f).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainables.objectives.base import Batch, Objective, score_fake, score_real


def logistic_critic_loss(f_real: torch.Tensor, f_fake: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the critic's logits (real = 1, fake = 0), numerically stable."""
    return F.softplus(-f_real).mean() + F.softplus(f_fake).mean()


def logistic_generator_loss(f_fake: torch.Tensor, non_saturating: bool) -> torch.Tensor:
    return F.softplus(-f_fake).mean() if non_saturating else -F.softplus(f_fake).mean()


class VanillaObjective(Objective):
    def __init__(self, *, non_saturating: bool, n_critic: int):
        self.non_saturating = bool(non_saturating)
        self.n_critic = int(n_critic)

    def critic_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        f_real, f_fake = score_real(critic, batch), score_fake(critic, batch)
        loss = logistic_critic_loss(f_real, f_fake)
        return loss, {
            "d_real": float(torch.sigmoid(f_real.detach()).mean()),
            "d_fake": float(torch.sigmoid(f_fake.detach()).mean()),
        }

    def generator_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        return logistic_generator_loss(score_fake(critic, batch), self.non_saturating), {}
