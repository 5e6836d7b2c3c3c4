"""What every task's training run shares: its resolved trial configuration, its seeding, and its optimisers.

Each optimiser is registered with the learning rate the trial configuration gives it; after a checkpoint is
loaded, ``apply_optimizer_hyperparameters`` writes this run's rates and Adam betas back into the loaded optimiser
state. They are equal on a plain resume and differ when population-based training copied another trial's
checkpoint and perturbed the hyperparameters: the copied moments stay, the rates are this trial's.
"""

from __future__ import annotations

import random

import numpy as np
import torch

from trainables.tasks import TaskRun
from trainables.trial_config import TrialConfig, resolve


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def make_optimizer(kind: str, params, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    if kind == "adam":
        # The fused kernel updates every tensor in one pass instead of ~10 small ops per tensor: the
        # optimiser step is a visible share of a small GAN's step on CPU. Same update rule, same state.
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise ValueError(f"unknown optimizer {kind!r}")


class RunBase(TaskRun):
    """A task run built from a trial config: ``trial`` (typed, every default applied), ``config`` (its values),
    the device, the epoch counter, the seeded random streams and the registered optimisers."""

    def __init__(self, config: dict, device: str | torch.device = "cpu"):
        self.trial: TrialConfig = resolve(config)
        self.config: dict = self.trial.values
        self.device = torch.device(device)
        self.epoch = 0
        self._optimizers: dict[str, tuple[torch.optim.Optimizer, float]] = {}
        seed_everything(self.trial.seed)

    def add_optimizer(self, name: str, params, lr: float, kind: str = "adam") -> torch.optim.Optimizer:
        optimizer = make_optimizer(kind, params, float(lr), self.trial.betas)
        self._optimizers[name] = (optimizer, float(lr))
        return optimizer

    def apply_optimizer_hyperparameters(self) -> None:
        """This run's learning rates and Adam betas into its (loaded) optimisers."""
        for optimizer, lr in self._optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = lr
                if "betas" in group:
                    group["betas"] = self.trial.betas
