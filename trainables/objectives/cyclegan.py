"""CycleGAN's objective (Zhu et al. 2017; paper 001 §6) in the form of junyanz/pytorch-CycleGAN-and-pix2pix.

Adversarial part: LSGAN with the 0-1 coding. The critic's loss is LSGANObjective's, ½·MSE(D(real), 1) +
½·MSE(D(fake), 0) (the reference halves the sum "to slow down D"); the generator's is the reference's
MSE(D(fake), 1), without LSGANObjective's ½. Cycle consistency λ_cyc·(‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁), and the
identity loss λ_id·λ_cyc·(‖G(b) − b‖₁ + ‖F(a) − a‖₁) (the reference's lambda_identity scales λ_A, λ_B), each ‖·‖₁
the mean absolute error over pixels, as nn.L1Loss. Also the history pool of generated images the critics see.
"""

from __future__ import annotations

import torch
from torch import nn

from trainables.objectives.base import Batch, score_fake
from trainables.objectives.lsgan import LSGANObjective


def l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x - y).abs().mean()


class CycleGANObjective(LSGANObjective):
    def __init__(self, *, lambda_cyc: float, lambda_id: float):
        super().__init__(n_critic=1)  # the reference alternates one G step and one D step
        self.lambda_cyc, self.lambda_id = float(lambda_cyc), float(lambda_id)

    def generator_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        return ((score_fake(critic, batch) - self.c) ** 2).mean(), {}

    def cycle_loss(self, a: torch.Tensor, a_rec: torch.Tensor, b: torch.Tensor, b_rec: torch.Tensor) -> torch.Tensor:
        return self.lambda_cyc * (l1(a_rec, a) + l1(b_rec, b))

    def identity_loss(self, a: torch.Tensor, f_a: torch.Tensor, b: torch.Tensor, g_b: torch.Tensor) -> torch.Tensor:
        """``f_a`` = F(a), ``g_b`` = G(b): each generator should leave images of its target domain alone."""
        return self.lambda_id * self.lambda_cyc * (l1(g_b, b) + l1(f_a, a))


class ImagePool:
    """The reference's ImagePool (Shrivastava et al. 2017): the critics are updated with a history of generated
    images. Until the pool holds ``size`` images every image is stored and returned; after that each image is,
    with probability ½, swapped for a random stored one (which is returned), else returned as it is.
    Its own seeded generator keeps a run reproducible and resumable."""

    def __init__(self, size: int, seed: int = 0):
        self.size = int(size)
        self.images: list[torch.Tensor] = []
        self.rng = torch.Generator().manual_seed(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif float(torch.rand((), generator=self.rng)) > 0.5:
                i = int(torch.randint(0, self.size, (), generator=self.rng))
                out.append(self.images[i])
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict:
        stored = torch.stack(self.images) if self.images else torch.empty(0)
        return {"images": stored, "rng": self.rng.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.images = list(state["images"].unbind(0)) if state["images"].numel() else []
        self.rng.set_state(state["rng"])
