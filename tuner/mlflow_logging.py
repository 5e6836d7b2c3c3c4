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
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import torch
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from ray import tune

from trainables.trainable import INITIAL_SAMPLES_FILE, SAMPLES_FILE, load_state
from tuner.mlflow_filters import all_of, tag_equals
from tuner.mlflow_tags import (
    BEST_TRIAL_TAG,
    END_STATE_TAG,
    EXPERIMENT_KIND,
    EXPERIMENT_KIND_TAG,
    PARENT_TAG,
    ROLE_TAG,
    SEARCH_TAG,
    TRIAL_TAG,
)

WEIGHTS_FILE = "generator.pt"
WEIGHTS_DIR = "model"
# The last grid of every run at one path in the artifact root, where "compare runs" lists common artifacts first.
FINAL_GRID = "final_samples.png"
IMAGE_KEY = "samples"  # mlflow.log_image key of the per-epoch grids (step 0: before training)
# Keys Ray adds to every result; they are bookkeeping, not experiment metrics (time_total_s is kept:
# the reports sum it into trial-hours).
RAY_KEYS = {
    "time_this_iter_s", "timestamp", "training_iteration", "pid", "date", "hostname",
    "node_ip", "time_since_restore", "iterations_since_restore", "done", "checkpoint_dir_name",
    "should_checkpoint",
}  # fmt: skip
# Result keys that are not charts: the epoch is every metric's step, and divergence is in the end_state tag.
NOT_CHARTED = {"epoch", "diverged"}
STEP_KEY = "time_total_s"  # logged every epoch by every trial: its last step is the last epoch logged
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


ARTIFACTS_DIR = "mlartifacts"


def artifact_location(tracking_uri: str) -> str | None:
    """Where a new experiment keeps its artifacts: beside an sqlite database (``mlartifacts/``), so sample grids
    and weights stay with the runs that name them wherever the command was started; None lets a tracking server
    choose (its served artifacts). MLflow's own default is ``./mlruns`` of the *current* folder."""
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri.removeprefix("sqlite:///")).expanduser().resolve()
        return (db.parent / ARTIFACTS_DIR).as_uri()
    return None


def get_or_create_experiment(client: MlflowClient, name: str) -> str:
    """The experiment, created as a model-training one: MLflow 3 opens an experiment without a kind on its GenAI
    overview (traces, tokens) instead of the runs table."""
    exp = client.get_experiment_by_name(name)
    if exp:
        if EXPERIMENT_KIND_TAG not in exp.tags:  # made before this tag existed, or by hand
            client.set_experiment_tag(exp.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return exp.experiment_id
    try:
        return client.create_experiment(
            name,
            artifact_location=artifact_location(client.tracking_uri),
            tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND},
        )
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


# Searched values worth a place in a trial's name, in this order, with short labels; others are left out.
NAME_LABELS = {
    "lr": "lr", "n_components": "N", "n_critic": "n_c", "rho": "rho", "beta": "beta", "lr_latent": "lr_z",
    "gp_weight": "gp", "unroll_steps": "k",
}  # fmt: skip
MAX_NAME_VALUES = 3


def short_number(value: object) -> str:
    """Two significant figures, exponent without padding: 0.00053 → ``5.3e-4``, 46 → ``46``, 0.25 → ``0.25``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e4:
        return str(int(value))
    if value != 0 and not 1e-2 <= abs(value) < 1e4:
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.2g}"


class TrialNumbers:
    """#1, #2, … in the order trials start (Ray's trial ids are random hex), shared by the MLflow run names and the
    terminal lines so both say the same number; it matches the Optuna trial number + 1 of a search."""

    def __init__(self):
        self._numbers: dict[str, int] = {}

    def __call__(self, trial_id: str) -> int:
        if trial_id not in self._numbers:
            self._numbers[trial_id] = max(self._numbers.values(), default=0) + 1
        return self._numbers[trial_id]

    def assign(self, trial_id: str, number: int) -> None:
        """A number a run already carries (a resumed search finds its runs again)."""
        self._numbers.setdefault(trial_id, number)


def trial_run_name(method: str, number: int, config: dict, searched: tuple[str, ...] = ()) -> str:
    """``#12 deli_fisher lr=5.3e-4 N=46``: readable in a runs list where Ray's ``train_gan_67273927`` is not. The
    number leads, so the end state that follows it stays inside MLflow's narrow name column."""
    keys = [k for k in NAME_LABELS if k in searched and k in config][:MAX_NAME_VALUES]
    values = " ".join(f"{NAME_LABELS[k]}={short_number(config[k])}" for k in keys)
    return f"#{number} {method} {values}".strip()


