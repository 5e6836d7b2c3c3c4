"""One trial on several workers (``--workers-per-trial N``): synchronous data-parallel training with Ray Train.

The Tune trial is a coordinator: it starts a ``TorchTrainer`` of N workers (NCCL between GPUs, gloo on CPUs;
each worker gets ``--cpus-per-trial``/``--gpus-per-trial``) and, every epoch, reports rank 0's result with a
checkpoint in exactly the one-worker format (``trainables.trainable.STATE_FILE`` and the sample grid), so ASHA,
PBT, TPE, MLflow and ``--resume`` see the same trial as with one worker. Stopping the trial (ASHA) kills the
coordinator and, with it, the Train controller and workers it owns; their placement group belongs to the job,
so a reaper actor removes it once the coordinator is gone (seen not to release it yet when a coordinator was
killed mid-trial: the restarted trial waited for the CPUs; see the README's known limitation).

Each worker builds the same run from the same seed, so networks, optimisers and random streams start equal on
every rank. Every step then works on the rank's slice of the *global* batch (``--batch-size`` stays the global
batch): the same minibatch indices and the same latent draws as one worker, sliced. Before every optimiser step
the gradients are averaged over the ranks (an all-reduce, as DDP does; hooked on the optimisers rather than by
wrapping the networks in ``DistributedDataParallel``, because GAN losses call the critic several times per
backward and gradient penalties differentiate twice, which DDP's module wrapper does not support), and
float objective state (Fisher's λ) is averaged after each critic step. The critic's input augmentation
(``augment``) draws the global batch's per-sample parameters on every rank and keeps the rank's slice, and ADA's
sign statistics are summed over the ranks, so every rank's p moves as one worker's does. Rank 0 alone scores and
checkpoints, then hands its random state to the others, so their streams stay those of one worker.

Exactness: for losses that are means over the batch of per-sample terms, on networks without batch statistics,
the averaged gradient is the global batch's, so training matches one worker to float tolerance (tested on CPU
with gloo). Batch normalisation normalises over each rank's slice (on GPUs it is converted to
``SyncBatchNorm``, which normalises over the global batch); losses non-linear in batch moments (Fisher's
penalty) and per-sample random draws inside a loss (WGAN-GP's interpolation weights) are data-parallel but not
bit-equal to one worker.
"""

from __future__ import annotations

import contextlib
import functools
import io
import queue
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.distributed as dist
from ray import tune

WORKERS_KEY = "workers_per_trial"  # trial-config key; absent or 1 → the one-worker trainable
RESOURCES_KEY = "worker_resources"  # {"CPU": …, "GPU": …} per worker
_DONE, _EPOCH, _PLACEMENT = "done", "epoch", "placement group"
REAPER_POLL_S = 1.0


def workers(config: dict) -> int:
    return int(config.get(WORKERS_KEY) or 1)


# -- the coordinator (inside the Tune trial) ---------------------------------------------------------------


def train_distributed(config: dict) -> None:
    """The Tune trial of a multi-worker run: start the workers, report what rank 0 sends, epoch by epoch."""
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer
    from ray.util.queue import Queue

    from trainables.trainable import STATE_FILE, _trial_id, inject_faults, load_state, newer_checkpoint

    state, donor = None, None
    if (checkpoint := tune.get_checkpoint()) is not None:
        with checkpoint.as_directory() as d:
            state = load_state(d)
        if state.get("trial_id") not in (None, _trial_id()):  # population-based training handed another's
            donor = {"pbt_donor": state["trial_id"], "pbt_donor_epoch": int(state["epoch"])}
    if donor is None and (newer := newer_checkpoint(int(state["epoch"]) if state else 0)) is not None:
        state = newer
        if "result" in newer:  # tell Tune where the trial really is, as the one-worker trainable does
            tune.report(newer["result"])
            if newer["result"].get("diverged"):
                return

    resources = dict(config.get(RESOURCES_KEY) or {"CPU": 1})
    use_gpu = float(resources.get("GPU", 0)) > 0
    results: Queue = Queue(maxsize=1, actor_options={"num_cpus": 0})  # rank 0 waits until its epoch is reported
    with tempfile.TemporaryDirectory(prefix="train-") as train_storage:  # Train's own files; checkpoints go to Tune
        trainer = TorchTrainer(
            worker_loop,
            train_loop_config={
                "config": config,
                "state": _to_bytes(state) if state else None,
                "donor": donor,
                "trial_id": _trial_id(),
                "results": results,
            },  # fmt: skip
            scaling_config=ScalingConfig(num_workers=workers(config), use_gpu=use_gpu, resources_per_worker=resources),
            torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
            run_config=RunConfig(name=f"workers-{_trial_id() or 'local'}", storage_path=train_storage),
        )
        outcome: queue.Queue = queue.Queue()
        threading.Thread(target=_fit, args=(trainer, results, outcome), daemon=True).start()
        while (item := results.get()) != _DONE:
            if item[0] == _PLACEMENT:  # the workers' placement group: removed if this coordinator dies
                _reap_when_gone(item[1])
                continue
            _, (result, state_bytes, grid) = item
            # Test-only kill/corrupt faults fire here, where the coordinator would report the epoch.
            inject_faults(config, SimpleNamespace(epoch=int(result["epoch"])), "after_training")
            with tempfile.TemporaryDirectory() as d:
                Path(d, STATE_FILE).write_bytes(state_bytes)
                if grid is not None:
                    from trainables.trainable import SAMPLES_FILE

                    Path(d, SAMPLES_FILE).write_bytes(grid)
                tune.report(result, checkpoint=tune.Checkpoint.from_directory(d))
        if (error := outcome.get()) is not None:
            raise RuntimeError(f"a worker of this {workers(config)}-worker trial failed: {error}") from error


