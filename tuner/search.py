"""Command line entry point: ``python -m tuner.search METHOD [options]``.

CLI → search space → Ray Tune (OptunaSearch/TPE + ASHA) → trainable → MLflow. Arguments are validated
before anything is started or written: a bad value prints one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from datetime import datetime
from pathlib import Path

import optuna
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

import search_spaces
from trainables.data import DataError, check_data_root, dataset_info, dataset_names, load_dataset
from trainables.evaluate import check_metrics, default_metrics, metric_modes, metric_names, needs_extractor
from trainables.features import check_feature_kind, default_feature_kind, feature_path
from trainables.nets import NetOptions, NetworkError, network_family
from trainables.registry import get_method, method_names
from trainables.trainable import train_gan
from tuner import optuna_storage
from tuner.finals import run_finals
from tuner.mlflow_logging import (
    MLflowTrialLogger,
    code_version,
    describe_space,
    end_search_run,
    get_or_create_experiment,
    make_client,
    start_search_run,
)
from tuner.mlflow_resilient import report_kept
from tuner.ray_setup import RayJoinError

# Metrics a search can optimise, and which way is better, from the metric registry: fid, kid, ddm,
# ddm_relative, ddm_goldberger min; inception_score, precision, recall, density, coverage, modes_covered,
# high_quality_fraction, parzen_ll max; ms_ssim min (a diversity score: lower = more diverse samples).
MODES = metric_modes()
DEFAULT_METRIC = {"image": "inception_score", "points": "modes_covered"}


class UsageError(ValueError):
    """Bad user input: reported as one line on stderr, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints a usage block first; bad input is one line here
        self.exit(2, f"error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="python -m tuner.search",
        description="Hyperparameter search for a GAN method with Optuna (TPE) + ASHA on Ray Tune, logged to MLflow.",
    )
    p.add_argument("method", nargs="?", help=f"GAN method: {', '.join(method_names())}")
    p.add_argument("--list", action="store_true", help="list methods and exit")
    p.add_argument("--dataset", default="mnist5k", help=f"dataset: {', '.join(dataset_names())} (default mnist5k)")
    p.add_argument("--data-root", default=None, help="folder holding real datasets (never downloaded)")
    p.add_argument("--trials", type=int, default=64, help="number of trials (default 64)")
    p.add_argument("--epochs", type=int, default=4, help="max epochs per trial, ASHA's budget (default 4)")
    p.add_argument("--grace-period", type=int, default=1, help="ASHA: epochs before a trial can be stopped")
    p.add_argument("--reduction-factor", type=float, default=3, help="ASHA reduction factor (default 3)")
    p.add_argument("--concurrency", type=int, default=2, help="trials running at once (default 2)")
    p.add_argument("--cpus-per-trial", type=float, default=1, help="CPUs per trial (default 1)")
    p.add_argument("--gpus-per-trial", type=float, default=0, help="GPUs per trial, fractions allowed (default 0)")
    p.add_argument("--metric", default=None, help=f"metric to optimise: {', '.join(MODES)} "
                   "(default: inception_score for images, modes_covered for points, ddm otherwise)")  # fmt: skip
    p.add_argument("--metrics", default=None, help=f"metrics reported per epoch: {', '.join(metric_names())} "
                   "(default: inception_score,ddm for images; ring,ddm for point sets)")  # fmt: skip
    p.add_argument("--metric-samples", default="", help="per-metric generated-sample counts, e.g. fid=5000,kid=2000 "
                   "(default: --eval-samples for each)")  # fmt: skip
    p.add_argument("--metric-every", default="", help="compute expensive metrics every k epochs (and at the last), "
                   "e.g. fid=5,precision_recall=5 (default 1; the optimised metric must stay at 1)")  # fmt: skip
    p.add_argument("--features", default=None, choices=["classifier", "inception-v3", "raw"],
                   help="feature path for IS/DDM/FID/KID/PR: the dataset's classifier (default for images), "
                   "Inception-v3 (default when --inception-weights is given) or raw (point sets)")  # fmt: skip
    p.add_argument("--inception-weights", default=None, help="torch-fidelity Inception-v3 weights file (else "
                   "$GAN_TUNER_INCEPTION_WEIGHTS, else the torch hub cache; never downloaded)")  # fmt: skip
    p.add_argument("--eval-samples", type=int, default=1000, help="generated samples scored per epoch")
    p.add_argument("--width", type=int, default=32, help="network width (DCGAN ngf/ndf; default 32 for CPU)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument(
        "--train-limit",
        type=int,
        default=None,
        help="train on at most N evenly spaced training samples (quick smoke searches; default: all)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler and of every trial")
    p.add_argument("--mlflow-uri", default=None, help="MLflow tracking URI (default: sqlite:///./mlflow.db)")
    p.add_argument("--storage", default="ray_results", help="Ray results folder or URI (default ./ray_results)")
    p.add_argument("--name", default=None, help="search name: Ray folder and MLflow experiment")
    p.add_argument("--address", default=None, help="join an existing Ray cluster (e.g. 10.0.0.1:6379 or 'auto')")
    p.add_argument("--resume", action="store_true", help="continue the search --name NAME after its driver died: "
                   "finished trials are kept, the others continue from their last checkpoint")  # fmt: skip
    p.add_argument("--amp", action="store_true", help="mixed precision: bfloat16 autocast of the networks (for GPUs)")
    # Test-only fault injection (tests/test_faults.py), KIND:EPOCH:MARKER; see trainables/trainable.py.
    p.add_argument("--inject-fault", action="append", default=None, help=argparse.SUPPRESS)
    p.add_argument(
        "--experiment",
        default=None,
        help="MLflow experiment (default: the search name); share one "
        "between searches to compare methods side by side in the UI and in reports.table",
    )
    p.add_argument(
        "--final-seeds",
        type=int,
        default=0,
        help="after the search, re-train the best configuration "
        "with K fresh seeds for the full budget and score it with the paper protocol (default 0: none)",
    )
    p.add_argument(
        "--final-samples",
        type=int,
        default=10000,
        help="samples scored per final run (Inception Score over 10 splits; the papers use 50000)",
    )
    p.add_argument(
        "--optuna-storage",
        default=None,
        help="Optuna study storage URL (default: sqlite optuna.db "
        "beside the MLflow database); the study is named after the search",
    )
    p.add_argument(
        "--sample-every",
        type=int,
        default=1,
        help="log a sample grid to MLflow every k epochs (and at each trial's last epoch; default 1)",
    )
    return p


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise UsageError(message)