# A value read on its own (a description, the parent's name), with nothing beside it to tell it apart from: 6
# figures keep 1.00028 from reading as 1.
READ_DIGITS = 6
BEST_MARK = "★ best "  # the best trial's name starts with it, so the runs list shows which one it is


def named_with_state(name: str, end_state: str) -> str:
    """The end state right after the trial's number: ``#3 [ASHA stop @1] deli_fisher lr=5.3e-4 N=46``."""
    suffix = end_state_suffix(end_state)
    if not suffix:
        return name
    if m := re.match(r"(#\d+)( |$)", name):
        rest = name[m.end() :]
        return f"{m.group(1)} {suffix}" + (f" {rest}" if rest else "")
    return f"{name} {suffix}"  # a final's or a custom name


def base_name(name: str) -> str:
    """A run name without its end state and best-trial mark (what the trial was named when it started)."""
    name = name.removeprefix(BEST_MARK)
    return re.sub(r" +", " ", re.sub(r"(^| )\[[^\]]*\]", " ", name)).strip()


def trial_number(name: str) -> int | None:
    m = re.search(r"(?:^| )#(\d+)\b", base_name(name))
    return int(m.group(1)) if m else None


def end_state_suffix(end_state: str) -> str:
    """What a run's name gains when it ends other than completed, e.g. ``[ASHA stop @1]``."""
    if end_state.startswith("stopped by ASHA at epoch "):
        return f"[ASHA stop @{end_state.rsplit(' ', 1)[-1]}]"
    if end_state.startswith("diverged at epoch "):
        return f"[diverged @{end_state.rsplit(' ', 1)[-1]}]"
    return "[errored]" if end_state == "errored" else ""


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
        name_keys: tuple[str, ...] = (),
        numbers: TrialNumbers | None = None,
        shown: tuple[str, ...] = ("inception_score", "ddm"),
    ):
        """``tags`` go on every child run; ``tag_keys`` are config keys also copied into tags (e.g. the seed
        of a final run); ``run_name_format`` is formatted with the trial config, else a trial is named by
        ``trial_run_name`` with the searched ``name_keys``. Sample grids are logged every ``sample_every``
        epochs and at each trial's last epoch; ``run_listeners`` are told each new (trial id, run id)."""
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.epochs = epochs
        self.tags = tags or {}
        self.parent_run_id = parent_run_id
        self.sample_every = max(1, int(sample_every))
        self.tag_keys = tuple(tag_keys)
        self.run_name_format = run_name_format
        self.name_keys = tuple(name_keys)
        self.numbers = numbers or TrialNumbers()
        self.shown = set(shown)  # result keys a trial's description lists
        self.run_listeners: list = []
        self._runs: dict[str, str] = {}  # trial_id → run_id
        self._last_epoch: dict[str, int] = {}
        self._grid_epochs: dict[str, set[int]] = {}
        self._names: dict[str, str] = {}  # trial_id → run name as created

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
            self._names[tid] = base_name(found[0].info.run_name or "")  # without its end state
            if (number := trial_number(found[0].info.run_name or "")) is not None:
                self.numbers.assign(tid, number)
            history = self.client.get_metric_history(run_id, STEP_KEY)
            self._last_epoch[tid] = int(max((m.step for m in history), default=0))
            if found[0].info.status != "RUNNING":
                self.client.update_run(run_id, status="RUNNING")
        else:
            self._names[tid] = self._name(trial)
            run = self.client.create_run(self.experiment_id, run_name=self._names[tid], tags=self._child_tags(trial))
            run_id = run.info.run_id
            log_params(self.client, run_id, trial.config)
            self._last_epoch[tid] = 0
        self._runs[tid] = run_id
        for listener in self.run_listeners:
            listener(tid, run_id)
        return run_id

    def _name(self, trial) -> str:
        if self.run_name_format:
            return self.run_name_format.format(**trial.config)
        number = self.numbers(trial.trial_id)
        return trial_run_name(trial.config.get("method", "trial"), number, trial.config, self.name_keys)

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
            and k not in NOT_CHARTED
            and not k.startswith("config.")
            and isinstance(v, int | float)
            and not isinstance(v, bool)
        ]
        self.client.log_batch(run_id, metrics=metrics)
        self._last_epoch[trial.trial_id] = epoch

    # -- artifacts --------------------------------------------------------------------------------

    def _log_grid(self, trial, checkpoint_dir: str, epoch: int, initial_only: bool = False) -> None:
        """An image under key ``samples`` at step = epoch: the run page and compare view get MLflow's step slider
        and side-by-side images instead of one folder per epoch."""
        done = self._grid_epochs.setdefault(trial.trial_id, set())
        # The first checkpoint also holds the grid from before training: MLflow's step slider then starts on an
        # image (step 0) rather than on "No image logged at this step".
        for step, name in ((0, INITIAL_SAMPLES_FILE), *(() if initial_only else ((epoch, SAMPLES_FILE),))):
            grid = os.path.join(checkpoint_dir, name)
            if step in done or not os.path.exists(grid):
                continue
            from PIL import Image

            # log_image bypasses the resilient client's spool: map a run created while the store was down to its
            # real id (an image logged before the run exists is lost, with a warning; the final grid is spooled).
            run_id = getattr(self.client, "_run_id", lambda r: r)(self.run_id(trial))
            with Image.open(grid) as image:
                self.client.log_image(run_id, image.convert("RGB"), key=IMAGE_KEY, step=step)
            done.add(step)

    def _log_final_grid(self, trial, checkpoint_dir: str) -> None:
        """The last grid again at one fixed path in the artifact root, which "compare runs" lines up."""
        grid = os.path.join(checkpoint_dir, SAMPLES_FILE)
        if os.path.exists(grid):
            with tempfile.TemporaryDirectory() as out:
                path = os.path.join(out, FINAL_GRID)
                shutil.copyfile(grid, path)
                self.client.log_artifact(self.run_id(trial), path)

    def on_checkpoint(self, iteration, trials, trial, checkpoint, **info) -> None:
        epoch = int((trial.last_result or {}).get("epoch", 0))
        skipped = bool(epoch % self.sample_every)  # the trial's last grid is logged when it ends, whatever its epoch
        if skipped and 0 in self._grid_epochs.get(trial.trial_id, set()):
            return
        try:
            with checkpoint.as_directory() as d:
                self._log_grid(trial, d, epoch, initial_only=skipped)  # step 0 comes with the first checkpoint
        except Exception as e:  # an artifact must never stop the search
            print(f"warning: sample grid of {trial} at epoch {epoch} not logged to MLflow: {e}", flush=True)

    def _log_final_artifacts(self, trial) -> None:
        """Last sample grid and the generator weights from the trial's last checkpoint."""
        checkpoint = trial.checkpoint
        if checkpoint is None:
            return
        try:
            with checkpoint.as_directory() as d, tempfile.TemporaryDirectory() as out:
                try:
                    self._log_grid(trial, d, int(load_state(d)["epoch"]))
                except Exception as e:  # the step image must not cost the final grid and the weights
                    print(f"warning: last sample image of {trial} not logged to MLflow: {e}", flush=True)
                self._log_final_grid(trial, d)
                path = os.path.join(out, WEIGHTS_FILE)
                write_generator_weights(d, path, trial.config)
                self.client.log_artifact(self.run_id(trial), path, artifact_path=WEIGHTS_DIR)
        except Exception as e:
            print(f"warning: final artifacts of {trial} not logged to MLflow: {e}", flush=True)

    # -- end states -------------------------------------------------------------------------------

    def _end(self, trial, status: str, end_state: str) -> None:
        run_id = self.run_id(trial)
        self.client.log_batch(run_id, tags=[RunTag(END_STATE_TAG, end_state)])
        if end_state_suffix(end_state):  # the runs list shows names, not tags, without column picking
            name = self._names.get(trial.trial_id) or self._name(trial)
            self.client.update_run(run_id, name=named_with_state(name, end_state))
        numbers = {k: v for k, v in (trial.last_result or {}).items() if k in self.shown}
        text = trial_description(run_id, end_state, numbers)
        self.client.log_batch(run_id, tags=[RunTag(DESCRIPTION_TAG, text)])
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


