"""Slicing Adversarial Network (Takida et al. 2024; paper 002 §3), SAN-ified hinge GAN.

The critic is split as f(x) = ⟨w, h(x)⟩ + b (``Critic.features`` / ``Critic.head``) and the last
layer is written w = s·ω with direction ω = w/‖w‖ and scale s = ‖w‖, the scale being part of the
feature function h̃ = s·h. The critic's maximisation problem splits in two (paper 002 eq. of §3.3):
  * the features (body, s, b) are trained with the hinge loss of ⟨ω⁻, h̃⟩ + b, ω detached;
  * the direction ω is trained with the Wasserstein-type loss −(E_P⟨ω, h̃⁻⟩ − E_Q⟨ω, h̃⁻⟩), h̃ detached,
    which makes ω the optimal slicing direction (the "direction optimality" condition).
This is the fixed assignment of detaches of sony/san (commit b50c34d); the first release had them
swapped. The generator maximises the plain score E_Q f, as in the reference (``flg_train=False``).
"""

from __future__ import annotations

import torch
from torch import nn

from trainables.objectives.base import Batch, Objective
from trainables.objectives.hinge import hinge_critic_loss
from trainables.objectives.wgan import WassersteinGenerator, wasserstein_critic_loss


def san_outputs(critic: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(score for the feature path, score for the direction path) of a ``Critic``, per sample."""
    h = critic.features(x) if y is None else critic.features(x, y)
    w = critic.head.weight.squeeze(0)  # (d,): one output unit
    scale = w.norm()
    direction = w / scale
    h_scaled = h * scale
    bias = critic.head.bias if critic.head.bias is not None else 0.0
    out_fun = h_scaled @ direction.detach() + bias
    out_dir = h_scaled.detach() @ direction
    return out_fun.reshape(-1), out_dir.reshape(-1)


class SANObjective(WassersteinGenerator, Objective):
    def __init__(self, *, n_critic: int):
        self.n_critic = int(n_critic)

    def critic_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        fun_real, dir_real = san_outputs(critic, batch.real, batch.labels)
        fun_fake, dir_fake = san_outputs(critic, batch.fake, batch.fake_labels)
        loss_fun = hinge_critic_loss(fun_real, fun_fake)
        loss_dir = wasserstein_critic_loss(dir_real, dir_fake)
        return loss_fun + loss_dir, {"hinge": float(loss_fun.detach()), "sliced_w": -float(loss_dir.detach())}
