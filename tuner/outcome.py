"""How a search ended, when it did not simply finish: interrupted (Ctrl-C) or every trial failed.

Tune catches the first SIGINT itself, saves its state and returns from ``fit`` as if the search were done;
``check_interrupted`` tells the two apart by the trials still unfinished, so an interrupted search is
reported as one (exit status 130, parent run KILLED, the open trial runs closed, the ``--resume`` command
printed) instead of a "best trial" of a search that did not run.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from mlflow.entities import RunTag

from tuner.mlflow_filters import all_of, tag_equals

EXIT_INTERRUPTED = 130  # what a shell reports for a program ended by SIGINT
INTERRUPTED_STATE = "interrupted: the search was stopped (Ctrl-C); --resume continues it"
FINISHED_STATUSES = {"TERMINATED", "ERROR"}


class SearchInterrupted(Exception):
    """The search was stopped before its trials finished."""


class SearchFailed(Exception):
    """The search ran but produced nothing: the message is one user-facing line."""


def resume_command(args: argparse.Namespace) -> str:
    return shlex.join(["python", "-m", "tuner.search", args.method, "--name", args.name, "--storage", args.storage,
                       "--resume"])  # fmt: skip


def interrupted_message(args: argparse.Namespace, reason: BaseException) -> str:
    if not getattr(args, "name", None) or not getattr(args, "method", None):
        return "search interrupted before it started; nothing to resume"
    done = f" ({reason})" if str(reason) else ""
    return f"search {args.name} interrupted{done}; continue it with: {resume_command(args)}"


def check_interrupted(results, trials_asked: int) -> None:
    """``SearchInterrupted`` when ``fit`` returned with trials unfinished or never started."""
    trials = getattr(getattr(results, "_experiment_analysis", None), "trials", None) or []
    unfinished = [t for t in trials if t.status not in FINISHED_STATUSES]
    if unfinished or len(trials) < trials_asked:
        done = len(trials) - len(unfinished)
        raise SearchInterrupted(f"{done} of {trials_asked} trials finished")


def check_any_succeeded(results, storage: str, name: str) -> None:
    """``SearchFailed`` naming the first error file when every trial errored."""
    outcomes = list(results)
    if not outcomes or any(r.error is None for r in outcomes):
        return
    first = next((Path(r.path) / "error.txt" for r in outcomes if r.path), Path(storage, name))
    raise SearchFailed(f"all {len(outcomes)} trials failed; the first error is in {first}")


def close_open_trial_runs(client, experiment: str, search_name: str) -> int:
    """End the still-RUNNING MLflow runs of this search's trials as KILLED; ``--resume`` reopens them."""
    from tuner.mlflow_tags import ROLE_TAG, SEARCH_TAG

    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return 0
    running = all_of(
        tag_equals(SEARCH_TAG, search_name), tag_equals(ROLE_TAG, "trial"), "attributes.status = 'RUNNING'"
    )
    runs = client.search_runs([exp.experiment_id], running)
    for run in runs:
        client.log_batch(run.info.run_id, tags=[RunTag("end_state", INTERRUPTED_STATE)])
        client.set_terminated(run.info.run_id, "KILLED")
    return len(runs)
