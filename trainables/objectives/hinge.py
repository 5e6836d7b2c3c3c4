"""GAN with the hinge loss (Lim & Ye 2017; Miyato et al. 2018; paper 002 §2.2).

Critic: E_P max(0, 1 − f(x)) + E_Q max(0, 1 + f(x̃)); generator: −E_Q f. Paper 002 prints the two
hinges with the signs of f swapped; that is the same loss for the critic −f, so we keep the usual
convention (f high on real data) shared with the Wasserstein generator loss and SAN.
"""

from __future__ import annotations

import torch
from torch import nn

from trainables.objectives.base import Batch, Objective, score_fake, score_real
from trainables.objectives.wgan import WassersteinGenerator


def hinge_critic_loss(f_real: torch.Tensor, f_fake: torch.Tensor) -> torch.Tensor:
    return torch.relu(1 - f_real).mean() + torch.relu(1 + f_fake).mean()


class HingeObjective(WassersteinGenerator, Objective):
    def __init__(self, *, n_critic: int):
        self.n_critic = int(n_critic)

    def critic_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        f_real, f_fake = score_real(critic, batch), score_fake(critic, batch)
        return hinge_critic_loss(f_real, f_fake), {"margin": float((f_real.mean() - f_fake.mean()).detach())}
