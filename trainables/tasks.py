"""What a method's generator is asked to do: its *task*.

A GAN method is task × objective × latent prior × networks × options. The task decides what the training loop
feeds the networks, which datasets fit, which metrics apply and what the epoch's sample grid shows:

- ``generate``: generation, z → image or point (every method of papers 000–003), optionally class-conditional;
- ``translate``: unpaired translation between two image domains (CycleGAN, paper 001 §6);
- ``modify``: label-conditioned modification of an image (ModNet, paper 004 §2.5).

Each task names the class that trains one run (a ``TaskRun``) and the function that builds its per-epoch
evaluator (a ``TaskEvaluator``), as ``module:attribute`` strings imported on first use, so this table imports
no training code and every module may read it. The Ray trainable, the finals and the sampler drive any task
through these two interfaces only.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch


class TaskRun(ABC):
    """One training run of a task, independent of Ray: built as ``Run(config, data, device)``."""

    epoch: int  # epochs trained so far
    generator: torch.nn.Module  # the (first) generator: test faults poison one of its weights

    @abstractmethod
    def train_epoch(self) -> Any:
        """Train one epoch; returns ``trainables.train.EpochStats`` (losses and logged extras)."""

    @abstractmethod
    def sample(self, n: int) -> Any:
        """What the task's evaluator scores, made from n inputs in eval mode on the CPU (``generate``: n samples)."""

    @abstractmethod
    def grid(self, outputs: Any) -> torch.Tensor:
        """The epoch's sample grid: images in [-1, 1], 8 per row (points: the samples, which are not drawn)."""

    @abstractmethod
    def finite(self, outputs: Any) -> bool:
        """False when the outputs hold NaN or ∞: the trial diverged."""

    @abstractmethod
    def state_dict(self) -> dict:
        """Everything needed to resume exactly: networks, optimisers, objective state, epoch, RNG states."""

    @abstractmethod
    def load_state_dict(self, state: dict) -> None: ...

    @abstractmethod
    def sampling_state(self) -> dict:
        """The weights that make the scored outputs (the EMA copies where the run averages them)."""


class TaskEvaluator(ABC):
    """Per-epoch scoring of a run's outputs with the metrics its config selects."""

    feature_path: str  # which network made the features (recorded with every result: scores compare within one)

    @abstractmethod
    def samples_needed(self, epoch: int | None = None, final: bool = False, available: int = 1000) -> int:
        """How many outputs to make at ``epoch``: the most any metric due then uses."""

    @abstractmethod
    def worst(self) -> dict[str, float]:
        """Each selected metric's worst value: what a diverged trial reports so schedulers rank it last."""

    @abstractmethod
    def __call__(self, outputs: Any, epoch: int | None = None, final: bool = False) -> dict[str, float]: ...


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    kinds: tuple[str, ...]  # dataset kinds it trains on ("image", "points", "pair": two image domains)
    needs_labels: bool  # refuses unlabelled datasets (ModNet conditions on a target label)
    run: str  # "module:Class" of its TaskRun
    evaluator: str  # "module:function" (config, data, device) → its TaskEvaluator
    default_metrics: tuple[str, ...] = ()  # what a search reports when --metrics is not given ("generate": by data)
    default_metric: str = ""  # what a search optimises when --metric is not given ("generate": by data)
    # What its outputs carry for metrics, in trainables.evaluate.NEEDS' words (the data adds images, a ring, labels):
    # a metric applies wherever all it needs is provided, so a new task names no metric and no metric names a task.
    provides: tuple[str, ...] = ()
    directions: bool = False  # scores two directions (A→B, B→A): every result key has a B→A twin ending in _ba

    def make_run(self, config: dict, data, device: str | torch.device = "cpu") -> TaskRun:
        return _resolve(self.run)(config, data, device)

    def make_evaluator(self, config: dict, data, device: str | torch.device = "cpu") -> TaskEvaluator:
        return _resolve(self.evaluator)(config, data, device)


def _resolve(reference: str):
    module, _, attr = reference.partition(":")
    return getattr(importlib.import_module(module), attr)


TASKS: dict[str, Task] = {
    task.name: task
    for task in [
        Task("generate", "generation: latent z (and, class-conditionally, a label y) → sample", ("image", "points"),
             False, "trainables.train:GANRun", "trainables.evaluate:evaluator_from_config",
             provides=("labels",)),  # labels only when the run is class-conditional (evaluate.provided)
        Task("translate", "unpaired translation between two image domains: A → B and B → A", ("pair",), False,
             "trainables.translate:CycleGANRun", "trainables.translate:evaluator_from_config",
             ("cycle_l1", "translation_accuracy", "inception_score", "ddm"), "translation_accuracy_mean",
             provides=("pairs", "labels"), directions=True),
        Task("modify", "label-conditioned modification: (image x, target label y_t) → x + delta image", ("image",),
             True, "trainables.modnet:ModNetRun", "trainables.modnet:evaluator_from_config",
             ("target_accuracy", "delta_l1", "nearest_is_input", "inception_score", "ddm"), "target_accuracy",
             provides=("inputs", "labels")),
    ]
}  # fmt: skip


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; valid: {', '.join(TASKS)}")
    return TASKS[name]
