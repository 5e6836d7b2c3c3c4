"""Logs a search to MLflow from the driver: one parent run per search, one child run per Ray Tune trial.

Logging from the driver (a Tune ``Callback``) rather than from the trials means one process writes
the tracking store (safe for sqlite), nothing is double-logged when a trial restarts from a
checkpoint (each metric is logged once per epoch, step = epoch), and a resumed search finds its
existing runs again by the ``ray_trial_id`` / ``search_name`` tags instead of creating duplicates.

Every MLflow call goes through ``self.client`` (made by ``make_client``), so a client that retries or
spools while a tracking server is down can replace the plain one in one place.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import tempfile
import time
from pathlib import Path

import torch
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from ray import tune

from trainables.trainable import SAMPLES_FILE, load_state
from tuner.mlflow_filters import all_of, tag_equals
from tuner.mlflow_tags import END_STATE_TAG, PARENT_TAG, ROLE_TAG, SEARCH_TAG, TRIAL_TAG

WEIGHTS_FILE = "generator.pt"
WEIGHTS_DIR = "model"
SAMPLES_DIR = "samples"
# Keys Ray adds to every result; they are bookkeeping, not experiment metrics (time_total_s is kept:
# the reports sum it into trial-hours).
RAY_KEYS = {
    "time_this_iter_s", "timestamp", "training_iteration", "pid", "date", "hostname",
    "node_ip", "time_since_restore", "iterations_since_restore", "done", "checkpoint_dir_name",
    "should_checkpoint",
}  # fmt: skip
MAX_PARAM_CHARS = 6000  # MLflow's limit on a param value


def make_client(tracking_uri: str) -> MlflowClient:
    """Retries, and keeps results on local disk while the tracking server is down (tuner.mlflow_resilient)."""
    from tuner.mlflow_resilient import ResilientMlflowClient

    return ResilientMlflowClient(tracking_uri)


def flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def get_or_create_experiment(client: MlflowClient, name: str) -> str:
    exp = client.get_experiment_by_name(name)
    if exp:
        return exp.experiment_id
    try:
        return client.create_experiment(name)
    except MlflowException:  # another search sharing --experiment created it in between
        if exp := client.get_experiment_by_name(name):
            return exp.experiment_id
        raise


def log_params(client: MlflowClient, run_id: str, params: dict) -> None:
    items = [Param(k, str(v)[:MAX_PARAM_CHARS]) for k, v in sorted(flatten(params).items())]
    for i in range(0, len(items), 100):  # MLflow takes at most 100 params per batch
        client.log_batch(run_id, params=items[i : i + 100])


def code_version() -> str:
    """``git describe`` of the checkout this code runs from (``-dirty`` when it has local edits), else the
    installed package version: enough to find the code that produced a number."""
    root = Path(__file__).resolve().parent.parent
    try:
        if not (root / ".git").exists():  # an installed copy: a surrounding repository is not this code's
            raise FileNotFoundError(root / ".git")
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=root, capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
        return f"git:{out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        try:
            return f"gan-tuner {importlib.metadata.version('gan-tuner')}"
        except importlib.metadata.PackageNotFoundError:
            return "unknown"


def describe_space(space: dict) -> dict[str, str]:
    """Ray Tune domains as readable strings, e.g. ``lr: loguniform[1e-05, 0.001]``, ``n_critic: randint[1, 6)``."""
    out = {}
    for key, dom in flatten(space).items():
        if hasattr(dom, "categories"):
            out[key] = f"choice{list(dom.categories)}"
        elif hasattr(dom, "lower") and hasattr(dom, "get_sampler"):
            sampler = dom.get_sampler()
            q = getattr(sampler, "q", None)
            kind = type(getattr(sampler, "sampler", sampler)).__name__.strip("_").lower()
            if type(dom).__name__ == "Integer":  # tune.randint / lograndint exclude their upper bound
                kind = "lograndint" if kind == "loguniform" else "randint"
                out[key] = f"{kind}[{dom.lower}, {dom.upper})"
            else:
                out[key] = f"{kind}[{dom.lower}, {dom.upper}]"
            out[key] += f" q={q}" if q else ""
        else:
            out[key] = repr(dom)
    return out


def start_search_run(
    client: MlflowClient, experiment_id: str, search_name: str, params: dict, tags: dict | None = None
) -> str:
    """The parent run of a search: found again by its ``search_name`` tag (a resumed search keeps its
    parent), otherwise created with ``params`` logged once."""
    found = client.search_runs(
        [experiment_id], all_of(tag_equals(SEARCH_TAG, search_name), tag_equals(ROLE_TAG, "search")), max_results=1
    )
    if found:
        run_id = found[0].info.run_id
        if found[0].info.status != "RUNNING":
            client.update_run(run_id, status="RUNNING")
        return run_id
    run = client.create_run(
        experiment_id,
        run_name=search_name,
        tags={SEARCH_TAG: search_name, ROLE_TAG: "search", **{k: str(v) for k, v in (tags or {}).items()}},
    )
    log_params(client, run.info.run_id, params)
    return run.info.run_id


def end_search_run(client: MlflowClient, run_id: str, status: str = "FINISHED") -> None:
    client.set_terminated(run_id, status)


def write_generator_weights(
    checkpoint_dir: str | os.PathLike, out_path: str | os.PathLike, config: dict | None = None
) -> None:
    """The generator and latent prior of a full checkpoint: what sampling needs, without critic/optimisers.
    (The prior is part of the generator for Deli-Fisher: its learnt μ, σ shape the inputs.) With the trial's
    config the file is self-contained: ``python -m trainables.sample FILE`` rebuilds and samples from it."""
    from trainables.sample import generator_file_contents

    state = load_state(checkpoint_dir)
    torch.save(generator_file_contents(state, config), out_path)


class MLflowTrialLogger(tune.Callback):
    def __init__(
        self,
        tracking_uri: str,
        experiment: str,
        epochs: int,
        tags: dict | None = None,
        parent_run_id: str | None = None,
        sample_every: int = 1,
        tag_keys: tuple[str, ...] = (),
        run_name_format: str | None = None,
    ):
        """``tags`` go on every child run; ``tag_keys`` are config keys also copied into tags (e.g. the seed
        of a final run); ``run_name_format`` is formatted with the trial config (default: Ray's trial name).
        Sample grids are logged every ``sample_every`` epochs and at each trial's last epoch."""
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.epochs = epochs
        self.tags = tags or {}
        self.parent_run_id = parent_run_id
        self.sample_every = max(1, int(sample_every))
        self.tag_keys = tuple(tag_keys)
        self.run_name_format = run_name_format
        self._runs: dict[str, str] = {}  # trial_id → run_id
        self._last_epoch: dict[str, int] = {}
        self._grid_epochs: dict[str, set[int]] = {}

    def setup(self, **info) -> None:
        self.client = make_client(self.tracking_uri)
        self.experiment_id = get_or_create_experiment(self.client, self.experiment)

    # -- runs -------------------------------------------------------------------------------------

    def _child_tags(self, trial) -> dict[str, str]:
        tags = {TRIAL_TAG: trial.trial_id, **{k: str(v) for k, v in self.tags.items()}}
        if self.parent_run_id:
            tags[PARENT_TAG] = self.parent_run_id
        tags.update({k: str(trial.config[k]) for k in self.tag_keys if k in trial.config})
        return tags

    def run_id(self, trial) -> str:
        tid = trial.trial_id
        if tid in self._runs:
            return self._runs[tid]
        found = self.client.search_runs([self.experiment_id], tag_equals(TRIAL_TAG, tid), max_results=1)
        if found:
            run_id = found[0].info.run_id
            history = self.client.get_metric_history(run_id, "epoch")
            self._last_epoch[tid] = int(max((m.value for m in history), default=0))
            if found[0].info.status != "RUNNING":
                self.client.update_run(run_id, status="RUNNING")
        else:
            name = self.run_name_format.format(**trial.config) if self.run_name_format else str(trial)
            run = self.client.create_run(self.experiment_id, run_name=name, tags=self._child_tags(trial))
            run_id = run.info.run_id
            log_params(self.client, run_id, trial.config)
            self._last_epoch[tid] = 0
        self._runs[tid] = run_id
        return run_id

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        self.run_id(trial)

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        run_id = self.run_id(trial)
        epoch = int(result.get("epoch", result.get("training_iteration", 0)))
        if epoch <= self._last_epoch.get(trial.trial_id, 0):
            return  # already logged before a restart
        ts = int(time.time() * 1000)
        metrics = [
            Metric(k, float(v), ts, epoch)
            for k, v in flatten(result).items()
            if k not in RAY_KEYS
            and not k.startswith("config.")
            and isinstance(v, int | float)
            and not isinstance(v, bool)
        ]
        self.client.log_batch(run_id, metrics=metrics)
        self._last_epoch[trial.trial_id] = epoch

    # -- artifacts --------------------------------------------------------------------------------

    def _log_grid(self, trial, checkpoint_dir: str, epoch: int) -> None:
        grid = os.path.join(checkpoint_dir, SAMPLES_FILE)
        done = self._grid_epochs.setdefault(trial.trial_id, set())
        if epoch not in done and os.path.exists(grid):
            self.client.log_artifact(self.run_id(trial), grid, artifact_path=f"{SAMPLES_DIR}/epoch_{epoch:04d}")
            done.add(epoch)

    def on_checkpoint(self, iteration, trials, trial, checkpoint, **info) -> None:
        epoch = int((trial.last_result or {}).get("epoch", 0))
        if epoch % self.sample_every:
            return  # the trial's last grid is logged when it ends, whatever its epoch
        try:
            with checkpoint.as_directory() as d:
                self._log_grid(trial, d, epoch)
        except Exception as e:  # an artifact must never stop the search
            print(f"warning: sample grid of {trial} at epoch {epoch} not logged to MLflow: {e}", flush=True)

    def _log_final_artifacts(self, trial) -> None:
        """Last sample grid and the generator weights from the trial's last checkpoint."""
        checkpoint = trial.checkpoint
        if checkpoint is None:
            return
        try:
            with checkpoint.as_directory() as d, tempfile.TemporaryDirectory() as out:
                self._log_grid(trial, d, int(load_state(d)["epoch"]))
                path = os.path.join(out, WEIGHTS_FILE)
                write_generator_weights(d, path, trial.config)
                self.client.log_artifact(self.run_id(trial), path, artifact_path=WEIGHTS_DIR)
        except Exception as e:
            print(f"warning: final artifacts of {trial} not logged to MLflow: {e}", flush=True)

    # -- end states -------------------------------------------------------------------------------

    def _end(self, trial, status: str, end_state: str) -> None:
        run_id = self.run_id(trial)
        self.client.log_batch(run_id, tags=[RunTag(END_STATE_TAG, end_state)])
        self.client.set_terminated(run_id, status)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        last = trial.last_result or {}
        epoch = int(last.get("epoch", 0))
        if last.get("diverged"):
            state = f"diverged at epoch {epoch}"  # NaN weights: nothing worth keeping
        else:
            state = "completed" if epoch >= self.epochs else f"stopped by ASHA at epoch {epoch}"
            self._log_final_artifacts(trial)
        self._end(trial, "FINISHED", state)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self._log_final_artifacts(trial)  # the last good checkpoint, if it got that far
        self._end(trial, "FAILED", "errored")
