"""The interface every GAN objective implements.

The training loop (``trainables.train``) owns the networks and optimisers; an objective only turns
critic outputs into losses, and may keep state (e.g. Fisher's Lagrange multiplier λ) that is
checkpointed with the run.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn


class Objective(ABC):
    """Subclass and define ``critic_loss`` and ``generator_loss``; a class missing one cannot be instantiated
    (Python's error names the class and the missing method)."""

    #: critic steps per generator step (n_c in paper 000's Algorithm 1)
    n_critic: int = 1

    def bind(self, critic: nn.Module, critic_optimizer: torch.optim.Optimizer) -> None:
        """Called once by the loop after building the networks; objectives that simulate critic
        updates (the unrolled GAN) keep the critic's optimiser to replay its update rule."""
        return None  # optional hook

    @abstractmethod
    def critic_loss(self, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Loss the critic minimises, and scalars to log. ``fake`` is already detached from G."""

    def after_critic_step(self, critic: nn.Module) -> None:
        """Hook run after each critic optimiser step (multiplier updates, weight clipping)."""
        return None  # optional hook

    @abstractmethod
    def generator_loss(self, critic: nn.Module, fake: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Loss the generator minimises (the latent prior's regulariser is added by the loop)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        return None  # stateless by default
