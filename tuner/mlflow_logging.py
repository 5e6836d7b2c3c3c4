"""Logs every Ray Tune trial to MLflow from the driver.

Logging from the driver (a Tune ``Callback``) rather than from the trials means one process writes
the tracking store (safe for sqlite), nothing is double-logged when a trial restarts from a
checkpoint (each metric is logged once per epoch, step = epoch), and a resumed search finds its
existing runs again by the ``ray_trial_id`` tag instead of creating duplicates.
"""

from __future__ import annotations

import os
import time

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from ray import tune

from trainables.trainable import SAMPLES_FILE

TRIAL_TAG = "ray_trial_id"
# Keys Ray adds to every result; they are bookkeeping, not experiment metrics.
RAY_KEYS = {
    "time_this_iter_s", "time_total_s", "timestamp", "training_iteration", "pid", "date", "hostname",
    "node_ip", "time_since_restore", "iterations_since_restore", "done", "checkpoint_dir_name",
    "should_checkpoint",
}  # fmt: skip


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
    return exp.experiment_id if exp else client.create_experiment(name)


class MLflowTrialLogger(tune.Callback):
    def __init__(self, tracking_uri: str, experiment: str, epochs: int, tags: dict | None = None):
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.epochs = epochs
        self.tags = tags or {}
        self._runs: dict[str, str] = {}  # trial_id → run_id
        self._last_epoch: dict[str, int] = {}

    def setup(self, **info) -> None:
        self.client = MlflowClient(self.tracking_uri)
        self.experiment_id = get_or_create_experiment(self.client, self.experiment)

    # -- runs -------------------------------------------------------------------------------------

    def run_id(self, trial) -> str:
        tid = trial.trial_id
        if tid in self._runs:
            return self._runs[tid]
        found = self.client.search_runs([self.experiment_id], f"tags.{TRIAL_TAG} = '{tid}'", max_results=1)
        if found:
            run_id = found[0].info.run_id
            history = self.client.get_metric_history(run_id, "epoch")
            self._last_epoch[tid] = int(max((m.value for m in history), default=0))
            if found[0].info.status != "RUNNING":
                self.client.update_run(run_id, status="RUNNING")
        else:
            run = self.client.create_run(self.experiment_id, run_name=str(trial), tags={TRIAL_TAG: tid, **self.tags})
            run_id = run.info.run_id
            params = [Param(k, str(v)[:6000]) for k, v in sorted(flatten(trial.config).items())]
            for i in range(0, len(params), 100):
                self.client.log_batch(run_id, params=params[i : i + 100])
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

    def on_checkpoint(self, iteration, trials, trial, checkpoint, **info) -> None:
        epoch = int((trial.last_result or {}).get("epoch", 0))
        with checkpoint.as_directory() as d:
            grid = os.path.join(d, SAMPLES_FILE)
            if os.path.exists(grid):
                self.client.log_artifact(self.run_id(trial), grid, artifact_path=f"samples/epoch_{epoch:04d}")

    # -- end states -------------------------------------------------------------------------------

    def _end(self, trial, status: str, end_state: str) -> None:
        run_id = self.run_id(trial)
        self.client.log_batch(run_id, tags=[RunTag("end_state", end_state)])
        self.client.set_terminated(run_id, status)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        last = trial.last_result or {}
        epoch = int(last.get("epoch", 0))
        if last.get("diverged"):
            state = f"diverged at epoch {epoch}"
        elif epoch >= self.epochs:
            state = "completed"
        else:
            state = f"stopped by ASHA at epoch {epoch}"
        self._end(trial, "FINISHED", state)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self._end(trial, "FAILED", "errored")
