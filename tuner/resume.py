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
RUNTIME_KEYS = {"resume", "address", "cpus_per_trial", "gpus_per_trial", "list", "command_line", "trust_storage"}
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
    if not getattr(args, "trust_storage", False) and (problem := untrusted_storage_problem(storage, path)):
        raise ResumeError(problem)
    if not tune.Tuner.can_restore(path):
        raise ResumeError(f"--resume: {path} holds no Ray Tune experiment state to continue; start a new search")


def _others_can_write(st: os.stat_result) -> bool:
    """World-writable, or group-writable by a group that is not the user's private one (umask 002 setups)."""
    import grp
    import pwd

    if st.st_mode & 0o002:
        return True
    if not st.st_mode & 0o020:
        return False
    try:
        private = st.st_gid == os.getgid() and grp.getgrgid(st.st_gid).gr_name == pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        private = False
    return not private


def untrusted_storage_problem(storage: str, path: str) -> str | None:
    """Resuming unpickles Tune's state (``tuner.pkl``, trial states) from ``path``: whoever can write there runs
    code in this driver. Refused when the storage folder, the search's folder or a file of its state is owned by
    someone else or writable by group or others. Cloud URIs cannot be checked here (see the README)."""
    if "://" in path:
        return None
    uid = os.getuid()
    folder = Path(path)
    for p in [Path(storage), folder, *folder.glob("*.pkl"), *folder.glob("experiment_state-*.json")]:
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        if st.st_uid != uid or _others_can_write(st):
            who = "owned by another user" if st.st_uid != uid else "writable by group or others"
            return (
                f"--resume: {p} is {who}, and resuming loads pickled state from it (anyone who can write there runs "
                "code here); make it yours and private (chmod go-w) or add --trust-storage"
            )
    return None


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

    from tuner.mlflow_filters import all_of, tag_equals
    from tuner.mlflow_tags import ROLE_TAG, SEARCH_TAG, TRIAL_TAG

    known = {t.trial_id for t in ExperimentAnalysis(path).trials}
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return 0
    running = all_of(
        tag_equals(SEARCH_TAG, search_name), tag_equals(ROLE_TAG, "trial"), "attributes.status = 'RUNNING'"
    )
    lost = [r for r in client.search_runs([exp.experiment_id], running) if r.data.tags.get(TRIAL_TAG) not in known]
    for run in lost:
        client.log_batch(run.info.run_id, tags=[RunTag("end_state", LOST_STATE)])
        client.set_terminated(run.info.run_id, "KILLED")
    return len(lost)