def validate(args: argparse.Namespace) -> None:
    """Every check that can fail before a search starts; raises UsageError with one clear line."""
    _check(args.method is not None, f"missing METHOD; valid: {', '.join(method_names())}")
    _check(args.method in method_names(), f"unknown method {args.method!r}; valid: {', '.join(method_names())}")
    if getattr(args, "resume", False):  # the stored search's arguments replace the command line's
        from tuner.resume import ResumeError, apply_stored_args

        try:
            apply_stored_args(args, build_parser().parse_args([args.method]), storage_path(args.storage))
        except ResumeError as e:
            raise UsageError(str(e)) from e
    _check(args.dataset in dataset_names(), f"unknown dataset {args.dataset!r}; valid: {', '.join(dataset_names())}")
    for flag, value, low in [
        ("--trials", args.trials, 1), ("--epochs", args.epochs, 1), ("--concurrency", args.concurrency, 1),
        ("--grace-period", args.grace_period, 1), ("--eval-samples", args.eval_samples, 10),
        ("--width", args.width, 1), ("--batch-size", args.batch_size, 2),
        ("--final-seeds", args.final_seeds, 0), ("--final-samples", args.final_samples, 10),
        ("--sample-every", args.sample_every, 1),
    ]:  # fmt: skip
        _check(value >= low, f"{flag} must be an integer ≥ {low} (got {value})")
    _check(args.grace_period <= args.epochs, f"--grace-period ({args.grace_period}) must be ≤ --epochs ({args.epochs})")
    if args.train_limit is not None:
        _check(
            args.train_limit >= args.batch_size,
            f"--train-limit must be ≥ --batch-size ({args.batch_size}) to fill one batch (got {args.train_limit})",
        )
    _check(args.reduction_factor > 1, f"--reduction-factor must be > 1 (got {args.reduction_factor})")
    _check(args.cpus_per_trial > 0, f"--cpus-per-trial must be > 0 (got {args.cpus_per_trial})")
    _check(args.gpus_per_trial >= 0, f"--gpus-per-trial must be ≥ 0 (got {args.gpus_per_trial})")
    validate_metrics(args)
    method, info = get_method(args.method), dataset_info(args.dataset)
    _check(info.kind in method.kinds, f"method {args.method} cannot train on {info.kind} data ({args.dataset})")
    try:  # e.g. an image size no network supports
        network_family(info, NetOptions(**method.net_options))
    except NetworkError as e:
        raise UsageError(f"method {args.method} on {args.dataset}: {e}") from e
    if not info.embedded:  # real data: the layout first (one line naming it), then parse it before anything starts
        check_data_root(args.dataset, args.data_root)
        load_dataset(args.dataset, args.data_root)
    if args.mlflow_uri and args.mlflow_uri.startswith("sqlite:///"):
        parent = Path(args.mlflow_uri.removeprefix("sqlite:///")).expanduser().resolve().parent
        _check(parent.is_dir(), f"--mlflow-uri: folder {parent} does not exist; create it or pick another path")
    if args.optuna_storage:
        problem = optuna_storage.check_storage_url(args.optuna_storage)
        _check(problem is None, problem or "")
    validate_runtime(args)


