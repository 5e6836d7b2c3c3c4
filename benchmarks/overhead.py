"""Ray Tune's overhead on a trial: its epoch time inside Tune vs the same epochs in a bare PyTorch loop.

    python benchmarks/overhead.py [--epochs 4] [--width 32] [--train-limit N] [--cpus 2] [--rounds 2]

Both sides run the same config (as the CLI builds it for a search's first trial) with the same torch
threads: the bare loop calls GANRun/evaluator/torch.save directly; the Tune side is one trial of
``train_gan`` through ``tune.Tuner`` with checkpoints persisted to storage, timed by Tune's own
``time_this_iter_s``. Rounds alternate bare → Tune so drift in machine load hits both. Goal: ≤ 1.05×.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

from common import add_scale_args, bare_epochs, config_from, median_after_first
from ray import tune

from trainables.trainable import train_gan
from tuner.ray_setup import init_ray


def tune_epochs(config: dict, epochs: int, cpus: int) -> list[float]:
    with tempfile.TemporaryDirectory() as storage:
        tuner = tune.Tuner(
            tune.with_resources(train_gan, {"cpu": cpus}),
            param_space={**config, "epochs": epochs},
            tune_config=tune.TuneConfig(num_samples=1),
            run_config=tune.RunConfig(
                storage_path=storage, checkpoint_config=tune.CheckpointConfig(num_to_keep=2), verbose=0
            ),
        )
        (result,) = tuner.fit()
        assert result.error is None, result.error
        return list(result.metrics_dataframe["time_this_iter_s"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scale_args(p)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--cpus", type=int, default=2, help="CPUs of the trial = torch threads of the bare loop")
    p.add_argument("--rounds", type=int, default=2)
    a = p.parse_args()
    config = config_from(a)
    init_ray(num_cpus=a.cpus)
    bare, inside = [], []
    for r in range(a.rounds):
        bare.append(median_after_first(bare_epochs(config, a.epochs, a.cpus).total()))
        inside.append(median_after_first(tune_epochs(config, a.epochs, a.cpus)))
        print(f"round {r + 1}: bare {bare[-1]:.2f} s/epoch, in Ray Tune {inside[-1]:.2f} s/epoch", flush=True)
    b, t = statistics.median(bare), statistics.median(inside)
    print(f"\n{a.method} on {a.dataset}, width {a.width}, batch {a.batch_size}, {a.cpus} CPUs, {a.epochs} epochs")
    print(f"bare PyTorch loop : {b:.3f} s/epoch (median of rounds; each the median of epochs 2..)")
    print(f"inside Ray Tune   : {t:.3f} s/epoch")
    print(f"ratio Tune / bare : {t / b:.3f}x   (goal <= 1.05x)")


if __name__ == "__main__":
    main()
