"""Final runs (compare_gan's last phase): the best configuration of a search re-trained with K fresh seeds.

The finals are a second, small Ray Tune run of the same trainable (a grid over seeds, no scheduler, the full
epoch budget), logged as children of the search's parent MLflow run with ``final=true`` and ``seed`` tags.
Each final checkpoint is then scored with the paper protocol, in a Ray task with a trial's resources:
``final_samples`` fresh samples, Inception Score over 10 splits, DDM and every other selected metric,
logged to the final's run as ``final_<metric>`` (step = the epoch budget). The tables are built from these.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

import numpy as np
import ray
import torch
from mlflow.entities import Metric, Param
from ray import tune

from tuner.mlflow_filters import tag_equals
from tuner.mlflow_logging import MLflowTrialLogger, get_or_create_experiment, make_client
from tuner.mlflow_tags import DATASET_TAG, FINAL_TAG, METHOD_TAG, ROLE_TAG, SEARCH_TAG, TRIAL_TAG
from tuner.numbers import distinct
from tuner.progress import ProgressPrinter

FRONT_TAG = "front_point"  # which point of a Pareto front a final_front run re-trains (0 = best first objective)
FINAL_PREFIX = "final_"


def final_seeds(search_seed: int, k: int) -> list[int]:
    """K seeds that differ from the search's (every search trial uses ``search_seed``)."""
    return [search_seed + 1 + i for i in range(k)]


GALLERY_FILE = "nearest_neighbours.png"  # MLflow artifact of a final run: generated | its 3 nearest training images


def evaluate_checkpoint(checkpoint_dir: str, config: dict, n_samples: int) -> dict[str, float]:
    """Score a trained checkpoint on ``n_samples`` fresh samples with every metric selected in ``config``
    (per-epoch sample counts and periods do not apply: the final protocol scores all metrics on all samples)."""
    return score_checkpoint(checkpoint_dir, config, n_samples)[0]


def score_checkpoint(checkpoint_dir: str, config: dict, n_samples: int) -> tuple[dict[str, float], np.ndarray | None]:
    """``evaluate_checkpoint``'s scores and, for generated images scored in a feature space, the nearest-neighbour
    gallery (``trainables.gallery``). The finals score on ``config["final_features"]`` where the search chose one."""
    from trainables.data import load_dataset
    from trainables.trainable import _trial_device, _trial_threads, load_state, trial_task

    torch.set_num_threads(_trial_threads())
    device = _trial_device(config)  # the GPU Ray assigned to this task, exactly as for a trial
    config = {**config, **(config.get("final_features") or {}), "eval_samples": n_samples, "metric_samples": {},
              "metric_every": {}}  # fmt: skip
    data = load_dataset(config["dataset"], config.get("data_root"))
    task = trial_task(config)
    run = task.make_run(config, data, device)
    state = load_state(checkpoint_dir)
    run.load_state_dict(state)  # also restores the RNG: the samples are reproducible
    evaluator = task.make_evaluator(config, data, device)
    samples = run.sample(n_samples)
    scores = evaluator(samples, int(state["epoch"]), final=True)
    return scores, _gallery(evaluator, samples)


def _gallery(evaluator, samples: torch.Tensor) -> np.ndarray | None:
    from trainables.evaluate import Evaluator
    from trainables.gallery import ROWS, nearest_gallery

    if not isinstance(evaluator, Evaluator) or evaluator.extractor is None or samples.ndim != 4:
        return None  # points, translations, modifications: no training-image neighbours to show
    gen = samples[:ROWS]
    train = evaluator.reference("train").features
    return nearest_gallery(gen, evaluator.extractor.embed(gen).features, evaluator.real_x("train"), train)


@ray.remote
def _evaluate_remote(checkpoint: tune.Checkpoint, config: dict, n_samples: int):
    with checkpoint.as_directory() as d:
        return score_checkpoint(d, config, n_samples)


@dataclass
class FinalRun:
    seed: int
    run_id: str | None
    end_state: str  # completed | diverged | errored | evaluation failed
    metrics: dict[str, float]  # paper-protocol scores; empty unless completed
    seconds: float = 0.0  # its training time (Ray's time_total_s), for the closing trial-hours


