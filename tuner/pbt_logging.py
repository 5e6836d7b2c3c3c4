"""MLflow record of population-based training: a trial's schedule, not just its last configuration.

A PBT trial's hyperparameters change during training, so its MLflow params (the configuration it started
with) are not its whole story. The trainable reports each perturbable knob it trained an epoch with as
``schedule.<key>`` (logged by ``MLflowTrialLogger`` at step = epoch), and this callback tags each exploit
``pbt.exploit.epoch_<e>``: the donor trial, the checkpoint epoch copied, and the values before → after.
"""

from __future__ import annotations

from mlflow.entities import RunTag
from ray import tune

from trainables.trainable import SCHEDULE_PREFIX

EXPLOIT_TAG_PREFIX = "pbt.exploit.epoch_"
SCHEDULE_NOTE = "pbt: params are the starting configuration; schedule.<key> metrics the value trained with per epoch"


class PBTScheduleLogger(tune.Callback):
    def __init__(self, trial_logger):
        self.trial_logger = trial_logger  # the MLflowTrialLogger: its client and trial → run mapping
        self._last: dict[str, dict] = {}  # trial_id → schedule values of its previous result

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        values = {k: v for k, v in result.items() if k.startswith(SCHEDULE_PREFIX)}
        before = self._last.get(trial.trial_id)
        self._last[trial.trial_id] = values
        tags = [RunTag("schedule", SCHEDULE_NOTE)] if before is None else []
        if result.get("pbt_donor"):
            copied = int(result["pbt_donor_epoch"])
            changes = ", ".join(
                f"{k.removeprefix(SCHEDULE_PREFIX)} {before.get(k) if before else '?'} -> {v:g}"
                for k, v in values.items()
                if not before or before.get(k) != v
            )
            event = f"copied trial {result['pbt_donor']} at epoch {copied}; {changes or 'no change'}"
            tags.append(RunTag(f"{EXPLOIT_TAG_PREFIX}{copied}", event))
        if tags:
            self.trial_logger.client.log_batch(self.trial_logger.run_id(trial), tags=tags)