STORAGE_SCHEMES = ("s3", "gs", "gcs", "abfs", "abfss", "hdfs", "file", "memory", "mock")


def validate_runtime(args: argparse.Namespace) -> None:
    """Where the search runs, stores and logs. Unreachable services fail here, before anything is written."""
    from tuner.mlflow_resilient import check_tracking_uri
    from tuner.ray_setup import RayJoinError, check_address

    try:
        parse_faults(getattr(args, "inject_fault", None))
    except ValueError as e:
        raise UsageError(f"--inject-fault: {e}") from e
    scheme = args.storage.split("://", 1)[0] if "://" in args.storage else None
    _check(scheme is None or scheme in STORAGE_SCHEMES, f"--storage: unsupported URI scheme {scheme!r}; use a "
           f"shared filesystem path or one of {', '.join(s + '://' for s in STORAGE_SCHEMES)}")  # fmt: skip
    if scheme is None:
        folder = Path(args.storage).expanduser()
        _check(not folder.exists() or folder.is_dir(), f"--storage {args.storage} is a file; give a folder")
    if args.name and not getattr(args, "resume", False) and scheme is None:
        from tuner.resume import ARGS_FILE, experiment_path

        done = Path(experiment_path(storage_path(args.storage), args.name), ARGS_FILE)
        _check(not done.exists(), f"--name {args.name}: a search of that name exists in {args.storage}; "
               "add --resume to continue it or pick another --name")  # fmt: skip
    if args.address:
        try:
            check_address(args.address)
        except RayJoinError as e:
            raise UsageError(str(e)) from e
    problem = check_tracking_uri(args.mlflow_uri) if args.mlflow_uri else None
    _check(problem is None, problem or "")


FAULT_KINDS = ("nan", "kill", "corrupt")


def parse_faults(specs: list[str] | None) -> list[dict]:
    """``KIND:EPOCH:MARKER`` → [{"kind", "epoch", "marker"}]; plain parsing, nothing is evaluated."""
    faults = []
    for spec in specs or []:
        kind, _, rest = spec.partition(":")
        epoch, _, marker = rest.partition(":")
        if kind not in FAULT_KINDS or not epoch.isdigit() or int(epoch) < 1 or not marker:
            raise ValueError(f"expected KIND:EPOCH:MARKER with KIND in {', '.join(FAULT_KINDS)}, got {spec!r}")
        faults.append({"kind": kind, "epoch": int(epoch), "marker": str(Path(marker).resolve())})
    return faults


