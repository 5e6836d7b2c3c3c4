"""The search configuration: the command line resolved once, every default applied, into one typed value that
every step of ``tuner.search.run_search`` reads (the raw arguments do not go back to ``tuner.cli``)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from trainables.registry import Method, get_method
from tuner import optuna_storage
from tuner.cli import MODES, apply_metric_defaults, storage_path, trial_config
from tuner.names import default_name
from tuner.pareto import parse_objectives

COORDINATOR_MEMORY = 64 * 1024**2  # bytes: what a multi-worker trial's coordinator reserves


@dataclass(frozen=True)
class SearchConfig:
    args: argparse.Namespace  # the validated arguments with every default applied (stored for --resume)
    method: Method
    name: str  # the search: Ray experiment folder, Optuna study, default MLflow experiment
    experiment: str  # the MLflow experiment
    metric: str  # the optimised metric, or the first objective of a multi-objective search
    mode: str  # "max" or "min", from the metric registry
    mlflow_uri: str
    storage: str  # the Ray storage folder or URI, absolute
    optuna_url: str
    trial: dict  # fixed settings every trial gets, under the searched hyperparameters
    resources: dict  # per trial: {"cpu": …, "gpu": …}
    resuming: bool

    @property
    def space(self) -> dict:
        return self.method.space()

    @property
    def first_point(self) -> dict:
        """The authors' defaults: the first configuration evaluated."""
        return self.method.defaults()

    @property
    def experiment_dir(self) -> str:
        return f"{self.storage.rstrip('/')}/{self.name}"

    @property
    def trials(self) -> int:
        return self.args.trials

    @property
    def epochs(self) -> int:
        return self.args.epochs


def resolve(args: argparse.Namespace) -> SearchConfig:
    """Checked arguments → the complete configuration, every default applied here once. The name and MLflow
    URI are written back into ``args`` resolved, so a ``--resume`` from another folder finds the same search,
    store and study."""
    apply_metric_defaults(args)  # idempotent: a no-op after tuner.cli.validate, which needs them to check
    method = get_method(args.method)
    args.name = args.name or default_name(method.name, args.dataset)
    args.mlflow_uri = args.mlflow_uri or f"sqlite:///{Path('mlflow.db').resolve()}"
    storage = storage_path(args.storage)
    return SearchConfig(
        args=args,
        method=method,
        name=args.name,
        experiment=args.experiment or args.name,
        metric=parse_objectives(args.metric)[0],  # the first objective (of several for a Pareto front)
        mode=MODES[parse_objectives(args.metric)[0]],
        mlflow_uri=args.mlflow_uri,
        storage=storage,
        optuna_url=args.optuna_storage or optuna_storage.default_storage_url(args.mlflow_uri, storage),
        trial=trial_config(args),
        # Several workers: the trial itself only coordinates (Ray refuses an empty request: it reserves a little
        # memory); its Ray Train workers hold the CPUs and GPUs, in a placement group of their own.
        resources={"cpu": args.cpus_per_trial, "gpu": args.gpus_per_trial}
        if getattr(args, "workers_per_trial", 1) <= 1
        else {"cpu": 0, "gpu": 0, "memory": COORDINATOR_MEMORY},
        resuming=bool(getattr(args, "resume", False)),
    )
