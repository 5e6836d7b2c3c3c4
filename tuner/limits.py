"""Bounds and environment checks of a search's arguments, run before anything is started or written.

Each returns one line naming the problem and the fix (raised as ``UsageError`` by ``tuner.cli``): counts
too large to finish, seeds NumPy cannot take, tracking URIs MLflow would misread, folders that cannot be
written, weights that cannot be loaded, and resources the Ray cluster does not have (Tune would wait for
them forever).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

# Upper bounds on counts: far beyond any sensible search, low enough that a typo fails here instead of
# allocating terabytes or training for years.
MAX_COUNTS = {
    "trials": 100_000, "epochs": 100_000, "concurrency": 10_000, "width": 4096, "batch_size": 65_536,
    "g_steps": 1_000, "eval_samples": 1_000_000, "final_seeds": 1_000, "final_samples": 1_000_000,
    "sample_every": 100_000, "grace_period": 100_000,
}  # fmt: skip
MAX_METRIC_SAMPLES = 1_000_000
MAX_SEED = 2**32 - 1  # NumPy's seed range
SMALLEST_TRAIN_SET = 1_000  # every dataset has more training samples: below this the size need not be read
TRACKING_SCHEMES = ("sqlite:///", "http://", "https://", "postgresql", "mysql", "mssql")


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def count_problem(args: argparse.Namespace) -> str | None:
    for key, high in MAX_COUNTS.items():
        value = getattr(args, key, None)
        if value is not None and value > high:
            return f"{_flag(key)} {value} is too large (at most {high:,})"
    if not 0 <= args.seed <= MAX_SEED:
        return f"--seed must be an integer in [0, {MAX_SEED}] (got {args.seed})"
    return None


def metric_samples_problem(samples: dict[str, int]) -> str | None:
    for metric, n in samples.items():
        if n > MAX_METRIC_SAMPLES:
            return f"--metric-samples: {metric}={n} is too large (at most {MAX_METRIC_SAMPLES:,})"
    return None


def batch_problem(args: argparse.Namespace) -> str | None:
    """A batch larger than the training set would train nothing (the loader drops the partial batch)."""
    if args.batch_size <= SMALLEST_TRAIN_SET:  # (and --train-limit ≥ --batch-size is checked by the CLI)
        return None
    from trainables.data import load_dataset

    size = len(load_dataset(args.dataset, args.data_root).train_x)
    if args.train_limit is not None:
        size = min(size, args.train_limit)
    if args.batch_size > size:
        return f"--batch-size {args.batch_size} is larger than the {size:,} training samples of {args.dataset}"
    return None


def tracking_uri_problem(uri: str | None) -> str | None:
    if uri is None or uri.startswith(TRACKING_SCHEMES):
        return None
    return (
        f"--mlflow-uri {uri!r}: use sqlite:///PATH/mlflow.db, http(s)://HOST:PORT of an MLflow server, "
        "or a postgresql/mysql/mssql database URL"
    )


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def writable_problem(flag: str, path: Path) -> str | None:
    """A folder (or a file in it) the search must write: its nearest existing part must be a writable folder,
    or the file itself, writable in a writable folder. Checked with ``os.access``: nothing is written here."""
    path = path.expanduser().resolve()
    target = _nearest_existing(path)
    if target != path and not target.is_dir():
        return f"{flag}: {target} is a file, not a folder; pick another path"
    folder = target if target.is_dir() else target.parent
    if os.access(folder, os.W_OK) and os.access(target, os.W_OK):
        return None
    return f"{flag}: {target} is not writable; pick a folder you can write"


def storage_problems(args: argparse.Namespace) -> str | None:
    if "://" not in args.storage and (problem := writable_problem("--storage", Path(args.storage))):
        return problem
    uri = args.mlflow_uri
    if uri and uri.startswith("sqlite:///"):
        return writable_problem("--mlflow-uri", Path(uri.removeprefix("sqlite:///")))
    if uri is None:
        return writable_problem("--mlflow-uri (default ./mlflow.db)", Path("mlflow.db"))
    return None


def inception_weights_problem(path: Path) -> str | None:
    """The weights must load as Inception-v3 tensors here, not in every trial after the search started."""
    from trainables.features.inception import InceptionWeightsError, check_weights

    try:
        check_weights(path)
    except InceptionWeightsError as e:
        return str(e)
    return None


def resources_problem(cpus: float, gpus: float, available: dict[str, float], joined: bool) -> str | None:
    """Tune waits forever for a trial no node can hold; refuse it instead."""
    where = "the Ray cluster" if joined else "this machine"
    for flag, want, key in (("--cpus-per-trial", cpus, "CPU"), ("--gpus-per-trial", gpus, "GPU")):
        have = float(available.get(key, 0))
        if want > have:
            hint = " (add nodes first if the cluster scales up)" if joined else ""
            return f"{flag} {want:g} is more than {where} has ({have:g} {key}s){hint}; lower it"
    return None


def local_resources_problem(args: argparse.Namespace) -> str | None:
    """Without --address the private Ray instance gets this machine's CPUs and GPUs: checked before it starts."""
    if args.address:
        return None
    import torch

    machine = {"CPU": float(os.cpu_count() or 1), "GPU": float(torch.cuda.device_count())}
    return resources_problem(args.cpus_per_trial, args.gpus_per_trial, machine, joined=False)


def cluster_problem(args: argparse.Namespace) -> str | None:
    """Per-trial resources against the cluster joined with --address (after ``init_ray``)."""
    if not args.address:
        return None
    import ray

    return resources_problem(args.cpus_per_trial, args.gpus_per_trial, ray.cluster_resources(), joined=True)
