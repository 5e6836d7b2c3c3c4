"""Trials per hour with 2 trials at once vs 1 at a time: is one machine kept busy?

    python benchmarks/concurrency.py [--trials 8] [--epochs 4] [--width 32] [--train-limit N]

Three runs train the same N trials (the search's first configuration with seeds 0..N-1, so the work is
identical), through ``tune.Tuner`` and the real trainable, with checkpoints:

- ``--concurrency 1`` at the CLI's default ``--cpus-per-trial 1`` (one torch thread per trial);
- ``--concurrency 2`` at the same default: 2 trials of 1 CPU each. Against the first, this is the
  headline comparison — does a second concurrent trial double throughput, with no oversubscribed threads
  or serialised framework work between them? Goal: ≥ 1.8×;
- ``--concurrency 1 --cpus-per-trial 2``: one trial given every core (2 torch threads). Against it, 2
  concurrent trials win only what intra-op threading leaves on the table: if one trial runs s× faster on
  c threads, c one-thread trials finish at most c / s× as many trials per hour (the training epoch's s is
  measured first, side by side).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from common import add_scale_args, config_from
from efficiency import training_epoch
from ray import tune

from trainables.trainable import train_gan
from tuner.ray_setup import init_ray


def trials_per_hour(config: dict, trials: int, concurrent: int, cpus_per_trial: float) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as storage:
        tuner = tune.Tuner(
            tune.with_resources(train_gan, {"cpu": cpus_per_trial}),
            param_space={**config, "seed": tune.grid_search(list(range(trials)))},
            tune_config=tune.TuneConfig(max_concurrent_trials=concurrent, reuse_actors=True),
            run_config=tune.RunConfig(
                storage_path=storage, checkpoint_config=tune.CheckpointConfig(num_to_keep=2), verbose=0
            ),
        )
        start = time.perf_counter()
        results = tuner.fit()
        wall = time.perf_counter() - start
    assert not results.errors, results.errors
    return trials / wall * 3600, wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scale_args(p)
    p.add_argument("--trials", type=int, default=8)
    p.add_argument("--epochs", type=int, default=4, help="epochs per trial (default: the CLI's)")
    p.add_argument("--cpus", type=int, default=os.cpu_count())
    a = p.parse_args()
    config = {**config_from(a), "epochs": a.epochs}
    _, serial = training_epoch(config, 1, 3)
    _, parallel = training_epoch(config, a.cpus, 3)
    speedup = serial / parallel
    print(f"training epoch: {serial:.2f} s on 1 thread, {parallel:.2f} s on {a.cpus} = {speedup:.2f}x", flush=True)

    init_ray(num_cpus=a.cpus)
    runs = {}
    for label, concurrent, cpus in (
        ("1 at a time, 1 CPU each ", 1, 1),
        ("2 at a time, 1 CPU each ", 2, 1),
        (f"1 at a time, {a.cpus} CPUs each", 1, a.cpus),
    ):
        runs[(concurrent, cpus)], wall = trials_per_hour(config, a.trials, concurrent, cpus)
        print(f"{label}: {runs[(concurrent, cpus)]:7.1f} trials/hour ({a.trials} trials in {wall:.0f} s)", flush=True)

    two, one, whole = runs[(2, 1)], runs[(1, 1)], runs[(1, a.cpus)]
    print(f"\n{a.method} on {a.dataset}, width {a.width}, {a.epochs} epochs per trial")
    print(f"2 concurrent / 1 (1 CPU per trial, the CLI default): {two / one:.2f}x   (goal >= 1.8x)")
    ceiling = a.cpus / speedup
    print(f"2 concurrent / 1 trial on {a.cpus} CPUs: {two / whole:.2f}x   (training-phase ceiling {ceiling:.2f}x)")


if __name__ == "__main__":
    main()
