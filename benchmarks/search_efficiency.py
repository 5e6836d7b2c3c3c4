"""Search strategies side by side at the same trial budget: ASHA + TPE, population-based training (PBT) and
random search (compare_gan's design: random configurations, every trial trained to the end).

    python benchmarks/search_efficiency.py [--trials 64] [--epochs 8] [--width 32] [--train-limit N]

All three are the real search (``tuner.search.run_search``) with the same seed, trials, epochs and space:
``--sampler tpe --scheduler asha`` (ASHA with the CLI's grace period and reduction factor),
``--scheduler pbt`` (a random population, exploit/explore every ``--perturbation-interval`` epochs) and
``--sampler random --scheduler fifo``. Every reported epoch counts as one epoch spent, in the order results
arrived. Printed per strategy: epochs spent, best Inception Score, the best reached within ASHA's epochs
(equal epochs), and the epochs each needed to reach random search's best. Goal for ASHA + TPE: ≤ 25 % of
random search's epochs. The full-size run (64 trials × 8 epochs each) took 37 min on 2 CPU cores for ASHA +
TPE and random alone; ``--trials``/``--epochs``/``--width``/``--train-limit`` scale it down.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
from common import add_scale_args
from ray import tune

from tuner.cli import build_parser, validate
from tuner.ray_setup import init_ray
from tuner.search import run_search

METRIC = "inception_score"
STRATEGIES = {
    "ASHA + TPE": ["--sampler", "tpe", "--scheduler", "asha"],
    "PBT": ["--scheduler", "pbt"],
    "random": ["--sampler", "random", "--scheduler", "fifo"],
}


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
    p.add_argument("--perturbation-interval", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    init_ray()
    spent: dict[str, pd.DataFrame] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, flags in STRATEGIES.items():
            argv = [a.method, "--dataset", a.dataset, "--width", str(a.width), "--batch-size", str(a.batch_size)]
            argv += ["--eval-samples", str(a.eval_samples), "--trials", str(a.trials), "--epochs", str(a.epochs)]
            argv += ["--concurrency", str(a.concurrency), "--seed", str(a.seed), "--metric", METRIC]
            argv += ["--perturbation-interval", str(a.perturbation_interval), *flags]
            argv += ["--name", label.replace(" + ", "-").lower(), "--storage", f"{tmp}/ray"]
            argv += ["--mlflow-uri", f"sqlite:///{Path(tmp, 'mlflow.db')}"]
            argv += ["--train-limit", str(a.train_limit)] if a.train_limit else []
            args = build_parser().parse_args(argv)
            validate(args)
            spent[label] = rows(run_search(args))

    budget = len(spent["ASHA + TPE"])
    target = spent["random"][METRIC].max()
    print(f"\n{a.method} on {a.dataset}: {a.trials} trials x {a.epochs} epochs, width {a.width}, seed {a.seed}")
    header = f"best IS in {budget} epochs"
    print(f"{'strategy':12s} {'epochs':>7s} {'best IS':>8s} {header:>22s}  reached random's best ({target:.4f})")
    for label, df in spent.items():
        reached = df.index[df[METRIC] >= target]
        first = int(reached[0]) + 1 if len(reached) else None
        at = f"after {first} epochs = {first / len(spent['random']):.1%} of random's" if first else "never"
        best_in_budget = df[METRIC].iloc[:budget].max()
        print(f"{label:12s} {len(df):7d} {df[METRIC].max():8.4f} {best_in_budget:22.4f}  {at}")


if __name__ == "__main__":
    main()
