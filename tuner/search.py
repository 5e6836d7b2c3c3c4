"""Command line entry point: ``python -m tuner.search METHOD [options]``.

CLI → search space → Ray Tune (OptunaSearch/TPE + ASHA) → trainable → MLflow. Arguments are validated
before anything is started or written: a bad value prints one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

import optuna
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

import search_spaces
from trainables.data import DataError, dataset_info, dataset_names
from trainables.evaluate import DEFAULT_METRICS, metric_names
from trainables.registry import get_method, method_names
from trainables.trainable import train_gan
from tuner.mlflow_logging import MLflowTrialLogger

# Metrics a search can optimise, and which way is better.
MODES = {"inception_score": "max", "ddm": "min"}


class UsageError(ValueError):
    """Bad user input: reported as one line on stderr, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tuner.search",
        description="Hyperparameter search for a GAN method with Optuna (TPE) + ASHA on Ray Tune, logged to MLflow.",
    )
    p.add_argument("method", nargs="?", help=f"GAN method: {', '.join(method_names())}")
    p.add_argument("--list", action="store_true", help="list methods and exit")
    p.add_argument("--dataset", default="mnist5k", help="dataset name (default: mnist5k, embedded)")
    p.add_argument("--data-root", default=None, help="folder holding real datasets (never downloaded)")
    p.add_argument("--trials", type=int, default=64, help="number of trials (default 64)")
    p.add_argument("--epochs", type=int, default=8, help="max epochs per trial, ASHA's budget (default 8)")
    p.add_argument("--grace-period", type=int, default=1, help="ASHA: epochs before a trial can be stopped")
    p.add_argument("--reduction-factor", type=float, default=3, help="ASHA reduction factor (default 3)")
    p.add_argument("--concurrency", type=int, default=2, help="trials running at once (default 2)")
    p.add_argument("--cpus-per-trial", type=float, default=1, help="CPUs per trial (default 1)")
    p.add_argument("--gpus-per-trial", type=float, default=0, help="GPUs per trial, fractions allowed (default 0)")
    p.add_argument("--metric", default="inception_score", help=f"metric to optimise: {', '.join(MODES)}")
    p.add_argument("--metrics", default=",".join(DEFAULT_METRICS), help="metrics reported every epoch")
    p.add_argument("--eval-samples", type=int, default=1000, help="generated samples scored per epoch")
    p.add_argument("--width", type=int, default=32, help="network width (DCGAN ngf/ndf; default 32 for CPU)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler and of every trial")
    p.add_argument("--mlflow-uri", default=None, help="MLflow tracking URI (default: sqlite:///./mlflow.db)")
    p.add_argument("--storage", default="ray_results", help="Ray results folder or URI (default ./ray_results)")
    p.add_argument("--name", default=None, help="search name: Ray folder and MLflow experiment")
    p.add_argument("--address", default=None, help="join an existing Ray cluster (e.g. 10.0.0.1:6379 or 'auto')")
    return p


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise UsageError(message)


def validate(args: argparse.Namespace) -> None:
    """Every check that can fail before a search starts; raises UsageError with one clear line."""
    _check(args.method is not None, f"missing METHOD; valid: {', '.join(method_names())}")
    _check(args.method in method_names(), f"unknown method {args.method!r}; valid: {', '.join(method_names())}")
    _check(args.dataset in dataset_names(), f"unknown dataset {args.dataset!r}; valid: {', '.join(dataset_names())}")
    for flag, value, low in [
        ("--trials", args.trials, 1), ("--epochs", args.epochs, 1), ("--concurrency", args.concurrency, 1),
        ("--grace-period", args.grace_period, 1), ("--eval-samples", args.eval_samples, 10),
        ("--width", args.width, 1), ("--batch-size", args.batch_size, 2),
    ]:  # fmt: skip
        _check(value >= low, f"{flag} must be an integer ≥ {low} (got {value})")
    _check(args.grace_period <= args.epochs, f"--grace-period ({args.grace_period}) must be ≤ --epochs ({args.epochs})")
    _check(args.reduction_factor > 1, f"--reduction-factor must be > 1 (got {args.reduction_factor})")
    _check(args.cpus_per_trial > 0, f"--cpus-per-trial must be > 0 (got {args.cpus_per_trial})")
    _check(args.gpus_per_trial >= 0, f"--gpus-per-trial must be ≥ 0 (got {args.gpus_per_trial})")
    metrics = [m for m in args.metrics.split(",") if m]
    unknown = [m for m in metrics if m not in metric_names()]
    _check(not unknown, f"unknown metric(s) {', '.join(unknown)} in --metrics; valid: {', '.join(metric_names())}")
    _check(args.metric in MODES, f"--metric {args.metric!r} cannot be optimised; valid: {', '.join(MODES)}")
    _check(args.metric in metrics, f"--metric {args.metric} must be one of the reported --metrics ({args.metrics})")
    method, info = get_method(args.method), dataset_info(args.dataset)
    _check(info.kind in method.kinds, f"method {args.method} cannot train on {info.kind} data ({args.dataset})")
    if args.mlflow_uri and args.mlflow_uri.startswith("sqlite:///"):
        parent = Path(args.mlflow_uri.removeprefix("sqlite:///")).expanduser().resolve().parent
        _check(parent.is_dir(), f"--mlflow-uri: folder {parent} does not exist; create it or pick another path")