def apply_metric_defaults(args: argparse.Namespace) -> None:
    """Fill --metrics/--metric/--features from the dataset's kind when not given (idempotent)."""
    info = dataset_info(args.dataset)
    if getattr(args, "metrics", None) is None:
        args.metrics = ",".join(default_metrics(args.dataset))
    if getattr(args, "metric", None) is None:
        args.metric = DEFAULT_METRIC.get(info.kind, "ddm")  # when --metrics reports it
        try:
            reported = [k for k in _reported_keys(args.metrics) if k in MODES]
            if args.metric not in reported and reported:
                args.metric = reported[0]  # the first optimisable metric the user asked for
        except ValueError:
            pass  # an unknown --metrics name: validate_metrics reports it
    if getattr(args, "features", None) is None:
        args.features = default_feature_kind(args.dataset, getattr(args, "inception_weights", None))


def _reported_keys(metrics: str) -> list[str]:
    from trainables.evaluate import METRICS, resolve_metrics

    return [k for m in resolve_metrics(metrics) for k in METRICS[m].keys]


def parse_metric_map(text: str, flag: str) -> dict[str, int]:
    """``fid=5000,kid=2000`` → {"fid": 5000, "kid": 2000}, keyed by registry name; UsageError on bad input."""
    from trainables.evaluate import resolve_metrics

    out = {}
    for item in (t for t in (text or "").split(",") if t):
        name, sep, value = item.partition("=")
        _check(bool(sep) and value.strip().isdigit(), f"{flag}: expected NAME=INTEGER items, got {item!r}")
        try:
            out[resolve_metrics([name.strip()])[0]] = int(value)
        except ValueError as e:
            raise UsageError(f"{flag}: {e}") from e
    return out


def validate_metrics(args: argparse.Namespace) -> None:
    """--metrics, --metric, --features, --inception-weights, --metric-samples/--metric-every: one line each."""
    apply_metric_defaults(args)
    try:
        metrics = check_metrics(args.metrics, args.dataset)
        check_feature_kind(args.features, args.dataset)
    except ValueError as e:
        raise UsageError(f"--metrics/--features: {e}") from e
    _check(args.metric in MODES, f"--metric {args.metric!r} cannot be optimised; valid: {', '.join(MODES)}")
    reported = _reported_keys(args.metrics)
    _check(args.metric in reported, f"--metric {args.metric} must be reported by --metrics ({args.metrics})")
    samples = parse_metric_map(args.metric_samples, "--metric-samples")
    every = parse_metric_map(args.metric_every, "--metric-every")
    for flag, values, low in (("--metric-samples", samples, 10), ("--metric-every", every, 1)):
        for m, v in values.items():
            _check(m in metrics, f"{flag}: metric {m} is not among --metrics ({args.metrics})")
            _check(v >= low, f"{flag}: {m} must be ≥ {low} (got {v})")
    optimised = next(m for m in metrics if args.metric in _reported_keys(m))
    _check(every.get(optimised, 1) == 1, f"--metric-every: {optimised} is optimised (--metric {args.metric}), "
           "so ASHA and TPE need it every epoch; remove it from --metric-every")  # fmt: skip
    if args.features == "inception-v3" and needs_extractor(metrics):
        from trainables.features.inception import resolve_weights

        try:
            resolve_weights(args.inception_weights)
        except ValueError as e:
            raise UsageError(str(e)) from e


def trial_config(args: argparse.Namespace) -> dict:
    """Fixed settings every trial gets, merged under the searched hyperparameters."""
    apply_metric_defaults(args)
    weights = getattr(args, "inception_weights", None)
    return {
        "method": args.method,
        "dataset": args.dataset,
        "data_root": str(Path(args.data_root).resolve()) if args.data_root else None,
        "epochs": args.epochs,
        "metrics": check_metrics(args.metrics, args.dataset),
        "eval_samples": args.eval_samples,
        "metric_samples": parse_metric_map(getattr(args, "metric_samples", ""), "--metric-samples"),
        "metric_every": parse_metric_map(getattr(args, "metric_every", ""), "--metric-every"),
        "features": args.features,
        "feature_path": feature_path(args.features, args.dataset),  # logged as a param next to every result
        "inception_weights": str(Path(weights).expanduser().resolve()) if weights else None,
        "width": args.width,
        "batch_size": args.batch_size,
        "train_limit": args.train_limit,
        "seed": args.seed,
        "amp": bool(getattr(args, "amp", False)),
        **({"inject_fault": parse_faults(args.inject_fault)} if getattr(args, "inject_fault", None) else {}),
    }


