"""The interface every GAN objective implements.

The training loop (``trainables.train``) owns the networks and optimisers; an objective only turns
critic outputs into losses, and may keep state (e.g. Fisher's Lagrange multiplier λ) that is
checkpointed with the run.

Both losses receive one ``Batch``: the real minibatch, the generated one and, for class-conditional
training, the labels of each. A critic is called as ``critic(x)`` on an unlabelled batch and
``critic(x, y)`` on a labelled one (``score``), so a plain module stays a valid critic of an
unconditional objective, and every objective trains conditionally once its critic reads labels.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace

import torch
from torch import nn


@dataclass(frozen=True)
class Batch:
    """What one training step's losses see, in one order: real, fake, then their labels (None: unconditional).

    ``fake`` is detached from G in ``critic_loss`` and carries G's graph in ``generator_loss``."""

    real: torch.Tensor
    fake: torch.Tensor
    labels: torch.Tensor | None = None  # class of each real sample
    fake_labels: torch.Tensor | None = None  # class each fake was generated for

    @property
    def conditional(self) -> bool:
        return self.labels is not None

    def with_fake(self, fake: torch.Tensor) -> Batch:
        return replace(self, fake=fake)


def score(critic: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """The critic's raw score per sample: ``critic(x)`` without labels, ``critic(x, y)`` with them."""
    return critic(x) if y is None else critic(x, y)


def score_real(critic: nn.Module, batch: Batch) -> torch.Tensor:
    return score(critic, batch.real, batch.labels)


def score_fake(critic: nn.Module, batch: Batch) -> torch.Tensor:
    return score(critic, batch.fake, batch.fake_labels)


def label_bound(critic: nn.Module, y: torch.Tensor | None):
    """``x ↦ score(critic, x, y)``: for code that differentiates a critic in its input (gradient penalties)."""
    return lambda x: score(critic, x, y)


class Objective(ABC):
    """Subclass and define ``critic_loss`` and ``generator_loss``; a class missing one cannot be instantiated
    (Python's error names the class and the missing method)."""

    #: critic steps per generator step (n_c in paper 000's Algorithm 1)
    n_critic: int = 1
    #: True for an objective with its own class terms on ``critic.class_logits``: under AC conditioning the
    #: registry then adds no AC-GAN terms of its own (``trainables.objectives.auxiliary``)
    uses_class_head: bool = False

    def bind(self, critic: nn.Module, critic_optimizer: torch.optim.Optimizer) -> None:
        """Called once by the loop after building the networks; objectives that simulate critic
        updates (the unrolled GAN) keep the critic's optimiser to replay its update rule."""
        return None  # optional hook

    @abstractmethod
    def critic_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        """Loss the critic minimises, and scalars to log. ``batch.fake`` is already detached from G."""

    def after_critic_step(self, critic: nn.Module) -> None:
        """Hook run after each critic optimiser step (multiplier updates, weight clipping)."""
        return None  # optional hook

    @abstractmethod
    def generator_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        """Loss the generator minimises (the latent prior's regulariser is added by the loop)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        return None  # stateless by default
