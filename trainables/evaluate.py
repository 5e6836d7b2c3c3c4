"""Per-epoch evaluation: generate samples once, embed them once, compute the selected metrics.

Each metric is registered with the function that computes it from an ``EvalContext`` (the generated
samples and lazily computed embeddings of generated / test / train data), so adding a metric is one
function here plus its pure maths in ``trainables.metrics``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from trainables.data import Dataset
from trainables.metrics import ddm, inception_score

DEFAULT_METRICS = ("inception_score", "ddm")


@dataclass
class EvalContext:
    data: Dataset
    samples: torch.Tensor  # generated, on CPU, in [-1, 1]
    embed: Callable[[torch.Tensor], torch.Tensor]  # samples → logits (float64)
    _cache: dict = field(default_factory=dict)

    def logits(self, which: str) -> torch.Tensor:
        """Embeddings of 'generated', 'test' or 'train' data, computed once per evaluation."""
        if which not in self._cache:
            x = {"generated": self.samples, "test": self.data.test_x, "train": self.data.train_x}[which]
            self._cache[which] = self.embed(x)
        return self._cache[which]


MetricFn = Callable[[EvalContext], dict[str, float]]
METRICS: dict[str, MetricFn] = {}


def metric(name: str) -> Callable[[MetricFn], MetricFn]:
    def deco(fn: MetricFn) -> MetricFn:
        METRICS[name] = fn
        return fn

    return deco


@metric("inception_score")
def _inception_score(ctx: EvalContext) -> dict[str, float]:
    mean, std = inception_score(ctx.logits("generated"), splits=10)
    return {"inception_score": mean, "inception_score_std": std}


@metric("ddm")
def _ddm(ctx: EvalContext) -> dict[str, float]:
    return {"ddm": ddm(ctx.logits("test"), ctx.logits("generated"))}


def metric_names() -> list[str]:
    return sorted(METRICS)


class Evaluator:
    def __init__(self, data: Dataset, embedder: torch.nn.Module | None, metrics=DEFAULT_METRICS):
        unknown = [m for m in metrics if m not in METRICS]
        if unknown:
            raise ValueError(f"unknown metric(s) {', '.join(unknown)}; valid: {', '.join(metric_names())}")
        self.data = data
        self.metrics = tuple(metrics)
        self.embedder = embedder
        # Test/train embeddings never change between epochs: compute them once per trial.
        self._embed_cache: dict[int, torch.Tensor] = {}

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        if self.embedder is None:
            raise ValueError(f"the selected metrics need a classifier, and dataset {self.data.info.name} has none")
        key = id(x)
        if x is self.data.test_x or x is self.data.train_x:
            if key not in self._embed_cache:
                self._embed_cache[key] = self.embedder.logits(x)
            return self._embed_cache[key]
        return self.embedder.logits(x)

    def __call__(self, samples: torch.Tensor) -> dict[str, float]:
        ctx = EvalContext(self.data, samples, self._embed)
        out: dict[str, float] = {}
        for name in self.metrics:
            out.update(METRICS[name](ctx))
        return out