def storage_path(storage: str) -> str:
    return storage if "://" in storage else str(Path(storage).expanduser().resolve())


def run_search(args: argparse.Namespace) -> tune.ResultGrid:
    from tuner.ray_setup import init_ray

    init_ray(args.address, num_gpus=None)  # first: a cluster that refuses us (e.g. wrong token) leaves nothing behind
    apply_metric_defaults(args)
    mode = MODES[args.metric]
    name = args.name or f"{args.method}-{args.dataset}-{datetime.now():%Y%m%d-%H%M%S}"
    mlflow_uri = args.mlflow_uri or f"sqlite:///{Path('mlflow.db').resolve()}"
    # Stored resolved, so a --resume from another folder finds the same search, store and study.
    args.name, args.mlflow_uri = name, mlflow_uri
    from tuner import resume

    experiment_dir = resume.experiment_path(storage_path(args.storage), name)
    resume.snapshot_often()
    if not getattr(args, "resume", False):
        resume.save_args(args, experiment_dir)

    # Train the scoring classifier once, before trials start, so they all load the same cached copy.
    from trainables.classifier import load_classifier

    if args.features == "classifier" and needs_extractor(args.metrics):
        _, accuracy = load_classifier(args.dataset, args.data_root)
        print(f"scoring classifier for {args.dataset}: held-out accuracy {accuracy:.2%}")

    optuna_url = args.optuna_storage or optuna_storage.default_storage_url(mlflow_uri, storage_path(args.storage))
    searcher = OptunaSearch(
        metric=args.metric,
        mode=mode,
        points_to_evaluate=[search_spaces.defaults(args.method)],
        sampler=optuna.samplers.TPESampler(seed=args.seed),
        storage=optuna_storage.open_storage(optuna_url),
        study_name=name,
    )
    scheduler = ASHAScheduler(
        time_attr="epoch",
        max_t=args.epochs,
        grace_period=args.grace_period,
        reduction_factor=args.reduction_factor,
    )
    resources = {"cpu": args.cpus_per_trial, "gpu": args.gpus_per_trial}
    # The parent MLflow run: everything needed to reproduce the search; every trial becomes its child.
    experiment = args.experiment or name
    client = make_client(mlflow_uri)
    search_tags = {"method": args.method, "dataset": args.dataset, "search_name": name}
    parent_run_id = start_search_run(
        client,
        get_or_create_experiment(client, experiment),
        name,
        params={
            **{k: v for k, v in vars(args).items() if k not in ("list", "name")},
            "scheduler": "ASHA", "scheduler.time_attr": "epoch", "scheduler.max_t": args.epochs,
            "sampler": "TPE", "sampler.seed": args.seed, "optuna_storage": optuna_url, "optuna_study": name,
            "mode": mode, "code_version": code_version(),
            "command_line": getattr(args, "command_line", None) or shlex.join(sys.argv),
            **{f"space.{k}": v for k, v in describe_space(search_spaces.space(args.method)).items()},
        },
        tags={**search_tags, "ray_storage": f"{storage_path(args.storage)}/{name}"},
    )  # fmt: skip
    # --resume: the stored experiment (finished trials kept, the rest continue), never a fresh Tuner over it.
    resuming = getattr(args, "resume", False)
    tuner = resume.restore(experiment_dir, tune.with_resources(train_gan, resources)) if resuming else None
    if resuming and (lost := resume.close_lost_runs(client, experiment, name, experiment_dir)):
        print(f"  {lost} trial(s) started just before the driver died were not recorded; new ones replace them")
    tuner = tuner or tune.Tuner(
        tune.with_resources(train_gan, resources),
        param_space={**trial_config(args), **search_spaces.space(args.method)},
        tune_config=tune.TuneConfig(
            metric=args.metric,
            mode=mode,
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=args.trials,
            max_concurrent_trials=args.concurrency,
            # A fresh actor per trial re-imports torch/ray and reloads data (~4 s); a reused one does not.
            # Trials share nothing through it: each seeds every RNG and builds its own networks.
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=storage_path(args.storage),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            failure_config=tune.FailureConfig(max_failures=2),
            callbacks=[
                MLflowTrialLogger(
                    mlflow_uri,
                    experiment,
                    args.epochs,
                    tags={**search_tags, "role": "trial"},
                    parent_run_id=parent_run_id,
                    sample_every=args.sample_every,
                ),  # fmt: skip
                ProgressPrinter(args.metric, args.trials, args.epochs),
            ],
            verbose=0,
        ),
    )
    print(f"search {name}: {args.trials} trials of {args.method} on {args.dataset}, ≤{args.epochs} epochs each")
    print(f"  MLflow: {mlflow_uri}  (browse: mlflow ui --backend-store-uri {mlflow_uri})")
    print(f"  Optuna study {name!r}: {optuna_url}")
    print(f"  if the driver dies: python -m tuner.search {args.method} --name {name} --storage {args.storage} --resume")
    status = "FAILED"
    try:
        results = tuner.fit()
        report_best(results, args.metric, mode, name, mlflow_uri, storage_path(args.storage), experiment)
        if args.final_seeds:
            run_finals(
                args, results, mode=mode, search_name=name, experiment=experiment, mlflow_uri=mlflow_uri,
                parent_run_id=parent_run_id, storage=storage_path(args.storage),
            )  # fmt: skip
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        end_search_run(client, parent_run_id, status)
        report_kept(client)
    print("\nnext: a paper table and figures from this search (add more --experiment/--search to compare):")
    print(f"  python -m reports.table --mlflow-uri {mlflow_uri} --experiment {shlex.quote(experiment)} --out tables")
    print(f"  python -m reports.plots --mlflow-uri {mlflow_uri} --experiment {shlex.quote(experiment)} --out figures")
    return results


