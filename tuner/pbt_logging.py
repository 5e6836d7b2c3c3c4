"""MLflow record of population-based training: a trial's schedule, not just its last configuration.

A PBT trial's hyperparameters change during training, so its MLflow params (the configuration it started
with) are not its whole story. Every epoch this callback logs each perturbable knob as ``schedule.<key>``
(step = epoch), and each exploit as a tag ``pbt.exploit.epoch_<e>`` naming the donor trial, the checkpoint
epoch copied and the values before → after. It runs after ``MLflowTrialLogger`` and writes into its runs.
"""

from __future__ import annotations

import time

from mlflow.entities import Metric, RunTag
from ray import tune

SCHEDULE_PREFIX = "schedule."
EXPLOIT_TAG_PREFIX = "pbt.exploit.epoch_"


class PBTScheduleLogger(tune.Callback):
    def __init__(self, trial_logger, keys: list[str]):
        self.trial_logger = trial_logger  # the MLflowTrialLogger: its client and trial → run mapping
        self.keys = list(keys)
        self._configs: dict[str, dict] = {}  # trial_id → the values last logged
        self._last_epoch: dict[str, int] = {}  # a restarted trial reports its epochs again: log each once

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        epoch = int(result.get("epoch", 0))
        if epoch <= self._last_epoch.get(trial.trial_id, 0):
            return
        self._last_epoch[trial.trial_id] = epoch
        client, run_id = self.trial_logger.client, self.trial_logger.run_id(trial)
        values = {k: trial.config[k] for k in self.keys if k in trial.config}
        ts = int(time.time() * 1000)
        metrics = [Metric(f"{SCHEDULE_PREFIX}{k}", float(v), ts, epoch) for k, v in values.items()]
        tags = [RunTag("schedule", "pbt: params are the starting configuration; schedule.* the value per epoch")]
        if result.get("pbt_donor"):
            before = self._configs.get(trial.trial_id, {})
            changes = ", ".join(f"{k} {before.get(k, '?')} -> {v}" for k, v in values.items() if before.get(k) != v)
            copied = int(result["pbt_donor_epoch"])
            event = f"copied trial {result['pbt_donor']} at epoch {copied}; {changes or 'no change'}"
            tags.append(RunTag(f"{EXPLOIT_TAG_PREFIX}{copied}", event))
        client.log_batch(run_id, metrics=metrics, tags=tags)
        self._configs[trial.trial_id] = values
