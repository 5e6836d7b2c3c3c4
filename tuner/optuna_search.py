"""OptunaSearch that leaves an Optuna study the way optuna-dashboard and ``optuna.importance`` expect to read it.

Ray's OptunaSearch stores a trial ASHA stopped as COMPLETE with its last (early) value, so history, slice and
importance views mix one-epoch scores with full-budget ones; it reports intermediate values at Ray's
``training_iteration`` and drops the last one (the final result arrives as a completion, not a result); and the
objective is unnamed ("Objective 0"). Here every epoch is an intermediate value at step = epoch, a trial that
ended before the epoch budget without diverging is PRUNED, the objective carries the metric's name, and each
Optuna trial gets its MLflow run id as the user attribute ``mlflow_run_id``.
"""

from __future__ import annotations

import math
import warnings

import optuna
from optuna.trial import TrialState
from ray.tune.search.optuna import OptunaSearch

MLFLOW_RUN_ATTR = "mlflow_run_id"
RAY_TRIAL_ATTR = "ray_trial_id"
# optuna-dashboard numbers trials from 0, MLflow run names and the terminal from #1: each Optuna trial names its
# MLflow number, and the study says the rule.
MLFLOW_NUMBER_ATTR = "mlflow_trial_number"
NUMBERING_NOTE = "Optuna trial n is MLflow and terminal trial #(n+1)"


class EpochOptunaSearch(OptunaSearch):
    def __init__(self, *args, max_epochs: int, study_attrs: dict[str, str] | None = None, **kwargs):
        self.max_epochs = int(max_epochs)
        self.study_attrs = dict(study_attrs or {})
        self._reported: dict[str, set[int]] = {}
        super().__init__(*args, **kwargs)

    def _setup_study(self, mode) -> None:
        super()._setup_study(mode)
        if isinstance(self._metric, str) and self._ot_study is not None:
            with warnings.catch_warnings():  # set_metric_names is marked experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                self._ot_study.set_metric_names([self._metric])
        if self._ot_study is not None:
            for key, value in self.study_attrs.items():  # optuna-dashboard lists them on the study's page
                self._ot_study.set_user_attr(key, value)

    def set_mlflow_run(self, trial_id: str, run_id: str) -> None:
        """Called by the MLflow logger when it creates (or finds again) the run of ``trial_id``."""
        ot_trial = self._ot_trials.get(trial_id)
        if ot_trial is not None and self._ot_study is not None:
            try:
                ot_trial.set_user_attr(MLFLOW_RUN_ATTR, run_id)
                ot_trial.set_user_attr(RAY_TRIAL_ATTR, trial_id)
                ot_trial.set_user_attr(MLFLOW_NUMBER_ATTR, f"#{ot_trial.number + 1}")
            except RuntimeError:  # the Optuna trial already finished (a resumed search): its attributes stay
                pass

    def _finished_in_optuna(self, trial_id: str) -> bool:
        """A trial the study already closed: after ``--resume`` Tune can complete again a trial whose Optuna trial
        was told before the driver died (the searcher's saved state is older than the study's)."""
        ot_trial = self._ot_trials.get(trial_id)
        if ot_trial is None or self._ot_study is None:
            return False
        # One trial's state, not the study's every trial: reading them all on each result made the driver's cost
        # per result grow with the study (O(trials²) over a search; 17 % of the driver at a few hundred trials).
        return self._ot_study._storage.get_trial(ot_trial._trial_id).state.is_finished()

    def _report(self, trial_id: str, result: dict) -> None:
        value, epoch = result.get(self._metric), result.get("epoch")
        if not isinstance(value, int | float) or epoch is None or not math.isfinite(value):
            return
        done = self._reported.setdefault(trial_id, set())
        if int(epoch) not in done and trial_id in self._ot_trials and not self._finished_in_optuna(trial_id):
            self._ot_trials[trial_id].report(float(value), int(epoch))
            done.add(int(epoch))

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if isinstance(self.metric, list) or trial_id in self._completed_trials:
            return super().on_trial_result(trial_id, result)
        self._report(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if isinstance(self.metric, list) or trial_id in self._completed_trials or trial_id not in self._ot_trials:
            return super().on_trial_complete(trial_id, result, error)
        if self._finished_in_optuna(trial_id):  # told before a driver restart: its value and state stand
            self._completed_trials.add(trial_id)
            return None
        if result:
            self._report(trial_id, result)  # the last epoch comes only here
        epoch = int((result or {}).get("epoch", 0))
        stopped_early = not error and result and not result.get("diverged") and epoch < self.max_epochs
        if not stopped_early:
            return super().on_trial_complete(trial_id, result, error)
        # PRUNED: Optuna takes the last intermediate value as the trial's value, and TPE treats it as such.
        try:
            self._ot_study.tell(self._ot_trials[trial_id], state=TrialState.PRUNED)
        except Exception as e:  # a trial Optuna already finished must not stop the search
            warnings.warn(f"Optuna trial of {trial_id} not marked pruned: {e}", stacklevel=1)
        self._completed_trials.add(trial_id)