def trial_config(args: argparse.Namespace) -> dict:
    """Fixed settings every trial gets, merged under the searched hyperparameters."""
    return {
        "method": args.method,
        "dataset": args.dataset,
        "data_root": str(Path(args.data_root).resolve()) if args.data_root else None,
        "epochs": args.epochs,
        "metrics": [m for m in args.metrics.split(",") if m],
        "eval_samples": args.eval_samples,
        "width": args.width,
        "batch_size": args.batch_size,
        "seed": args.seed,
    }


def storage_path(storage: str) -> str:
    return storage if "://" in storage else str(Path(storage).expanduser().resolve())


def run_search(args: argparse.Namespace) -> tune.ResultGrid:
    from tuner.ray_setup import init_ray

    mode = MODES[args.metric]
    name = args.name or f"{args.method}-{args.dataset}-{datetime.now():%Y%m%d-%H%M%S}"
    mlflow_uri = args.mlflow_uri or f"sqlite:///{Path('mlflow.db').resolve()}"

    # Train the scoring classifier once, before trials start, so they all load the same cached copy.
    from trainables.classifier import load_classifier

    if dataset_info(args.dataset).num_classes:
        _, accuracy = load_classifier(args.dataset, args.data_root)
        print(f"scoring classifier for {args.dataset}: held-out accuracy {accuracy:.2%}")

    init_ray(args.address, num_gpus=None)
    searcher = OptunaSearch(
        metric=args.metric,
        mode=mode,
        points_to_evaluate=[search_spaces.defaults(args.method)],
        sampler=optuna.samplers.TPESampler(seed=args.seed),
    )
    scheduler = ASHAScheduler(
        time_attr="epoch",
        max_t=args.epochs,
        grace_period=args.grace_period,
        reduction_factor=args.reduction_factor,
    )
    resources = {"cpu": args.cpus_per_trial, "gpu": args.gpus_per_trial}
    tuner = tune.Tuner(
        tune.with_resources(train_gan, resources),
        param_space={**trial_config(args), **search_spaces.space(args.method)},
        tune_config=tune.TuneConfig(
            metric=args.metric,
            mode=mode,
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=args.trials,
            max_concurrent_trials=args.concurrency,
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=storage_path(args.storage),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            failure_config=tune.FailureConfig(max_failures=2),
            callbacks=[
                MLflowTrialLogger(mlflow_uri, name, args.epochs, tags={"method": args.method, "dataset": args.dataset}),
                ProgressPrinter(args.metric, args.trials, args.epochs),
            ],
            verbose=0,
        ),
    )
    print(f"search {name}: {args.trials} trials of {args.method} on {args.dataset}, ≤{args.epochs} epochs each")
    print(f"  MLflow: {mlflow_uri}  (browse: mlflow ui --backend-store-uri {mlflow_uri})")
    results = tuner.fit()
    report_best(results, args.metric, mode, name, mlflow_uri, storage_path(args.storage))
    return results


class ProgressPrinter(tune.Callback):
    """One line per epoch result: which trial, how far, the metrics, how the search stands."""

    def __init__(self, metric: str, trials: int, epochs: int):
        self.metric, self.trials, self.epochs = metric, trials, epochs
        self.start = time.time()
        self.finished = 0

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        running = sum(t.status == "RUNNING" for t in trials)
        shown = "  ".join(f"{k} {result[k]:.4g}" for k in ("inception_score", "ddm", "loss_d", "loss_g") if k in result)
        print(
            f"[{time.time() - self.start:7.1f}s] {trial} epoch {result.get('epoch')}/{self.epochs}  {shown}"
            f"  | {running} running, {self.finished}/{self.trials} done",
            flush=True,
        )

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self.finished += 1

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self.finished += 1
        print(f"[{time.time() - self.start:7.1f}s] {trial} ERRORED (see its error.txt)", flush=True)


def report_best(results: tune.ResultGrid, metric: str, mode: str, name: str, mlflow_uri: str, storage: str) -> None:
    errors = sum(1 for r in results if r.error)
    try:
        best = results.get_best_result(metric, mode, scope="all")
    except RuntimeError:
        print(f"no trial reported {metric}; {errors} trial(s) errored. Results: {storage}/{name}")
        return
    df = best.metrics_dataframe
    row = df.loc[df[metric].idxmax() if mode == "max" else df[metric].idxmin()]
    searched = search_spaces.space(best.config["method"])
    print(f"\nbest trial ({metric}, {mode}) at epoch {int(row['epoch'])}:")
    for k in sorted(searched):
        print(f"  {k} = {best.config[k]}")
    for k in ("inception_score", "inception_score_std", "ddm", "loss_d", "loss_g"):
        if k in row:
            print(f"  {k}: {row[k]:.4f}")
    print(f"{len(results)} trials ({errors} errored). Ray results: {storage}/{name}")
    print(f"MLflow experiment {name!r} at {mlflow_uri}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        from trainables.registry import METHODS

        for name in method_names():
            m = METHODS[name]
            print(f"{name:14s} {m.description}  [{m.paper}]")
        return 0
    try:
        validate(args)
    except (UsageError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    run_search(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