class ProgressPrinter(tune.Callback):
    """One line per epoch result: which trial, how far, the metrics, how the search stands."""

    def __init__(self, metric: str, trials: int, epochs: int):
        self.metric, self.trials, self.epochs = metric, trials, epochs
        self.start = time.time()
        self.finished = 0

    def setup(self, **info) -> None:  # also after --resume, which restores this object from the stored run
        self.start = time.time()

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        running = sum(t.status == "RUNNING" for t in trials)
        keys = dict.fromkeys((self.metric, "inception_score", "ddm", "loss_d", "loss_g"))
        shown = "  ".join(f"{k} {result[k]:.4g}" for k in keys if isinstance(result.get(k), int | float))
        print(
            f"[{time.time() - self.start:7.1f}s] {trial} epoch {result.get('epoch')}/{self.epochs}  {shown}"
            f"  | {running} running, {self.finished}/{self.trials} done",
            flush=True,
        )

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self.finished += 1

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self.finished += 1
        print(f"[{time.time() - self.start:7.1f}s] {trial} ERRORED (see its error.txt)", flush=True)


def report_best(
    results: tune.ResultGrid, metric: str, mode: str, name: str, mlflow_uri: str, storage: str, experiment: str = ""
) -> None:
    errors = sum(1 for r in results if r.error)
    try:
        best = results.get_best_result(metric, mode, scope="all")
    except RuntimeError:
        print(f"no trial reported {metric}; {errors} trial(s) errored. Results: {storage}/{name}")
        return
    df = best.metrics_dataframe
    row = df.loc[df[metric].idxmax() if mode == "max" else df[metric].idxmin()]
    searched = search_spaces.space(best.config["method"])
    print(f"\nbest trial ({metric}, {mode}) at epoch {int(row['epoch'])}:")
    for k in sorted(searched):
        print(f"  {k} = {best.config[k]}")
    for k in [*sorted(k for k in row.index if k in MODES or k.endswith("_std")), "loss_d", "loss_g"]:
        if k in row:
            print(f"  {k}: {row[k]:.4f}")
    print(f"{len(results)} trials ({errors} errored). Ray results: {storage}/{name}")
    print(f"MLflow experiment {experiment or name!r} at {mlflow_uri}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        from trainables.registry import METHODS

        for name in method_names():
            m = METHODS[name]
            print(f"{name:14s} {m.description}  [{m.paper}]")
        return 0
    args.command_line = shlex.join(["python", "-m", "tuner.search", *(sys.argv[1:] if argv is None else argv)])
    try:
        validate(args)
    except (UsageError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        run_search(args)
    except RayJoinError as e:  # the head answered the probe but refused us (e.g. a wrong auth token)
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
