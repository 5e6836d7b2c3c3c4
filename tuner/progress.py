"""What a search prints while it runs and when it ends.

While it runs: one line per trial-epoch with the metrics, the best so far and an estimate of the time left,
and one line when a trial ends other than by completing its epochs (stopped by ASHA, diverged, errored).
At the end: the best trial, its configuration and metrics at a precision worth reading, and where it is in
MLflow (run id and a link); the parent run gets the same summary (``tuner.mlflow_logging.record_best``).
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

from ray import tune

from tuner.mlflow_logging import TrialNumbers
from tuner.numbers import digits_needed


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


class Clock:
    """One clock for a whole command: the search's lines and its finals' lines count from the same start."""

    def __init__(self, start: float | None = None):
        self.start = time.time() if start is None else start

    def elapsed(self) -> float:
        return time.time() - self.start

    def stamp(self) -> str:
        return f"[{duration(self.elapsed()):>7s}]"


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
        clock: Clock | None = None,
    ):
        self.metric, self.trials, self.epochs, self.mode, self.label = metric, trials, epochs, mode, label
        self.numbers = numbers or TrialNumbers()
        self.clock = clock or Clock()
        self.start = time.time()
        self.seen: dict[str, set[float]] = {}  # values printed so far per key: the precision that tells them apart
        self.finished = 0  # trials ended since this driver started (the pace of the ETA)
        self.done = 0  # trials ended in all, those of an earlier driver included (after --resume)
        self.best: tuple[float, str] | None = None  # (value, trial label)

    def setup(self, **info) -> None:  # also after --resume, which restores this object from the stored run
        self.start = time.time()
        self.finished = 0

    def _name(self, trial) -> str:
        return f"{self.label} #{self.numbers(trial.trial_id)}"

    def _stamp(self) -> str:
        return self.clock.stamp()

    def _fmt(self, key: str, value: float) -> str:
        """``value`` at the precision that keeps apart every value of ``key`` printed so far (and the best)."""
        seen = self.seen.setdefault(key, set())
        if isinstance(value, int | float) and math.isfinite(value) and len(seen) < 10_000:
            seen.add(float(value))
        return fmt(value, digits_needed(list(seen)))

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
        shown = "  ".join(f"{k} {self._fmt(k, result[k])}" for k in keys if isinstance(result.get(k), int | float))
        best = f"best {self._fmt(self.metric, self.best[0])} ({self.best[1]})" if self.best else "best –"
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
                f" ({self.metric} {self._fmt(self.metric, value)} not in the top of its rung)",
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


@dataclasses.dataclass
class TrialCounts:
    """How a search's trials ended, and the compute they took."""

    completed: int = 0
    stopped: int = 0  # by the scheduler (ASHA) before the epoch budget
    diverged: int = 0
    errored: int = 0
    seconds: float = 0.0  # summed trial training time (Ray's time_total_s)

    @property
    def total(self) -> int:
        return self.completed + self.stopped + self.diverged + self.errored

    def __str__(self) -> str:
        return (
            f"{self.total} trials: {self.completed} completed, {self.stopped} stopped by ASHA, "
            f"{self.diverged} diverged, {self.errored} errored; {self.seconds / 3600:.2f} trial-hours"
        )


def count_trials(results, epochs: int) -> TrialCounts:
    counts = TrialCounts()
    for r in results:
        last = r.metrics or {}
        counts.seconds += float(last.get("time_total_s", 0.0) or 0.0)
        if r.error:
            counts.errored += 1
        elif last.get("diverged"):
            counts.diverged += 1
        elif int(last.get("epoch", 0)) < epochs:
            counts.stopped += 1
        else:
            counts.completed += 1
    return counts


