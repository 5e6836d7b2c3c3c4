"""What a search prints while it runs and when it ends.

While it runs: one line per trial-epoch with the metrics, the best so far and an estimate of the time left,
and one line when a trial ends other than by completing its epochs (stopped by ASHA, diverged, errored).
At the end: the best trial, its configuration and metrics at a precision worth reading, and where it is in
MLflow (run id and a link); the parent run gets the same summary (``tuner.mlflow_logging.record_best``).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from ray import tune

from tuner.mlflow_logging import TrialNumbers


def duration(seconds: float) -> str:
    """``42s``, ``7m05s``, ``1h12m``: an estimate, not a stopwatch."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def fmt(value: float, digits: int = 4) -> str:
    """A metric at ``digits`` significant figures (never 16)."""
    return f"{value:.{digits}g}" if isinstance(value, int | float) else str(value)


class ProgressPrinter(tune.Callback):
    """One line per epoch result: which trial, how far, the metrics, the best so far and the time left."""

    def __init__(
        self,
        metric: str,
        trials: int,
        epochs: int,
        mode: str = "max",
        label: str = "trial",
        numbers: TrialNumbers | None = None,
    ):
        self.metric, self.trials, self.epochs, self.mode, self.label = metric, trials, epochs, mode, label
        self.numbers = numbers or TrialNumbers()
        self.start = time.time()
        self.finished = 0  # trials ended since this driver started (the pace of the ETA)
        self.done = 0  # trials ended in all, those of an earlier driver included (after --resume)
        self.best: tuple[float, str] | None = None  # (value, trial label)

    def setup(self, **info) -> None:  # also after --resume, which restores this object from the stored run
        self.start = time.time()
        self.finished = 0

    def _name(self, trial) -> str:
        return f"{self.label} #{self.numbers(trial.trial_id)}"

    def _stamp(self) -> str:
        return f"[{duration(time.time() - self.start):>7s}]"

    def eta(self) -> str:
        """Time left at the pace of the trials finished so far (a rough guide: ASHA stops some trials early)."""
        if not self.finished:
            return "ETA after the first trial"
        left = (time.time() - self.start) / self.finished * max(self.trials - self.done, 0)
        return f"ETA ~{duration(left)}"

    def _update_best(self, trial, value) -> None:
        if not isinstance(value, int | float) or not math.isfinite(value):
            return
        if self.best is None or (value > self.best[0] if self.mode == "max" else value < self.best[0]):
            self.best = (float(value), self._name(trial))

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        self._update_best(trial, result.get(self.metric))
        running = sum(t.status == "RUNNING" for t in trials)
        self.done = max(self.done, sum(t.status in ("TERMINATED", "ERROR") for t in trials))
        keys = dict.fromkeys((self.metric, "inception_score", "ddm", "loss_d", "loss_g"))
        shown = "  ".join(f"{k} {fmt(result[k])}" for k in keys if isinstance(result.get(k), int | float))
        best = f"best {fmt(self.best[0])} ({self.best[1]})" if self.best else "best –"
        print(
            f"{self._stamp()} {self._name(trial)} epoch {result.get('epoch')}/{self.epochs}  {shown}"
            f"  | {best} | {running} running, {self.done}/{self.trials} done, {self.eta()}",
            flush=True,
        )

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self.finished += 1
        self.done += 1
        last = trial.last_result or {}
        epoch = int(last.get("epoch", 0))
        if last.get("diverged"):
            print(
                f"{self._stamp()} {self._name(trial)} diverged at epoch {epoch} (NaN losses), ranked last", flush=True
            )
        elif epoch < self.epochs:
            value = last.get(self.metric)
            print(
                f"{self._stamp()} {self._name(trial)} stopped by ASHA after epoch {epoch}/{self.epochs}"
                f" ({self.metric} {fmt(value)} not in the top of its rung)",
                flush=True,
            )

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self.finished += 1
        self.done += 1
        print(f"{self._stamp()} {self._name(trial)} ERRORED (see its error.txt in {trial.path})", flush=True)


def best_row(result, metric: str, mode: str) -> dict:
    """The best epoch of a trial's history (what ``get_best_result(scope="all")`` ranked it by)."""
    df = result.metrics_dataframe
    return df.loc[df[metric].idxmax() if mode == "max" else df[metric].idxmin()].to_dict()


