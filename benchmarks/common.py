"""Shared by the benchmarks: a trial's config exactly as the CLI builds it, and the trainable's epoch
(train, sample, score, checkpoint) run as a bare PyTorch loop, timed phase by phase."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

import search_spaces
from trainables.data import load_dataset
from trainables.evaluate import evaluator_from_config
from trainables.train import GANRun
from trainables.trainable import SAMPLES_FILE, STATE_FILE, save_sample_grid
from tuner.cli import build_parser, trial_config, validate


def add_scale_args(p: argparse.ArgumentParser, width: int = 32, train_limit: int | None = None) -> None:
    p.add_argument("--method", default="deli_fisher")
    p.add_argument("--dataset", default="mnist5k")
    p.add_argument("--width", type=int, default=width, help=f"network width (CLI default 32; default here {width})")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--train-limit", type=int, default=train_limit, help="training samples (default: all)")
    p.add_argument("--eval-samples", type=int, default=1000)


def config_from(a: argparse.Namespace, *extra: str) -> dict:
    """A trial config as a search with these flags gives its first (author-default) trial."""
    argv = [a.method, "--dataset", a.dataset, "--width", str(a.width), "--batch-size", str(a.batch_size)]
    argv += ["--eval-samples", str(a.eval_samples), "--mlflow-uri", "sqlite:///unused.db", *extra]
    if a.train_limit:
        argv += ["--train-limit", str(a.train_limit)]
    args = build_parser().parse_args(argv)
    validate(args)
    return {**trial_config(args), **search_spaces.defaults(a.method)}


@dataclass
class EpochTimes:
    train: list[float] = field(default_factory=list)
    metrics: list[float] = field(default_factory=list)
    checkpoint: list[float] = field(default_factory=list)

    def total(self) -> list[float]:
        return [a + b + c for a, b, c in zip(self.train, self.metrics, self.checkpoint, strict=True)]


def bare_epochs(config: dict, epochs: int, threads: int, device: str = "cpu") -> EpochTimes:
    """The trainable's loop body without Ray: same GANRun, sampling, evaluator and checkpoint writes."""
    torch.set_num_threads(threads)
    data = load_dataset(config["dataset"], config.get("data_root"))
    run = GANRun({**config, "epochs": epochs}, data, device)
    evaluator = evaluator_from_config(config, data, device)
    times = EpochTimes()
    for _ in range(epochs):
        t0 = time.perf_counter()
        run.train_epoch()
        t1 = time.perf_counter()
        final = run.epoch >= epochs
        samples = run.sample(max(evaluator.samples_needed(run.epoch, final, int(config["eval_samples"])), 64))
        evaluator(samples, run.epoch, final)
        t2 = time.perf_counter()
        with tempfile.TemporaryDirectory() as d:
            torch.save(run.state_dict(), Path(d) / STATE_FILE)
            save_sample_grid(run.grid(samples), Path(d) / SAMPLES_FILE)
        t3 = time.perf_counter()
        times.train.append(t1 - t0)
        times.metrics.append(t2 - t1)
        times.checkpoint.append(t3 - t2)
    return times


def median_after_first(values: list[float]) -> float:
    """Median epoch time, leaving out the first epoch (allocator and thread-pool warm-up) when there are more."""
    return statistics.median(values[1:] if len(values) > 1 else values)