# -- what the runs list shows first ---------------------------------------------------------------

DESCRIPTION_TAG = "mlflow.note.content"  # shown as the run's description in the MLflow UI
BEST_RUN_TAG = "best_trial_run_id"
BEST_URL_TAG = "best_trial_url"
TRIALS_URL_TAG = "trials_url"
UI_DEFAULT = "http://127.0.0.1:5000"  # where `mlflow ui` serves a local store by default


def ui_server(tracking_uri: str) -> str | None:
    """The tracking server's address, which also serves the UI; None for a local store (``mlflow ui`` serves it,
    on whatever host and port it is started with)."""
    return tracking_uri.rstrip("/") if tracking_uri.startswith(("http://", "https://")) else None


def ui_link(tracking_uri: str, path: str) -> str:
    """A UI page as a full address: on the tracking server, else on ``mlflow ui``'s default address."""
    return f"{ui_server(tracking_uri) or UI_DEFAULT}/{path}"


def trials_path(experiment_id: str, metric: str, mode: str, search_name: str, role: str = "trial") -> str:
    """The runs table (``/runs``: MLflow 3 keeps the filter and sort only there) of this search's trials, sorted
    by the optimised metric, best first. Relative (``#/…``), so it works on any host and port the UI has; the
    query keys are the ones MLflow 3's runs page reads from the address (searchFilter, orderByKey, orderByAsc)."""
    query = urllib.parse.urlencode(
        {
            "searchFilter": all_of(tag_equals(SEARCH_TAG, search_name), tag_equals(ROLE_TAG, role)),
            "orderByKey": f"metrics.`{metric}`",
            "orderByAsc": "true" if mode == "min" else "false",
        },
        quote_via=urllib.parse.quote,
    )
    return f"#/experiments/{experiment_id}/runs?{query}"


