"""The Ray Tune function trainable shared by every method.

Every epoch: train, evaluate the selected metrics on freshly generated samples, write a checkpoint
(networks, prior, optimisers, objective state such as λ, epoch, RNG states, a sample grid) and
``tune.report`` the metrics with it. Given a checkpoint it resumes exactly where it stopped.
"""

from __future__ import annotations

import math
import os
import random
import signal
import tempfile
from pathlib import Path

import numpy as np
import torch
from ray import tune

from trainables.data import load_dataset
from trainables.registry import get_method
from trainables.tasks import Task, TaskRun, get_task
from trainables.train import is_finite

STATE_FILE = "state.pt"
SAMPLES_FILE = "samples.png"
INITIAL_SAMPLES_FILE = "samples_initial.png"  # in a trial's first checkpoint: its grid before any training step
SCHEDULE_PREFIX = "schedule."
SCHEDULE_KEYS = "schedule_keys"  # trial-config key: the knobs population-based training may change


def schedule_values(config: dict) -> dict[str, float]:
    """``schedule.<key>`` → the value an epoch trains with, for each knob PBT may change (none otherwise), so
    MLflow holds a trial's hyperparameters per epoch and not only the configuration it started with."""
    return {f"{SCHEDULE_PREFIX}{k}": float(config[k]) for k in config.get(SCHEDULE_KEYS) or [] if k in config}


class CheckpointError(RuntimeError):
    pass


def load_state(checkpoint_dir: str | os.PathLike) -> dict:
    path = Path(checkpoint_dir) / STATE_FILE
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, corrupt, or not a checkpoint at all
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(e).__name__}: {e}); delete it or resume from an earlier one"
        ) from e


def _trial_threads() -> int:
    """Match torch's intra-op threads to the CPUs Ray gave this trial (Ray sets no torch threads)."""
    try:
        import ray

        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
    except Exception:
        cpus = 1
    return max(1, int(math.ceil(cpus)))


def _trial_device(config: dict) -> str:
    """CUDA when Ray gave this trial a GPU (a fraction counts) and one is visible, else the CPU: a trial that
    asked for no GPU never lands on one by accident, and the same code runs on both."""
    if not config.get("use_cuda", True) or not torch.cuda.is_available():
        return "cpu"
    try:
        import ray

        gpus = ray.get_runtime_context().get_assigned_resources().get("GPU", 0) if ray.is_initialized() else 1
    except Exception:
        gpus = 1  # outside Ray: a visible GPU is ours
    return "cuda" if gpus > 0 else "cpu"


def save_sample_grid(samples: torch.Tensor, path: Path, nrow: int = 8) -> None:
    """Draw a run's grid (``TaskRun.grid``: it chooses what is shown, e.g. one row per class), ``nrow`` per row."""
    if samples.ndim == 4:
        from torchvision.utils import save_image  # imported on first use: ~1.3 s per trial process otherwise

        save_image(samples, path, nrow=nrow, normalize=True, value_range=(-1, 1))


def initial_grid(run: TaskRun) -> torch.Tensor:
    """A grid from the untrained networks, drawn without moving any random number generator, so training goes on
    bit for bit as it would without it (and a run resumed from a checkpoint, which draws none, agrees)."""
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng():
        grid = run.grid(run.sample(64))
    random.setstate(py_state)
    np.random.set_state(np_state)
    return grid


def _checkpoint_dirs() -> tuple[object, list[str]]:
    """(filesystem, this trial's persisted checkpoint folders, oldest first) on whatever --storage names."""
    from pyarrow.fs import FileSelector, FileType

    storage = tune.get_context().get_storage()
    fs = storage.storage_filesystem
    found = fs.get_file_info(FileSelector(storage.trial_fs_path, allow_not_found=True))
    return fs, sorted(i.path for i in found if i.type == FileType.Directory and i.base_name.startswith("checkpoint_"))


def newer_checkpoint(epoch: int) -> dict | None:
    """The newest readable checkpoint this trial persisted beyond ``epoch``, else None.

    Tune records a trial's latest checkpoint in its experiment state, which the driver saves every few
    seconds; a driver killed in between restores the trial from an older one. Without this, a trial that
    had finished would train its last epochs again after ``--resume``. A newer checkpoint that cannot be
    read (its worker died while writing it) is skipped: the one Tune named is still there.
    """
    try:
        fs, dirs = _checkpoint_dirs()
    except Exception:  # no storage context (a bare call outside Tune) or storage unreadable: nothing newer
        return None
    best = None
    for path in dirs:  # by epoch, not by name: a restored trial reuses its recorded checkpoint numbers
        try:
            with tune.Checkpoint(path, fs).as_directory() as d:
                state = load_state(d)
        except (CheckpointError, OSError):
            continue
        if int(state["epoch"]) > (int(best["epoch"]) if best else epoch):
            best = state
    return best


