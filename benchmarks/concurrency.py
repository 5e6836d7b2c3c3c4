"""Trials per hour with 2 trials at once (1 CPU each) vs 1 at a time (2 CPUs): is one machine kept busy?

    python benchmarks/concurrency.py [--trials 4] [--epochs 2] [--width 32] [--train-limit N]

Both runs train the same N trials (the search's first configuration with seeds 0..N-1, so the work is
identical), through ``tune.Tuner`` and the real trainable, with checkpoints. A small GAN does not
spread well over 2 threads, so two concurrent trials should nearly double throughput. Goal: ≥ 1.8×.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from common import add_scale_args, config_from
from ray import tune

from trainables.trainable import train_gan
from tuner.ray_setup import init_ray


def trials_per_hour(config: dict, trials: int, concurrent: int, cpus: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as storage:
        tuner = tune.Tuner(
            tune.with_resources(train_gan, {"cpu": cpus / concurrent}),
            param_space={**config, "seed": tune.grid_search(list(range(trials)))},
            tune_config=tune.TuneConfig(max_concurrent_trials=concurrent),
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
    p.add_argument("--trials", type=int, default=4)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--cpus", type=int, default=os.cpu_count())
    a = p.parse_args()
    config = {**config_from(a), "epochs": a.epochs}
    init_ray(num_cpus=a.cpus)
    one, t1 = trials_per_hour(config, a.trials, 1, a.cpus)
    print(f"1 at a time ({a.cpus} CPUs each): {one:7.1f} trials/hour ({a.trials} trials in {t1:.0f} s)", flush=True)
    two, t2 = trials_per_hour(config, a.trials, 2, a.cpus)
    print(f"2 at a time ({a.cpus / 2:g} CPU each) : {two:7.1f} trials/hour ({a.trials} trials in {t2:.0f} s)")
    print(f"\n{a.method} on {a.dataset}, width {a.width}, {a.epochs} epochs per trial")
    print(f"ratio 2 concurrent / 1: {two / one:.2f}x   (goal >= 1.8x)")


if __name__ == "__main__":
    main()