def run_path(experiment_id: str, run_id: str) -> str:
    return f"#/experiments/{experiment_id}/runs/{run_id}"


def artifact_src(run_id: str, path: str) -> str:
    """A run's artifact as the UI's server serves it (relative, like the UI's own image requests)."""
    return "get-artifact?" + urllib.parse.urlencode({"path": path, "run_uuid": run_id})


def trial_description(run_id: str, end_state: str, numbers: dict[str, float] | None = None) -> str:
    """A trial's description, shown at the top of its page: how it ended, its last epoch's numbers and its last
    sample grid, no click or scrolling needed."""
    from tuner.numbers import distinct

    text = f"End state: **{end_state}**."
    shown = {k: v for k, v in sorted((numbers or {}).items()) if isinstance(v, int | float) and k != "epoch"}
    if shown:
        values = dict(zip(shown, (distinct([v], READ_DIGITS)[0] for v in shown.values()), strict=True))
        text += " Last epoch: " + ", ".join(f"`{k}` {v}" for k, v in values.items()) + "."
    if not end_state.startswith("diverged"):
        text += f"\n\n![last sample grid]({artifact_src(run_id, FINAL_GRID)})"
    return text


def describe_search(method: str, dataset: str, trials: int, epochs: int, metric: str, mode: str, space: dict) -> str:
    """The parent run's description: what was searched, how, for what."""
    return (
        f"Hyperparameter search of **{method}** on {dataset}: {trials} trials (Optuna TPE via Ray Tune, ASHA "
        f"early stopping, at most {epochs} epochs each), optimising `{metric}` ({mode}). "
        f"Searched: {', '.join(f'`{k}`' for k in flatten(space))}. Each trial is a child run."
    )