def report_best(
    results: tune.ResultGrid,
    metric: str,
    mode: str,
    name: str,
    mlflow_uri: str,
    storage: str,
    experiment: str = "",
    *,
    numbers: TrialNumbers | None = None,
    client=None,
    parent_run_id: str | None = None,
    description: str = "",
) -> str | None:
    """Print the best trial (configuration, metrics, MLflow run and links) and, given the search's parent run,
    record the same on it. Returns the best trial's MLflow run id (None when no trial reported ``metric``)."""
    from trainables.registry import get_method
    from tuner.cli import MODES
    from tuner.mlflow_logging import find_trial_run, record_best, run_url, trials_url
    from tuner.outcome import check_any_succeeded

    errors = sum(1 for r in results if r.error)
    check_any_succeeded(results, storage, name)  # every trial errored: SearchFailed, one line naming the first error
    try:
        best = results.get_best_result(metric, mode, scope="all")
    except RuntimeError:
        print(f"no trial reported {metric}; {errors} trial(s) errored. Results: {storage}/{name}")
        return None
    row = best_row(best, metric, mode)
    scores = {k: float(v) for k, v in row.items() if (k in MODES or k.endswith("_std")) and isinstance(v, int | float)}
    searched = get_method(best.config["method"], best.config.get("method_path")).space()
    trial_id = str(row.get("trial_id", best.metrics.get("trial_id", "")))
    run_id = experiment_id = None
    if client is not None:
        exp = client.get_experiment_by_name(experiment or name)
        experiment_id = exp.experiment_id if exp else None
        run_id = find_trial_run(client, experiment_id, trial_id) if experiment_id and trial_id else None
        if parent_run_id and experiment_id:
            record_best(
                client, parent_run_id, experiment_id, run_id, scores,
                tracking_uri=mlflow_uri, metric=metric, mode=mode, description=description,
            )  # fmt: skip
    label = f"trial #{numbers(trial_id)}" if numbers else "trial"
    print(f"\nbest: {label} ({metric} {mode}) at epoch {int(row['epoch'])}")
    for k in sorted(searched):
        print(f"  {k} = {fmt(best.config[k]) if isinstance(best.config[k], float) else best.config[k]}")
    for k in [*sorted(scores), "loss_d", "loss_g"]:
        if isinstance(row.get(k), int | float):
            print(f"  {k}: {fmt(row[k])}")
    print(f"{len(results)} trials ({errors} errored). Ray results: {storage}/{name}")
    print(f"MLflow experiment {experiment or name!r} at {mlflow_uri}")
    if run_id and experiment_id:
        print(f"  best trial's run {run_id}: {run_url(mlflow_uri, experiment_id, run_id)}")
        print(f"  all trials, best first: {trials_url(mlflow_uri, experiment_id, metric, mode)}")
        if grid := final_grid_location(client, run_id):
            print(f"  its last sample grid: {grid}")
        if _generates(best.config):  # translate methods map images, nothing to sample
            print(
                f"  sample from it: python -m trainables.sample --run {run_id} --mlflow-uri {mlflow_uri} --out best.png"
            )
    return run_id


def _generates(config: dict) -> bool:
    from trainables.registry import MethodError, get_method

    try:
        return "method" not in config or get_method(config["method"], config.get("method_path")).task == "generate"
    except MethodError:
        return True


def final_grid_location(client, run_id: str) -> str | None:
    """Where the run's last sample grid is: a local path a user can open (sqlite store), else its artifact URI."""
    from urllib.parse import unquote, urlparse

    from tuner.mlflow_logging import FINAL_GRID, SAMPLES_DIR

    try:
        uri = f"{client.get_run(run_id).info.artifact_uri.rstrip('/')}/{SAMPLES_DIR}/{FINAL_GRID}"
    except Exception:  # the store went away: the summary still prints the rest
        return None
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        path = unquote(parsed.path)
        return path if Path(path).exists() else None
    return uri


def quiet_library_noise() -> None:
    """Silence what a user cannot act on: Ray's reporter (its TensorBoard hint into Ray's temp folder) and
    experiment-state snapshot warnings (we snapshot often on purpose, see tuner.resume), alembic's and MLflow's
    database-setup INFO lines, Optuna's "A new study created" line. Warnings and errors still print."""
    import logging
    import os

    import optuna

    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # the legacy reporter prints nothing at verbose=0
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    for name in ("alembic", "mlflow.store.db.utils", "mlflow.tracking.fluent"):
        logging.getLogger(name).setLevel(logging.WARNING)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