def best_config(results: tune.ResultGrid, metric: str, mode: str) -> dict | None:
    try:
        return dict(results.get_best_result(metric, mode, scope="all").config)
    except RuntimeError:  # no trial reported the metric
        return None


def run_finals(
    args: argparse.Namespace,
    results: tune.ResultGrid,
    *,
    mode: str,
    search_name: str,
    experiment: str,
    mlflow_uri: str,
    parent_run_id: str | None,
    storage: str,
    front_point: tuple[int, dict] | None = None,
    clock=None,
) -> list[FinalRun]:
    """Train the best configuration of ``results`` with ``args.final_seeds`` seeds and score each final run.

    ``front_point`` (index, config) re-trains point ``index`` of a multi-objective search's Pareto front instead:
    its runs are tagged ``role=final_front`` and ``front_point``, and the parent gets ``finals.front<i>.*``."""
    metric = args.metric.split(",")[0]  # the first objective of a multi-objective search
    config = dict(front_point[1]) if front_point else best_config(results, metric, mode)
    if config is None:
        print(f"finals skipped: no trial reported {metric}")
        return []
    config.pop("inject_fault", None)  # test-only faults of the search must not follow its best config
    seeds = final_seeds(args.seed, args.final_seeds)
    what = f"Pareto front point {front_point[0]}" if front_point else "best configuration"
    print(f"\nfinals: {what} × seeds {seeds}, {args.epochs} epochs, {args.final_samples} samples scored")
    suffix, role_tags = "", {ROLE_TAG: "final", FINAL_TAG: "true"}
    if front_point:  # not role=final: a table row averages one configuration's seeds, never several points'
        suffix, role_tags = f"front{front_point[0]}", {ROLE_TAG: "final_front", FRONT_TAG: str(front_point[0])}
    logger = MLflowTrialLogger(
        mlflow_uri,
        experiment,
        args.epochs,
        tags={METHOD_TAG: args.method, DATASET_TAG: args.dataset, SEARCH_TAG: search_name, **role_tags},
        parent_run_id=parent_run_id,
        sample_every=args.sample_every,
        tag_keys=("seed",),
        run_name_format=final_run_name(args.method, suffix),
    )  # fmt: skip
    from trainables.trainable import train_gan

    resources = {"cpu": args.cpus_per_trial, "gpu": args.gpus_per_trial}
    trainable = tune.with_resources(train_gan, resources)
    from tuner import resume

    path = resume.experiment_path(storage, f"{search_name}-finals" + (f"-{suffix}" if suffix else ""))
    if getattr(args, "resume", False) and tune.Tuner.can_restore(path):
        # The driver died during the finals: finished seeds are kept, the others continue from checkpoints,
        # and the logger (restored with the experiment) finds their MLflow runs again.
        print(f"finals: resuming {path}")
        tuner = resume.restore(path, trainable)
    else:
        tuner = tune.Tuner(
            trainable,
            param_space={**config, "epochs": args.epochs, "seed": tune.grid_search(seeds)},
            tune_config=tune.TuneConfig(metric=metric, mode=mode, max_concurrent_trials=args.concurrency),
            run_config=tune.RunConfig(
                name=path.rsplit("/", 1)[-1],
                storage_path=storage,
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
                failure_config=tune.FailureConfig(max_failures=2),
                callbacks=[
                    logger,
                    ProgressPrinter(args.metric, len(seeds), args.epochs, mode, label="final", clock=clock),
                ],
                verbose=0,
            ),
        )
    final_results = tuner.fit()
    print(f"finals: scoring {len(seeds)} checkpoint(s) on {args.final_samples} samples each", flush=True)

    # Score every completed final in parallel, each a task with a trial's resources (a GPU where trials had one).
    # A final already scored (a resumed search) keeps its logged scores: read back, never logged twice.
    client = make_client(mlflow_uri)
    experiment_id = get_or_create_experiment(client, experiment)
    pending, finals = {}, []
    for r in final_results:
        seed = int(r.config["seed"])
        state = "errored" if r.error else "diverged" if (r.metrics or {}).get("diverged") else "completed"
        final = FinalRun(seed, None, state, {}, float((r.metrics or {}).get("time_total_s", 0.0) or 0.0))
        finals.append(final)
        if state != "completed" or r.checkpoint is None:
            continue
        found = client.search_runs([experiment_id], tag_equals(TRIAL_TAG, r.metrics["trial_id"]), max_results=1)
        if found:
            final.run_id = found[0].info.run_id
            metrics = found[0].data.metrics
            if logged := {k[len(FINAL_PREFIX) :]: v for k, v in metrics.items() if k.startswith(FINAL_PREFIX)}:
                final.metrics = logged
                continue
        task = _evaluate_remote.options(num_cpus=args.cpus_per_trial, num_gpus=args.gpus_per_trial)
        pending[len(finals) - 1] = task.remote(r.checkpoint, r.config, args.final_samples)
    for i, ref in pending.items():
        try:
            finals[i].metrics, gallery = ray.get(ref)
        except ray.exceptions.RayError as e:  # one unscorable final must not cost the others
            finals[i].end_state = "evaluation failed"
            print(f"warning: final seed {finals[i].seed} could not be scored: {str(e).splitlines()[0]}", flush=True)
            continue
        if finals[i].run_id:
            log_final_metrics(client, finals[i].run_id, finals[i].metrics, args.epochs, args.final_samples)
            if gallery is not None:
                try:  # a view, not a score: a store that is down loses the image, never the final's scores
                    client.log_image(finals[i].run_id, gallery, artifact_file=GALLERY_FILE)
                except Exception as e:
                    print(f"warning: final seed {finals[i].seed}: nearest-neighbour gallery not logged ({e})")
    summary = summarise(finals)
    if parent_run_id and summary:
        ts = int(time.time() * 1000)
        # "finals.mean.ddm", not "final_ddm_mean": a final run's own "final_inception_score_std" is a split std.
        prefix = f"finals.{suffix}." if suffix else "finals."
        stats = [(f"{prefix}{stat}.{k}", v) for k, s in summary.items() for stat, v in s.items() if math.isfinite(v)]
        logged = client.get_run(parent_run_id).data.metrics
        metrics = [Metric(key, v, ts, 0) for key, v in stats if logged.get(key) != v]  # a resume adds no copies
        if metrics:
            client.log_batch(parent_run_id, metrics=metrics)
    print_summary(finals, summary)
    return finals


