"""Least-squares GAN (Mao et al. 2017; paper 003 §2).

Critic: ½E_P (f − b)² + ½E_Q (f − a)²; generator: ½E_Q (f − c)². The 0-1 coding a = 0, b = c = 1
is the one Mao et al. use for their experiments (and the RFGAN reference code).
"""

from __future__ import annotations

import torch
from torch import nn

from trainables.objectives.base import Batch, Objective, score_fake, score_real


class LSGANObjective(Objective):
    def __init__(self, *, n_critic: int, a: float = 0.0, b: float = 1.0, c: float = 1.0):
        self.a, self.b, self.c = float(a), float(b), float(c)
        self.n_critic = int(n_critic)

    def critic_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        f_real, f_fake = score_real(critic, batch), score_fake(critic, batch)
        loss = 0.5 * ((f_real - self.b) ** 2).mean() + 0.5 * ((f_fake - self.a) ** 2).mean()
        return loss, {"f_real": float(f_real.detach().mean()), "f_fake": float(f_fake.detach().mean())}

    def generator_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        return 0.5 * ((score_fake(critic, batch) - self.c) ** 2).mean(), {}
