"""Wasserstein GAN with weight clipping (Arjovsky et al. 2017; paper 001 §4, paper 002 §2).

The critic maximises E_P f − E_Q f (minimises its negative); after every critic step each of its
weights is clipped to [−c, c] so f stays K-Lipschitz. Defaults of the paper's Algorithm 1: c = 0.01,
n_critic = 5, RMSprop with lr 5e-5 (the optimiser is set in the registry).
"""

from __future__ import annotations

import torch
from torch import nn

from trainables.objectives.base import Batch, Objective, score_fake, score_real


def wasserstein_critic_loss(f_real: torch.Tensor, f_fake: torch.Tensor) -> torch.Tensor:
    """−(E_P f − E_Q f): the negative Kantorovich–Rubinstein estimate."""
    return f_fake.mean() - f_real.mean()


class WassersteinGenerator:
    """Generator side shared by every IPM-style critic: maximise E_Q f."""

    def generator_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        return -score_fake(critic, batch).mean(), {}


class WGANObjective(WassersteinGenerator, Objective):
    def __init__(self, *, clip: float, n_critic: int):
        self.clip = float(clip)
        self.n_critic = int(n_critic)

    def critic_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        loss = wasserstein_critic_loss(score_real(critic, batch), score_fake(critic, batch))
        return loss, {"wasserstein": -float(loss.detach())}

    @torch.no_grad()
    def after_critic_step(self, critic: nn.Module) -> None:
        # Only trainable weights: a frozen pre-trained part (e.g. an RF encoder) must keep its values.
        for p in critic.parameters():
            if p.requires_grad:
                p.clamp_(-self.clip, self.clip)
