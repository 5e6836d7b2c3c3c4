"""WGAN with gradient penalty (Gulrajani et al. 2017).

Critic loss E_Q f − E_P f + λ E[(‖∇ f(x̂)‖₂ − 1)²] at random interpolates x̂ between real and fake
samples. Defaults of the paper's Algorithm 1: λ = 10, n_critic = 5, Adam(1e-4, β₁ 0.5, β₂ 0.9); the
critic has no batch norm (the penalty is per sample), set in the registry.
"""

from __future__ import annotations

import torch
from torch import nn

from trainables.objectives.base import Batch, Objective, label_bound, score_fake, score_real
from trainables.objectives.penalties import gradient_penalty, interpolates
from trainables.objectives.wgan import WassersteinGenerator, wasserstein_critic_loss


class WGANGPObjective(WassersteinGenerator, Objective):
    def __init__(self, *, gp_weight: float, n_critic: int):
        self.gp_weight = float(gp_weight)
        self.n_critic = int(n_critic)

    def critic_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        w_loss = wasserstein_critic_loss(score_real(critic, batch), score_fake(critic, batch))
        # Interpolates pair each real sample with the fake of the same row, which shares its label.
        gp = gradient_penalty(label_bound(critic, batch.labels), interpolates(batch.real, batch.fake))
        return w_loss + self.gp_weight * gp, {"wasserstein": -float(w_loss.detach()), "gp": float(gp.detach())}
