"""AC-GAN's class terms (Odena et al. 2017 §3), added to any objective whose critic has a class head.

The critic has two outputs: the source score the wrapped objective uses, and class logits from a second head on
the same features (``Critic.class_logits``). With L_C = E log P(C = c | X_real) + E log P(C = c | X_fake), D
maximises L_S + L_C and G maximises L_C − L_S: in losses to minimise, both add the cross-entropy of the class
head — the critic on real samples with their labels *and* on fakes with the labels they were generated for, the
generator on its fakes — weighted by ``class_weight`` (1 in the paper, where the two terms are simply summed).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainables.objectives.base import Batch, Objective


def class_terms(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """−E log P(C = c | X): the batch-mean cross-entropy of the class head (one AC-GAN class term)."""
    return F.cross_entropy(logits, labels.long())


class AuxiliaryClassifier(Objective):
    """``inner``'s losses plus AC-GAN's class terms; state, hooks and critic steps are ``inner``'s."""

    uses_class_head = True

    def __init__(self, inner: Objective, class_weight: float):
        self.inner = inner
        self.class_weight = float(class_weight)

    @property
    def n_critic(self) -> int:  # type: ignore[override]
        return self.inner.n_critic

    def __getattr__(self, name: str):
        """The wrapped objective's hyperparameters (``non_saturating``, ``rho``, …) read through the wrapper."""
        if name == "inner":  # not yet set (copying, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def bind(self, critic: nn.Module, critic_optimizer: torch.optim.Optimizer) -> None:
        self.inner.bind(critic, critic_optimizer)

    def critic_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        loss, info = self.inner.critic_loss(critic, batch)
        real_logits, fake_logits = critic.class_logits(batch.real), critic.class_logits(batch.fake)
        ce_real, ce_fake = class_terms(real_logits, batch.labels), class_terms(fake_logits, batch.fake_labels)
        hits = (real_logits.detach().argmax(1) == batch.labels).double().mean()
        logs = {"d_class_real": float(ce_real.detach()), "d_class_fake": float(ce_fake.detach()),
                "d_class_acc_real": float(hits)}  # fmt: skip
        return loss + self.class_weight * (ce_real + ce_fake), {**info, **logs}

    def after_critic_step(self, critic: nn.Module) -> None:
        self.inner.after_critic_step(critic)

    def generator_loss(self, critic: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        loss, info = self.inner.generator_loss(critic, batch)
        ce_fake = class_terms(critic.class_logits(batch.fake), batch.fake_labels)
        return loss + self.class_weight * ce_fake, {**info, "g_class": float(ce_fake.detach())}

    def state_dict(self) -> dict:
        return self.inner.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.inner.load_state_dict(state)
