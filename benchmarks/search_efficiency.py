"""ASHA + TPE vs random search at full budget: how many epochs does ASHA + TPE spend to reach the best
Inception Score that random search reaches with every trial trained to the end?

    python benchmarks/search_efficiency.py [--trials 64] [--epochs 8] [--width 32] [--train-limit N]

ASHA + TPE is the real search (``tuner.search.run_search``: OptunaSearch/TPE starting from the author
defaults, ASHA with the CLI's grace period and reduction factor). Random search is ``tune.Tuner`` over the
same space and trial config with Tune's random sampler and no early stopping. Both use the same seed and
number of trials. Every reported epoch counts as one epoch spent, in the order results arrived.
Goal: ≤ 25 % of random search's epochs. The full-size run (64 trials × 8 epochs each) took 37 min on
2 CPU cores; ``--trials``/``--epochs``/``--width``/``--train-limit`` scale it down.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
from common import add_scale_args
from ray import tune
from ray.tune.search.basic_variant import BasicVariantGenerator

import search_spaces
from trainables.trainable import train_gan
from tuner.cli import build_parser, trial_config, validate
from tuner.ray_setup import init_ray
from tuner.search import run_search

METRIC = "inception_score"


def rows(results: tune.ResultGrid) -> pd.DataFrame:
    """Every reported epoch of every trial, in the order they were reported."""
    frames = [r.metrics_dataframe[["timestamp", "epoch", METRIC]] for r in results if r.metrics_dataframe is not None]
    return pd.concat(frames).sort_values("timestamp", kind="stable").reset_index(drop=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scale_args(p)
    p.add_argument("--trials", type=int, default=64)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    init_ray()
    with tempfile.TemporaryDirectory() as tmp:
        argv = [a.method, "--dataset", a.dataset, "--width", str(a.width), "--batch-size", str(a.batch_size)]
        argv += ["--eval-samples", str(a.eval_samples), "--trials", str(a.trials), "--epochs", str(a.epochs)]
        argv += ["--concurrency", str(a.concurrency), "--seed", str(a.seed), "--name", "asha-tpe"]
        argv += ["--storage", f"{tmp}/ray", "--mlflow-uri", f"sqlite:///{Path(tmp, 'mlflow.db')}"]
        argv += ["--train-limit", str(a.train_limit)] if a.train_limit else []
        args = build_parser().parse_args(argv)
        validate(args)
        asha = rows(run_search(args))

        random_search = tune.Tuner(
            tune.with_resources(train_gan, {"cpu": args.cpus_per_trial}),
            param_space={**trial_config(args), **search_spaces.space(a.method)},
            tune_config=tune.TuneConfig(
                num_samples=a.trials,
                # The generator's own limit: Tune ignores max_concurrent_trials for a non-Searcher search_alg.
                search_alg=BasicVariantGenerator(random_state=a.seed, max_concurrent=a.concurrency),
            ),
            run_config=tune.RunConfig(name="random", storage_path=f"{tmp}/ray", verbose=0),
        )
        rand = rows(random_search.fit())

    target = rand[METRIC].max()
    reached = asha.index[asha[METRIC] >= target]
    print(f"\n{a.method} on {a.dataset}: {a.trials} trials x {a.epochs} epochs, width {a.width}")
    print(f"random search : {len(rand)} epochs, best {METRIC} {target:.4f}")
    print(f"ASHA + TPE    : {len(asha)} epochs in all, best {METRIC} {asha[METRIC].max():.4f}")
    if len(reached):
        spent = int(reached[0]) + 1
        print(
            f"ASHA + TPE reached {target:.4f} after {spent} epochs = {spent / len(rand):.1%} of random's (goal <= 25 %)"
        )
    else:
        print(f"ASHA + TPE never reached {target:.4f}: not within its {len(asha) / len(rand):.1%} of random's epochs")


if __name__ == "__main__":
    main()
