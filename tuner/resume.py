"""``--resume``: continue a search whose driver died (killed, pre-empted, out of memory).

At start a search writes its arguments to ``search_args.json`` in its Ray experiment folder. ``--resume``
reads them back, refuses flags that would change what is being searched (one line, exit 2), keeps the
runtime ones (where to run, how much of a node a trial takes), and restores the Tune experiment:
finished trials are kept as they are, interrupted and errored ones continue from their last checkpoint,
the searcher (Optuna TPE, persisted by Tune and in its RDB study) continues where it stopped, and the
MLflow logger finds each trial's run again by its ``ray_trial_id`` tag, so nothing is logged twice.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ray import tune

ARGS_FILE = "search_args.json"
# Flags that say how and where to run, not what to search: a resumed search may change them.
RUNTIME_KEYS = {"resume", "address", "cpus_per_trial", "gpus_per_trial", "list", "command_line"}
# Recorded for the user but resolved again on resume (paths, and the search's identity).
LOCATION_KEYS = {"storage", "name"}


class ResumeError(ValueError):
    """Bad ``--resume`` usage; one user-facing line."""


def experiment_path(storage: str, name: str) -> str:
    return f"{storage.rstrip('/')}/{name}"


def _fs(path: str):
    """(pyarrow filesystem, path inside it) for a local path or a cloud URI."""
    import pyarrow.fs

    if "://" not in path:
        return pyarrow.fs.LocalFileSystem(), str(Path(path).expanduser().resolve())
    return pyarrow.fs.FileSystem.from_uri(path)


def save_args(args: argparse.Namespace, path: str) -> None:
    fs, root = _fs(path)
    fs.create_dir(root, recursive=True)
    data = {k: v for k, v in vars(args).items() if k not in ("resume", "list")}
    with fs.open_output_stream(f"{root}/{ARGS_FILE}") as f:
        f.write(json.dumps(data, indent=1, sort_keys=True, default=str).encode())


def load_args(path: str) -> dict | None:
    fs, root = _fs(path)
    import pyarrow.fs

    if fs.get_file_info(f"{root}/{ARGS_FILE}").type != pyarrow.fs.FileType.File:
        return None
    with fs.open_input_stream(f"{root}/{ARGS_FILE}") as f:
        return json.loads(f.read().decode())


def apply_stored_args(args: argparse.Namespace, defaults: argparse.Namespace, storage: str) -> None:
    """Replace ``args`` (a ``--resume`` command line) by the stored search's arguments plus its runtime flags.
    ``defaults`` are the parser's defaults: a flag still at its default was not given and is not a conflict."""
    if not args.name:
        raise ResumeError("--resume needs --name NAME: the search to continue (its folder under --storage)")
    path = experiment_path(storage, args.name)
    stored = load_args(path)
    if stored is None:
        raise ResumeError(
            f"--resume: no search {args.name!r} under {storage} ({ARGS_FILE} missing); check --name/--storage"
        )
    if args.method != stored.get("method"):
        raise ResumeError(
            f"--resume: search {args.name!r} is a {stored.get('method')} search, not {args.method}; "
            f"resume it with `python -m tuner.search {stored.get('method')} --name {args.name} --resume` "
            "or start a new search without --resume"
        )
    for key, value in sorted(vars(args).items()):
        if key in RUNTIME_KEYS | LOCATION_KEYS or key not in stored:
            continue
        given = value != getattr(defaults, key, None)
        if given and value != stored[key]:
            flag = "--" + key.replace("_", "-")
            raise ResumeError(
                f"--resume: {flag} {value} conflicts with the stored search ({flag} {stored[key]}); "
                f"drop {flag} to continue the same search, or start a new one without --resume"
            )
    for key, value in stored.items():
        if key not in RUNTIME_KEYS | LOCATION_KEYS:
            setattr(args, key, value)
    if not tune.Tuner.can_restore(path):
        raise ResumeError(f"--resume: {path} holds no Ray Tune experiment state to continue; start a new search")


def snapshot_often(seconds: float = 2.0) -> None:
    """Tune saves its experiment state (trial list, statuses, searcher) at most every 10 s by default; a
    driver killed in between forgets trials started since. Every ``seconds`` s instead: a small file."""
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", f"{seconds:g}")


def restore(path: str, trainable) -> tune.Tuner:
    """The stored experiment with its trials: finished ones kept, interrupted and errored ones resumed from
    their last checkpoint (``resume_errored``: a trial whose worker died keeps its epochs)."""
    return tune.Tuner.restore(path, trainable=trainable, resume_unfinished=True, resume_errored=True)


LOST_STATE = "lost: started just before the driver died, unknown to the resumed search, which ran a new trial"


def close_lost_runs(client, experiment: str, search_name: str, path: str) -> int:
    """Close the MLflow runs of trials the restored experiment does not know.

    Tune snapshots its trial list every few seconds (``snapshot_often``); a trial started after the last
    snapshot before the driver died is unknown to the restored search, which starts a new trial in its
    place (its few seconds of work are lost). Its MLflow run would otherwise stay RUNNING forever: it is
    ended as KILLED, with an ``end_state`` saying why.
    """
    from mlflow.entities import RunTag
    from ray.tune import ExperimentAnalysis

    from tuner.mlflow_tags import ROLE_TAG, SEARCH_TAG, TRIAL_TAG

    known = {t.trial_id for t in ExperimentAnalysis(path).trials}
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return 0
    running = f"tags.{SEARCH_TAG} = '{search_name}' and tags.{ROLE_TAG} = 'trial' and attributes.status = 'RUNNING'"
    lost = [r for r in client.search_runs([exp.experiment_id], running) if r.data.tags.get(TRIAL_TAG) not in known]
    for run in lost:
        client.log_batch(run.info.run_id, tags=[RunTag("end_state", LOST_STATE)])
        client.set_terminated(run.info.run_id, "KILLED")
    return len(lost)
