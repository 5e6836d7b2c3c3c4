"""Command line entry point: ``python -m tuner.search METHOD [options]``.

CLI (``tuner.cli``: parsed and validated before anything starts) → search space → Ray Tune
(OptunaSearch/TPE + ASHA) → trainable → MLflow; then the best trial, optional final seeds, report hints.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from datetime import datetime
from pathlib import Path

import optuna
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

import search_spaces
from trainables.data import DataError
from trainables.evaluate import needs_extractor
from trainables.registry import MethodError, get_method, method_names, module_methods
from trainables.trainable import train_gan
from tuner import optuna_storage
from tuner.cli import (
    MODES,
    UsageError,
    apply_metric_defaults,
    build_parser,
    storage_path,
    trial_config,
    validate,
)
from tuner.finals import run_finals
from tuner.mlflow_logging import (
    MLflowTrialLogger,
    code_version,
    describe_space,
    end_search_run,
    get_or_create_experiment,
    make_client,
    start_search_run,
)
from tuner.mlflow_resilient import report_kept
from tuner.ray_setup import RayJoinError


def run_search(args: argparse.Namespace) -> tune.ResultGrid:
    from tuner.ray_setup import init_ray

    init_ray(args.address, num_gpus=None)  # first: a cluster that refuses us (e.g. wrong token) leaves nothing behind
    apply_metric_defaults(args)
    mode = MODES[args.metric]
    name = args.name or f"{get_method(args.method).name}-{args.dataset}-{datetime.now():%Y%m%d-%H%M%S}"
    mlflow_uri = args.mlflow_uri or f"sqlite:///{Path('mlflow.db').resolve()}"
    # Stored resolved, so a --resume from another folder finds the same search, store and study.
    args.name, args.mlflow_uri = name, mlflow_uri
    from tuner import resume

    experiment_dir = resume.experiment_path(storage_path(args.storage), name)
    resume.snapshot_often()
    if not getattr(args, "resume", False):
        resume.save_args(args, experiment_dir)

    # Train the scoring classifier once, before trials start, so they all load the same cached copy.
    from trainables.classifier import load_classifier

    if args.features == "classifier" and needs_extractor(args.metrics):
        _, accuracy = load_classifier(args.dataset, args.data_root)
        print(f"scoring classifier for {args.dataset}: held-out accuracy {accuracy:.2%}")

    optuna_url = args.optuna_storage or optuna_storage.default_storage_url(mlflow_uri, storage_path(args.storage))
    searcher = OptunaSearch(
        metric=args.metric,
        mode=mode,
        points_to_evaluate=[search_spaces.defaults(args.method)],
        sampler=optuna.samplers.TPESampler(seed=args.seed),
        storage=optuna_storage.open_storage(optuna_url),
        study_name=name,
    )
    scheduler = ASHAScheduler(
        time_attr="epoch",
        max_t=args.epochs,
        grace_period=args.grace_period,
        reduction_factor=args.reduction_factor,
    )
    resources = {"cpu": args.cpus_per_trial, "gpu": args.gpus_per_trial}
    # The parent MLflow run: everything needed to reproduce the search; every trial becomes its child.
    experiment = args.experiment or name
    client = make_client(mlflow_uri)
    search_tags = {"method": args.method, "dataset": args.dataset, "search_name": name}
    parent_run_id = start_search_run(
        client,
        get_or_create_experiment(client, experiment),
        name,
        params={
            **{k: v for k, v in vars(args).items() if k not in ("list", "name")},
            "scheduler": "ASHA", "scheduler.time_attr": "epoch", "scheduler.max_t": args.epochs,
            "sampler": "TPE", "sampler.seed": args.seed, "optuna_storage": optuna_url, "optuna_study": name,
            "mode": mode, "code_version": code_version(),
            "command_line": getattr(args, "command_line", None) or shlex.join(sys.argv),
            **{f"space.{k}": v for k, v in describe_space(search_spaces.space(args.method)).items()},
        },
        tags={**search_tags, "ray_storage": f"{storage_path(args.storage)}/{name}"},
    )  # fmt: skip
    # --resume: the stored experiment (finished trials kept, the rest continue), never a fresh Tuner over it.
    resuming = getattr(args, "resume", False)
    tuner = resume.restore(experiment_dir, tune.with_resources(train_gan, resources)) if resuming else None
    if resuming and (lost := resume.close_lost_runs(client, experiment, name, experiment_dir)):
        print(f"  {lost} trial(s) started just before the driver died were not recorded; new ones replace them")
    tuner = tuner or tune.Tuner(
        tune.with_resources(train_gan, resources),
        param_space={**trial_config(args), **search_spaces.space(args.method)},
        tune_config=tune.TuneConfig(
            metric=args.metric,
            mode=mode,
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=args.trials,
            max_concurrent_trials=args.concurrency,
            # A fresh actor per trial re-imports torch/ray and reloads data (~4 s); a reused one does not.
            # Trials share nothing through it: each seeds every RNG and builds its own networks.
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=storage_path(args.storage),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            failure_config=tune.FailureConfig(max_failures=2),
            callbacks=[
                MLflowTrialLogger(
                    mlflow_uri,
                    experiment,
                    args.epochs,
                    tags={**search_tags, "role": "trial"},
                    parent_run_id=parent_run_id,
                    sample_every=args.sample_every,
                ),  # fmt: skip
                ProgressPrinter(args.metric, args.trials, args.epochs),
            ],
            verbose=0,
        ),
    )
    print(f"search {name}: {args.trials} trials of {args.method} on {args.dataset}, ≤{args.epochs} epochs each")
    print(f"  MLflow: {mlflow_uri}  (browse: mlflow ui --backend-store-uri {mlflow_uri})")
    print(f"  Optuna study {name!r}: {optuna_url}")
    print(f"  if the driver dies: python -m tuner.search {args.method} --name {name} --storage {args.storage} --resume")
    status = "FAILED"
    try:
        results = tuner.fit()
        report_best(results, args.metric, mode, name, mlflow_uri, storage_path(args.storage), experiment)
        if args.final_seeds:
            run_finals(
                args, results, mode=mode, search_name=name, experiment=experiment, mlflow_uri=mlflow_uri,
                parent_run_id=parent_run_id, storage=storage_path(args.storage),
            )  # fmt: skip
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        end_search_run(client, parent_run_id, status)
        report_kept(client)
    print("\nnext: a paper table and figures from this search (add more --experiment/--search to compare):")
    print(f"  python -m reports.table --mlflow-uri {mlflow_uri} --experiment {shlex.quote(experiment)} --out tables")
    print(f"  python -m reports.plots --mlflow-uri {mlflow_uri} --experiment {shlex.quote(experiment)} --out figures")
    return results


class ProgressPrinter(tune.Callback):
    """One line per epoch result: which trial, how far, the metrics, how the search stands."""

    def __init__(self, metric: str, trials: int, epochs: int):
        self.metric, self.trials, self.epochs = metric, trials, epochs
        self.start = time.time()
        self.finished = 0

    def setup(self, **info) -> None:  # also after --resume, which restores this object from the stored run
        self.start = time.time()

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        running = sum(t.status == "RUNNING" for t in trials)
        keys = dict.fromkeys((self.metric, "inception_score", "ddm", "loss_d", "loss_g"))
        shown = "  ".join(f"{k} {result[k]:.4g}" for k in keys if isinstance(result.get(k), int | float))
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


def report_best(
    results: tune.ResultGrid, metric: str, mode: str, name: str, mlflow_uri: str, storage: str, experiment: str = ""
) -> None:
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
    for k in [*sorted(k for k in row.index if k in MODES or k.endswith("_std")), "loss_d", "loss_g"]:
        if k in row:
            print(f"  {k}: {row[k]:.4f}")
    print(f"{len(results)} trials ({errors} errored). Ray results: {storage}/{name}")
    print(f"MLflow experiment {experiment or name!r} at {mlflow_uri}")


def list_methods(module: str | None = None) -> int:
    """One line per method: the name to search it by, its description and paper."""
    try:
        methods = {f"{module}:{attr}": m for attr, m in module_methods(module).items()} if module else None
    except MethodError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if module and not methods:
        print(
            f'error: module {module} defines no trainables.registry.Method; see README "Your own GAN"', file=sys.stderr
        )
        return 2
    for name, m in (methods or {n: get_method(n) for n in method_names()}).items():
        print(f"{name:14s} {m.description}  [{m.paper}]")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        return list_methods(None if args.list is True else args.list)
    args.command_line = shlex.join(["python", "-m", "tuner.search", *(sys.argv[1:] if argv is None else argv)])
    try:
        validate(args)
    except (UsageError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        run_search(args)
    except RayJoinError as e:  # the head answered the probe but refused us (e.g. a wrong auth token)
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
