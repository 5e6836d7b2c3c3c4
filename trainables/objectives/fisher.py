"""Fisher GAN (Mroueh & Sercu 2017), the objective of Deli-Fisher GAN (paper 000 eq. 2, Algorithm 1).

The critic maximises the augmented Lagrangian

    E_P f − E_Q f + λ(1 − Ω) − (ρ/2)(1 − Ω)²,   Ω = ½ E_P f² + ½ E_Q f²,

and after every critic step the multiplier moves λ ← λ − ρ(1 − Ω) (gradient descent on λ with step ρ).

Reading of paper 000: its Ω̂ prints a *minus* between the two second moments; that is a PDF
extraction typo — Fisher GAN's constraint is the *sum* (the second moment of f under the mixture
½P + ½Q equals 1), as in Mroueh & Sercu eq. (3) and tomsercu/FisherGAN. Paper 000 also writes the
penalty as ρ(Ω − 1)²; we use ρ/2 as in the reference code so ρ means the same as there.
"""

from __future__ import annotations

import torch
from torch import nn

from trainables.objectives.base import Batch, Objective, score_fake, score_real


def fisher_terms(f_real: torch.Tensor, f_fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns (IPM estimate E_P f − E_Q f, constraint 1 − Ω) for critic outputs on a batch."""
    ipm = f_real.mean() - f_fake.mean()
    omega = 0.5 * (f_real**2).mean() + 0.5 * (f_fake**2).mean()
    return ipm, 1.0 - omega


class FisherObjective(Objective):
    def __init__(self, *, rho: float, lambda_init: float, n_critic: int):
        self.rho = float(rho)
        self.lam = float(lambda_init)
        self.n_critic = int(n_critic)
        self._constraint = 0.0

    def critic_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        ipm, constraint = fisher_terms(score_real(critic, batch), score_fake(critic, batch))
        objective = ipm + self.lam * constraint - 0.5 * self.rho * constraint**2
        # λ is updated with the constraint measured at the parameters this step's gradient used,
        # exactly as the reference code does with Lambda.grad after loss.backward().
        self._constraint = float(constraint.detach())
        return -objective, {"ipm": float(ipm.detach()), "constraint": self._constraint}

    def after_critic_step(self, critic: nn.Module) -> None:
        self.lam -= self.rho * self._constraint

    def generator_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        return -score_fake(critic, batch).mean(), {}

    def state_dict(self) -> dict:
        return {"lambda": self.lam}

    def load_state_dict(self, state: dict) -> None:
        self.lam = float(state["lambda"])