def _reap_when_gone(placement_group_id: str | None) -> None:
    """Ray Train's workers die with the coordinator that owns their controller (ASHA stopping the trial, a lost
    node), but their placement group is the job's and would hold its CPUs/GPUs until the search ends. Train's own
    cleaner asks the dashboard's state API, which a search without a dashboard lacks; this one asks the GCS."""
    import ray

    if placement_group_id is None:
        return
    coordinator = ray.get_runtime_context().get_actor_id()
    reaper = _reaper_class().options(name=f"reaper-{coordinator}", lifetime="detached", num_cpus=0).remote()
    reaper.watch.remote(coordinator, placement_group_id)


@functools.cache
def _reaper_class():
    import ray

    @ray.remote
    class Reaper:
        def watch(self, coordinator_id: str, placement_group_id: str) -> None:
            from ray._private import state
            from ray._raylet import PlacementGroupID
            from ray.util.placement_group import PlacementGroup, remove_placement_group

            while (state.actors(actor_id=coordinator_id) or {}).get("State", "DEAD") != "DEAD":
                time.sleep(REAPER_POLL_S)
            with contextlib.suppress(Exception):  # already removed: Train removes it when it ends normally
                remove_placement_group(PlacementGroup(PlacementGroupID.from_hex(placement_group_id)))
            ray.actor.exit_actor()

    return Reaper


def _fit(trainer, results, outcome: queue.Queue) -> None:
    try:
        trainer.fit()
        outcome.put(None)
    except Exception as e:  # reported by the coordinator, which Tune then retries or marks errored
        outcome.put(e)
    results.put(_DONE)