def _truncate_latest_checkpoint() -> None:
    """Cut the trial's latest persisted checkpoint file in half, on whatever filesystem --storage names."""
    fs, dirs = _checkpoint_dirs()
    if dirs:  # none before the first epoch was reported
        path = f"{dirs[-1]}/{STATE_FILE}"
        with fs.open_input_stream(path) as f:
            data = f.read()
        with fs.open_output_stream(path) as f:
            f.write(data[: len(data) // 2])


def inject_faults(config: dict, run: TaskRun, when: str) -> None:
    """Test-only fault injection (``--inject-fault KIND:EPOCH:MARKER``, used by tests/test_faults.py).

    Each fault fires once per search: the first trial to reach EPOCH claims it by creating MARKER
    (O_EXCL, so exactly one trial, and never again after a restart). The faults are real, not mocked:
    ``nan`` puts a NaN into one generator weight before the epoch trains, so the real forward/backward
    passes produce NaN losses; ``kill`` SIGKILLs the trial's worker after the epoch trained but before it
    was reported (its work is lost, as when a node dies); ``corrupt`` truncates the trial's latest
    checkpoint file on storage, then SIGKILLs the worker, so the restart reads a corrupt checkpoint.
    """
    target = run.epoch + 1 if when == "before_epoch" else run.epoch
    for fault in config.get("inject_fault") or []:
        if fault["epoch"] != target or (fault["kind"] == "nan") != (when == "before_epoch"):
            continue
        try:
            fd = os.open(fault["marker"], os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            continue  # another trial, or this one before a restart, took it
        os.write(fd, tune.get_context().get_trial_id().encode())
        os.close(fd)
        if fault["kind"] == "nan":
            with torch.no_grad():
                next(run.generator.parameters()).view(-1)[0] = math.nan
            continue
        if fault["kind"] == "corrupt":
            _truncate_latest_checkpoint()
        os.kill(os.getpid(), signal.SIGKILL)


def _trial_id() -> str | None:
    try:
        return tune.get_context().get_trial_id()
    except Exception:  # outside Tune
        return None


def trial_task(config: dict) -> Task:
    """The task of a trial config's method (unconditional generation, translation, modification)."""
    return get_task(get_method(config["method"], config.get("method_path")).task)


def score_epoch(run, stats, evaluator, config: dict, donor: dict | None, epochs: int, n_eval: int):
    """The epoch's result (losses, bookkeeping and scores) and the outputs it scored, for any task's run."""
    result = {"epoch": run.epoch, **stats.as_dict(), "diverged": 0.0, "feature_path": evaluator.feature_path,
              **getattr(evaluator, "feature_identity", {})}  # fmt: skip
    result.update(schedule_values(config))  # under PBT: the knobs this epoch trained with
    result.update(donor or {})  # the first result after an exploit names the copied checkpoint
    final = run.epoch >= epochs
    # At least a grid's worth, so the sample image exists even in epochs where no metric is due.
    outputs = run.sample(max(evaluator.samples_needed(run.epoch, final, n_eval), 64))
    if is_finite(stats) and run.finite(outputs):
        result.update(evaluator(outputs, run.epoch, final))
    else:
        # A diverged trial gets each metric's worst value so ASHA and TPE rank it last, and ends.
        result.update({"diverged": 1.0, **evaluator.worst()})
    return result, outputs


def train_gan(config: dict) -> None:
    torch.set_num_threads(_trial_threads())
    device = _trial_device(config)
    data = load_dataset(config["dataset"], config.get("data_root"))
    task = trial_task(config)
    run = task.make_run(config, data, device)
    # Loads the classifier / Inception only when a selected metric embeds samples.
    evaluator = task.make_evaluator(config, data, device)
    n_eval = int(config.get("eval_samples", 1000))
    epochs = int(config["epochs"])

    checkpoint = tune.get_checkpoint()
    donor = None  # set when population-based training handed this trial another trial's checkpoint
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            state = load_state(d)
        run.load_state_dict(state)  # the state is the donor's; the hyperparameters stay this trial's config
        if state.get("trial_id") not in (None, _trial_id()):
            donor = {"pbt_donor": state["trial_id"], "pbt_donor_epoch": int(state["epoch"])}
    # A donor's checkpoint replaces this trial's own history: its older checkpoints must not win.
    if donor is None and (newer := newer_checkpoint(run.epoch)) is not None:
        run.load_state_dict(newer)
        if "result" in newer:  # tell Tune (and so ASHA, TPE, MLflow) where the trial really is
            tune.report(newer["result"])
            if newer["result"].get("diverged"):
                return

    before_training = initial_grid(run) if run.epoch == 0 else None
    while run.epoch < epochs:
        inject_faults(config, run, "before_epoch")
        stats = run.train_epoch()
        inject_faults(config, run, "after_training")
        result, outputs = score_epoch(run, stats, evaluator, config, donor, epochs, n_eval)
        donor = None
        with tempfile.TemporaryDirectory() as d:
            torch.save({**run.state_dict(), "result": result, "trial_id": _trial_id()}, Path(d) / STATE_FILE)
            save_sample_grid(run.grid(outputs), Path(d) / SAMPLES_FILE)
            if before_training is not None:
                save_sample_grid(before_training, Path(d) / INITIAL_SAMPLES_FILE)
                before_training = None
            tune.report(result, checkpoint=tune.Checkpoint.from_directory(d))
        if result["diverged"]:
            return