def print_closing(clock: Clock, search: TrialCounts, finals: TrialCounts | None = None) -> None:
    """The last lines of a command: its wall time on the one clock, how trials ended, trial-hours."""
    print(f"\ndone in {duration(clock.elapsed())} wall time. Search: {search}", flush=True)
    if finals is not None and finals.total:
        hours = (search.seconds + finals.seconds) / 3600
        print(f"Finals: {finals}; {hours:.2f} trial-hours in all", flush=True)


def ui_hint(mlflow_uri: str) -> str:
    """Where the links printed below open: the tracking server, or ``mlflow ui`` to start on a local store."""
    from tuner.mlflow_logging import UI_DEFAULT, ui_server

    if ui_server(mlflow_uri):
        return f"MLflow UI: {ui_server(mlflow_uri)}"
    return (
        f"MLflow UI: mlflow ui --backend-store-uri {mlflow_uri}  (links below assume its default {UI_DEFAULT};"
        " on another host or port open the part from #/ on)"
    )


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
    epochs: int | None = None,
) -> str | None:
    """Print the best trial (configuration, metrics, MLflow run and links) and, given the search's parent run,
    record the same on it. Returns the best trial's MLflow run id (None when no trial reported ``metric``)."""
    from trainables.registry import get_method
    from tuner.cli import MODES
    from tuner.mlflow_logging import find_trial_run, record_best, run_path, trials_path, ui_link
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
    number = numbers(trial_id) if numbers and trial_id else None
    counts = count_trials(results, epochs) if epochs else None
    run_id = experiment_id = None
    if client is not None:
        exp = client.get_experiment_by_name(experiment or name)
        experiment_id = exp.experiment_id if exp else None
        run_id = find_trial_run(client, experiment_id, trial_id) if experiment_id and trial_id else None
        if parent_run_id and experiment_id:
            record_best(
                client, parent_run_id, experiment_id, run_id, scores, metric=metric, mode=mode, search_name=name,
                description=description, number=number, epoch=int(row["epoch"]), counts=str(counts or ""),
            )  # fmt: skip
    # Every value of a metric across trials decides the precision, so a printed best differs from the runner-up.
    history = {k: [float(v) for v in r.metrics_dataframe[k] if isinstance(v, int | float)]
               for r in results if r.metrics_dataframe is not None for k in r.metrics_dataframe.columns
               if k in scores or k in ("loss_d", "loss_g")}  # fmt: skip
    label = f"trial #{number}" if number else "trial"
    print(f"\nbest: {label} ({metric} {mode}) at epoch {int(row['epoch'])}")
    for k in sorted(searched):
        print(f"  {k} = {fmt(best.config[k]) if isinstance(best.config[k], float) else best.config[k]}")
    for k in [*sorted(scores), "loss_d", "loss_g"]:
        if isinstance(row.get(k), int | float):
            print(f"  {k}: {fmt(row[k], digits_needed([*history.get(k, []), row[k]]))}")
    print(f"{counts or f'{len(results)} trials ({errors} errored)'}. Ray results: {storage}/{name}")
    print(f"MLflow experiment {experiment or name!r} at {mlflow_uri}")
    if run_id and experiment_id:
        print(f"  {ui_hint(mlflow_uri)}")
        best_link = ui_link(mlflow_uri, run_path(experiment_id, run_id))
        print(f"  best trial, its numbers and last sample grid: {best_link}")
        trials_link = ui_link(mlflow_uri, trials_path(experiment_id, metric, mode, name))
        print(f"  this search's trials, best first: {trials_link}")
        print(f"  best trial's run {run_id}")
        if grid := final_grid_location(client, run_id):
            print(f"  its last sample grid: {grid}")
        if _generates(best.config):  # translate methods map images, nothing to sample
            print(
                f"  sample from it: python -m trainables.sample --run {run_id} --mlflow-uri {mlflow_uri}"
                " --n 64 --out best.png"
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

    from tuner.mlflow_logging import FINAL_GRID

    try:
        uri = f"{client.get_run(run_id).info.artifact_uri.rstrip('/')}/{FINAL_GRID}"
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