def _to_bytes(state: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


# -- the workers (Ray Train) ------------------------------------------------------------------------------


class GlobalBatchSlice:
    """The training set as a run indexes it, answering each global minibatch with this rank's slice of it."""

    def __init__(self, x: torch.Tensor, rank: int, world: int):
        self.x, self.rank, self.world = x, rank, world
        self.shape = x.shape

    def __getitem__(self, index: torch.Tensor) -> torch.Tensor:
        return self.x[index.tensor_split(self.world)[self.rank]]


class GlobalDrawSlice(torch.nn.Module):
    """The latent prior during training: draws the global batch's latents (every rank the same, as one worker
    draws them) and keeps this rank's slice; everything else is the prior itself."""

    def __init__(self, prior: torch.nn.Module, rank: int, world: int):
        super().__init__()
        self.prior, self.rank, self.world = prior, rank, world

    def sample(self, n: int) -> torch.Tensor:
        return self.prior.sample(n).tensor_split(self.world)[self.rank]

    def regulariser(self) -> torch.Tensor:
        return self.prior.regulariser()

    def stats(self) -> dict[str, float]:
        return self.prior.stats()


class GlobalUniformSlice:
    """The augmentation's per-sample draws during training: the global batch's draws (every rank the same, as one
    worker draws them), of which this rank keeps the slice that matches its samples."""

    def __init__(self, batch_size: int, rank: int, world: int):
        self.batch_size, self.rank, self.world = batch_size, rank, world

    def __call__(self, n: int, device: torch.device) -> torch.Tensor:
        mine = torch.rand(self.batch_size, device=device).tensor_split(self.world)[self.rank]
        if len(mine) != n:
            raise ValueError(f"rank {self.rank} augments {n} samples, its slice of the global batch is {len(mine)}")
        return mine


def _sum_over_ranks(device: torch.device):
    """ADA's (sum of signs, count) over every rank's real samples: all ranks move p alike, as one worker would."""

    def pool(signs: float, count: int) -> tuple[float, int]:
        t = torch.tensor([signs, float(count)], dtype=torch.float64, device=device)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return float(t[0]), int(t[1])

    return pool


def _average_gradients(optimizer: torch.optim.Optimizer, *_args) -> None:
    """Step pre-hook: every parameter's gradient becomes its mean over the ranks (what DDP's reducer computes)."""
    world = dist.get_world_size()
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p.grad is not None:
                dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
                p.grad.div_(world)


def _mean_over_ranks(values: dict[str, float], device: torch.device) -> dict[str, float]:
    keys = sorted(k for k, v in values.items() if isinstance(v, int | float) and not isinstance(v, bool))
    if not keys:
        return dict(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return {**values, **dict(zip(keys, (t / dist.get_world_size()).tolist(), strict=True))}


def make_data_parallel(run, rank: int, world: int) -> None:
    """Turn a one-worker ``GANRun`` into this rank's part of a data-parallel one (in place)."""
    run.train_x = GlobalBatchSlice(run.train_x, rank, world)
    for optimizer in (run.opt_d, run.opt_g, run.opt_prior):
        if optimizer is not None:
            optimizer.register_step_pre_hook(_average_gradients)
    objective, after = run.objective, run.objective.after_critic_step

    def after_critic_step(critic) -> None:
        after(critic)
        state = objective.state_dict()
        if state:
            objective.load_state_dict(_mean_over_ranks(state, run.device))

    objective.after_critic_step = after_critic_step
    augmentation = getattr(run, "augmentation", None)
    if augmentation is not None and augmentation.enabled:
        augmentation.draw = GlobalUniformSlice(run.trial.batch_size, rank, world)
        augmentation.pool = _sum_over_ranks(run.device)


def _train_epoch(run, rank: int, world: int):
    """One epoch on this rank's slices; losses and logged extras averaged over the ranks (the global batch's)."""
    prior = run.prior
    run.prior = GlobalDrawSlice(prior, rank, world)
    try:
        stats = run.train_epoch()
    finally:
        run.prior = prior
    stats.loss_d, stats.loss_g = (
        _mean_over_ranks({"d": stats.loss_d, "g": stats.loss_g}, run.device)[k] for k in ("d", "g")
    )
    stats.extra = _mean_over_ranks(stats.extra, run.device)
    return stats


def worker_loop(loop: dict) -> None:
    """What every Ray Train worker runs: the trainable's epoch loop, data-parallel; rank 0 scores and reports."""
    import ray
    import ray.train
    import ray.train.torch

    from trainables.data import load_dataset
    from trainables.train import is_finite, rng_state, set_rng_state
    from trainables.trainable import trial_task

    config, results = loop["config"], loop["results"]
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    resources = config.get(RESOURCES_KEY) or {}
    torch.set_num_threads(max(1, int(float(resources.get("CPU", 1)))))
    device = ray.train.torch.get_device() if float(resources.get("GPU", 0)) > 0 else torch.device("cpu")
    data = load_dataset(config["dataset"], config.get("data_root"))
    task = trial_task(config)
    if task.name != "generate":
        raise ValueError(f"--workers-per-trial > 1 trains the generate task; {config['method']} is {task.name}")
    run = task.make_run(config, data, device)
    if device.type == "cuda":  # batch statistics over the global batch, as one worker computes them
        run.generator = torch.nn.SyncBatchNorm.convert_sync_batchnorm(run.generator)
        run.critic = torch.nn.SyncBatchNorm.convert_sync_batchnorm(run.critic)
    if loop["state"] is not None:
        run.load_state_dict(torch.load(io.BytesIO(loop["state"]), map_location="cpu", weights_only=True))
    make_data_parallel(run, rank, world)
    if rank == 0:
        results.put((_PLACEMENT, ray.get_runtime_context().get_placement_group_id()))
    evaluator = task.make_evaluator(config, data, device) if rank == 0 else None
    n_eval, epochs, donor = int(config.get("eval_samples", 1000)), int(config["epochs"]), loop["donor"]

    while run.epoch < epochs:
        stats = _train_epoch(run, rank, world)
        diverged = torch.tensor([0.0 if is_finite(stats) else 1.0], device=device)
        if rank == 0:
            from trainables.trainable import save_sample_grid, score_epoch

            result, outputs = score_epoch(run, stats, evaluator, config, donor, epochs, n_eval)
            if result["diverged"]:
                diverged.fill_(1.0)
            state = {**run.state_dict(), "result": result, "trial_id": loop["trial_id"]}
            with tempfile.TemporaryDirectory() as d:
                save_sample_grid(run.grid(outputs), Path(d) / "grid.png")
                grid = (Path(d) / "grid.png").read_bytes() if (Path(d) / "grid.png").exists() else None
            results.put((_EPOCH, (result, _to_bytes(state), grid)))
        donor = None
        shared = [rng_state() if rank == 0 else None]
        dist.broadcast_object_list(shared, src=0)  # rank 0's stream went on through sampling and scoring
        set_rng_state(shared[0])
        dist.broadcast(diverged, src=0)
        if diverged.item():
            return