def final_run_name(method: str, suffix: str = "") -> str:
    """``deli_fisher final seed=1`` (a format string over the trial config): finals of several searches in one
    experiment stay apart by their method."""
    method = method.replace("{", "{{").replace("}", "}}")
    return f"{method} final {suffix} seed={{seed}}" if suffix else f"{method} final seed={{seed}}"


def log_final_metrics(client, run_id: str, metrics: dict[str, float], epoch: int, n_samples: int) -> None:
    ts = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(f"{FINAL_PREFIX}{k}", float(v), ts, epoch) for k, v in metrics.items()],
        params=[Param("final_samples", str(n_samples))],
    )


def summarise(finals: list[FinalRun]) -> dict[str, dict[str, float]]:
    """Mean and sample standard deviation (ddof = 1, as the tables report) of each score over completed seeds."""
    scored = [f.metrics for f in finals if f.metrics]
    out = {}
    for k in sorted({k for m in scored for k in m}):
        v = np.array([m[k] for m in scored if k in m], dtype=np.float64)
        out[k] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else math.nan}
    return out


def print_summary(finals: list[FinalRun], summary: dict[str, dict[str, float]]) -> None:
    lost = [f"seed {f.seed} {f.end_state}" for f in finals if f.end_state != "completed"]
    n = sum(1 for f in finals if f.metrics)
    print(f"finals: {n}/{len(finals)} seeds scored" + (f" ({', '.join(lost)})" if lost else ""))
    for k, s in summary.items():
        values = [f.metrics[k] for f in finals if k in f.metrics]
        std = f"{s['std']:.2g}" if math.isfinite(s["std"]) else "n/a (one seed)"
        print(f"  {k}: {distinct([s['mean'], *values])[0]} ± {std}")