def find_trial_run(client: MlflowClient, experiment_id: str, trial_id: str) -> str | None:
    found = client.search_runs([experiment_id], tag_equals(TRIAL_TAG, trial_id), max_results=1)
    return found[0].info.run_id if found else None


def headline_name(search_name: str, metric: str, value: float, number: int | None) -> str:
    """The parent's name in the runs list carries the answer: ``deli_fisher-t1 · best ddm 12.31 (#4)``."""
    from tuner.numbers import distinct

    trial = f" (#{number})" if number else ""
    return f"{search_name} · best {metric} {distinct([value], READ_DIGITS)[0]}{trial}"


def record_best(
    client: MlflowClient,
    parent_run_id: str,
    experiment_id: str,
    best_run_id: str | None,
    metrics: dict[str, float],
    *,
    metric: str,
    mode: str,
    search_name: str,
    description: str = "",
    number: int | None = None,
    epoch: int | None = None,
    counts: str = "",
) -> None:
    """The search's answer on its parent run, visible without expanding it or picking columns: its name with the
    best value, ``best_<metric>`` metrics, a description table of the best trial's numbers with its last grid,
    relative links to it and to this search's trials sorted by ``metric``; the best trial is tagged and named so."""
    from tuner.numbers import distinct

    ts = int(time.time() * 1000)
    values = [Metric(f"best_{k}", float(v), ts, 0) for k, v in sorted(metrics.items()) if isinstance(v, int | float)]
    sorted_path = trials_path(experiment_id, metric, mode, search_name)
    tags = [RunTag(TRIALS_URL_TAG, sorted_path)]
    lines = []  # the answer first: MLflow shows a description's first lines and folds the rest under "Show more"
    if best_run_id:
        link = run_path(experiment_id, best_run_id)
        tags += [RunTag(BEST_RUN_TAG, best_run_id), RunTag(BEST_URL_TAG, link)]
        best = client.get_run(best_run_id)
        name = best.info.run_name or best_run_id
        if not name.startswith(BEST_MARK):
            client.update_run(best_run_id, name=f"{BEST_MARK}{name}")
        client.set_tag(best_run_id, BEST_TRIAL_TAG, "true")
        at = f" at epoch {epoch}" if epoch is not None else ""
        keys = sorted(metrics, key=lambda k: (k != metric, k))
        shown = {k: distinct([metrics[k]], READ_DIGITS)[0] for k in keys}
        lines += [
            f"**Best trial: [{base_name(name)}]({link})**{at}, by `{metric}` ({mode}).",
            "| metric | value |\n|---|---:|\n" + "\n".join(f"| `{k}` | {v} |" for k, v in shown.items()),
            f"![its last sample grid]({artifact_src(best_run_id, FINAL_GRID)})",
        ]
    lines.append(f"[All trials of this search, best first]({sorted_path})" + (f" · {counts}" if counts else ""))
    lines += [description] if description else []
    tags.append(RunTag(DESCRIPTION_TAG, "\n\n".join(lines)))
    client.log_batch(parent_run_id, metrics=values, tags=tags)
    if metric in metrics:
        client.update_run(parent_run_id, name=headline_name(search_name, metric, metrics[metric], number))
