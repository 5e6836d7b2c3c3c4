"""Command line entry point: ``python -m tuner.search METHOD [options]``.

CLI (``tuner.cli``: parsed and validated before anything starts) → search space → Ray Tune
(OptunaSearch/TPE + ASHA) → trainable → MLflow; then the best trial, optional final seeds, report hints.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable

from ray import tune

from trainables.data import DataError, dataset_info
from trainables.evaluate import needs_extractor
from trainables.registry import MethodError, get_method, method_names, module_methods
from trainables.trainable import train_gan
from tuner import optuna_storage
from tuner.cli import UsageError, build_parser, validate
from tuner.finals import run_finals
from tuner.limits import cluster_problem
from tuner.mlflow_logging import (
    DESCRIPTION_TAG,
    MLflowTrialLogger,
    TrialNumbers,
    code_version,
    describe_search,
    describe_space,
    end_search_run,
    get_or_create_experiment,
    make_client,
    start_search_run,
)
from tuner.mlflow_resilient import report_kept
from tuner.mlflow_tags import DATASET_TAG, METHOD_TAG, ROLE_TAG, SEARCH_TAG
from tuner.outcome import (
    EXIT_INTERRUPTED,
    SearchFailed,
    SearchInterrupted,
    check_interrupted,
    close_open_trial_runs,
    interrupted_message,
    resume_command,
)
from tuner.progress import (
    Clock,
    ProgressPrinter,
    TrialCounts,
    count_trials,
    print_closing,
    quiet_library_noise,
    report_best,
)
from tuner.ray_setup import RayJoinError, ray_is_up, shutdown_ray
from tuner.search_config import SearchConfig, resolve
from tuner.strategy import build_strategy, report_front


def run_search(args: argparse.Namespace, trainable: Callable = train_gan) -> tune.ResultGrid:
    """The search as a sequence of named steps over one resolved configuration. ``trainable`` is the product's
    ``train_gan``; a benchmark passes its own (e.g. trials that cost nothing) through the same path."""
    from tuner.ray_setup import init_ray

    quiet_library_noise()
    clock = Clock()  # one clock for the search's lines, its finals' and the closing wall time
    init_ray(args.address, num_gpus=None)  # first: a cluster that refuses us (e.g. wrong token) leaves nothing behind
    if problem := cluster_problem(args):  # Tune would wait forever for a trial no node of the cluster can hold
        raise UsageError(problem)
    config = resolve(args)
    record_arguments(config)
    prepare_scoring(config)
    # Objectives, --sampler and --scheduler (tuner.strategy): the search algorithm, the scheduler, their params.
    strategy = build_strategy(config.args, config.name, optuna_storage.open_storage(config.optuna_url))
    client = make_client(config.mlflow_uri)
    description = describe_search(
        config.args.method, config.args.dataset, config.trials, config.epochs, strategy.metric, strategy.mode,
        config.space,
    )  # fmt: skip
    parent_run_id = start_parent_run(config, strategy, client, description)
    numbers = TrialNumbers()  # "#12" in trial run names, progress lines and the summary
    tuner = build_tuner(config, strategy, client, parent_run_id, numbers, clock, trainable)
    announce(config)
    return fit(config, strategy, tuner, client, parent_run_id, numbers, description, clock)


def record_arguments(config: SearchConfig) -> None:
    """The arguments beside the Ray experiment, for ``--resume`` (a resumed search keeps its first record)."""
    from tuner import resume

    resume.snapshot_often()
    if not config.resuming:
        resume.save_args(config.args, config.experiment_dir)


def prepare_scoring(config: SearchConfig) -> None:
    """Train the scoring classifier once, before trials start, so they all load the same cached copy."""
    from trainables.classifier import load_classifier

    args = config.args
    if dataset_info(args.dataset).kind == "pair":  # a classifier per labelled domain
        from trainables.data import load_dataset

        for name in sorted({s[0] for s in load_dataset(args.dataset, args.data_root).scorers if s}):
            _, accuracy = load_classifier(name, progress=lambda m: print(m, flush=True))
            print(f"scoring classifier for {args.dataset} ({name}): held-out accuracy {accuracy:.2%}")
        return
    if args.features == "classifier" and needs_extractor(args.metrics):
        _, accuracy = load_classifier(args.dataset, args.data_root, progress=lambda m: print(m, flush=True))
        print(f"scoring classifier for {args.dataset}: held-out accuracy {accuracy:.2%}")


def search_tags(config: SearchConfig) -> dict[str, str]:
    return {METHOD_TAG: config.args.method, DATASET_TAG: config.args.dataset, SEARCH_TAG: config.name}


def start_parent_run(config: SearchConfig, strategy, client, description: str) -> str:
    """The parent MLflow run: everything needed to reproduce the search; every trial becomes its child."""
    args, name = config.args, config.name
    return start_search_run(
        client,
        get_or_create_experiment(client, config.experiment),
        name,
        params=optuna_storage.redact_params({
            **{k: v for k, v in vars(args).items() if k not in ("list", "name")},
            **strategy.params, "optuna_storage": config.optuna_url, "optuna_study": name,
            "mode": strategy.mode, "code_version": code_version(),
            "command_line": getattr(args, "command_line", None) or shlex.join(sys.argv),
            **{f"space.{k}": v for k, v in describe_space(config.space).items()},
        }),  # a database password in a URL is never logged
        tags={**search_tags(config), "ray_storage": config.experiment_dir, DESCRIPTION_TAG: description},
    )  # fmt: skip


def build_tuner(
    config: SearchConfig,
    strategy,
    client,
    parent_run_id: str,
    numbers: TrialNumbers,
    clock: Clock | None = None,
    trainable: Callable = train_gan,
) -> tune.Tuner:
    """A fresh Tuner, or with --resume the stored experiment (finished trials kept, the rest continue)."""
    from tuner import resume

    if trainable is train_gan and config.trial.get("workers_per_trial", 1) > 1:  # one trial, several workers
        from trainables.distributed import train_distributed

        trainable = train_distributed
    trainable = tune.with_resources(trainable, config.resources)
    if config.resuming:
        tuner = resume.restore(config.experiment_dir, trainable)
        if lost := resume.close_lost_runs(client, config.experiment, config.name, config.experiment_dir):
            print(f"  {lost} trial(s) started just before the driver died were not recorded; new ones replace them")
        if tuner is not None:
            return tuner
    args = config.args
    trial_logger = MLflowTrialLogger(
        config.mlflow_uri,
        config.experiment,
        args.epochs,
        tags={**search_tags(config), ROLE_TAG: "trial"},
        parent_run_id=parent_run_id,
        sample_every=args.sample_every,
        name_keys=tuple(config.space),
        numbers=numbers,
        shown=tuple(dict.fromkeys((strategy.metric, "inception_score", "ddm"))),
    )
    if hasattr(strategy.search_alg, "set_mlflow_run"):  # each Optuna trial names its MLflow run
        trial_logger.run_listeners.append(strategy.search_alg.set_mlflow_run)
    return tune.Tuner(
        trainable,
        param_space={**config.trial, **strategy.trial_config, **config.space},
        tune_config=tune.TuneConfig(
            metric=strategy.tune_metric[0],
            mode=strategy.tune_metric[1],
            search_alg=strategy.search_alg,
            scheduler=strategy.scheduler,
            num_samples=args.trials,
            max_concurrent_trials=args.concurrency,
            # A fresh actor per trial re-imports torch/ray and reloads data (~4 s); a reused one does not.
            # Trials share nothing through it: each seeds every RNG and builds its own networks.
            # Not with several workers: stopping the trial's actor is what ends its Ray Train workers.
            reuse_actors=getattr(args, "workers_per_trial", 1) <= 1,
        ),
        run_config=tune.RunConfig(
            name=config.name,
            storage_path=config.storage,
            # Every checkpoint is kept by Tune: the strategy's callbacks delete the old ones when it is safe.
            checkpoint_config=tune.CheckpointConfig(num_to_keep=None),
            failure_config=tune.FailureConfig(max_failures=2),
            callbacks=[
                trial_logger,
                *strategy.callbacks(trial_logger),
                ProgressPrinter(strategy.metric, args.trials, args.epochs, strategy.mode, numbers=numbers, clock=clock),
            ],
            verbose=0,
        ),
    )


def announce(config: SearchConfig) -> None:
    args, name, uri = config.args, config.name, config.mlflow_uri
    print(f"search {name}: {args.trials} trials of {args.method} on {args.dataset}, ≤{args.epochs} epochs each")
    uri = optuna_storage.redact(uri)
    print(f"  MLflow: {uri}  (browse: mlflow ui --backend-store-uri {uri})")
    print(f"  Optuna study {name!r}: {optuna_storage.redact(config.optuna_url)}")
    print(f"  if the driver dies: {resume_command(args)}")


def fit(
    config: SearchConfig,
    strategy,
    tuner: tune.Tuner,
    client,
    parent_run_id: str,
    numbers: TrialNumbers,
    description: str,
    clock: Clock | None = None,
) -> tune.ResultGrid:
    """Run the trials, report the best (and the Pareto front), train the finals; the parent run ends with how
    it went."""
    args, metric, mode = config.args, strategy.metric, strategy.mode
    finals = dict(
        mode=mode, search_name=config.name, experiment=config.experiment, mlflow_uri=config.mlflow_uri,
        parent_run_id=parent_run_id, storage=config.storage, clock=clock,
    )  # fmt: skip
    status = "FAILED"
    try:
        results = tuner.fit()
        check_interrupted(results, args.trials)
        report_best(
            results, metric, mode, config.name, config.mlflow_uri, config.storage, config.experiment,
            numbers=numbers, client=client, parent_run_id=parent_run_id, description=description, epochs=args.epochs,
        )  # fmt: skip
        front = report_front(strategy, results, client, parent_run_id) if strategy.multi_objective else None
        trained = []
        for i, point in enumerate(front[: args.final_front] if front and args.final_seeds else []):
            trained += run_finals(args, results, **finals, front_point=(i, point["config"]))
        if args.final_seeds and not strategy.multi_objective:
            trained += run_finals(args, results, **finals)
        status = "FINISHED"
        print_next_steps(config)
        print_closing(clock or Clock(), count_trials(results, args.epochs), final_counts(trained) if trained else None)
    except (KeyboardInterrupt, SearchInterrupted):
        status = "KILLED"
        close_open_trial_runs(client, config.experiment, config.name)
        raise
    finally:
        end_search_run(client, parent_run_id, status)
        report_kept(client)
    return results


def final_counts(finals) -> TrialCounts:
    """Final-seed runs counted like trials (a final trains the full budget: none is stopped early)."""
    counts = TrialCounts(seconds=sum(f.seconds for f in finals))
    for f in finals:
        if f.end_state == "errored":
            counts.errored += 1
        elif f.end_state == "diverged":
            counts.diverged += 1
        else:
            counts.completed += 1
    return counts


def print_next_steps(config: SearchConfig) -> None:
    uri, experiment = config.mlflow_uri, shlex.quote(config.experiment)
    print("\nnext: a paper table and figures from this search (add more --experiment/--search to compare):")
    print(f"  python -m reports.table --mlflow-uri {uri} --experiment {experiment} --out tables")
    print(f"  python -m reports.plots --mlflow-uri {uri} --experiment {experiment} --out figures")
    if not config.args.final_seeds:
        print("  (no finals yet: both show each search's best trial, labelled as search results; add --final-seeds 3")
        print("   to re-train the best configuration with 3 seeds for mean ± s.d. and significance tests)")


def list_methods(module: str | None = None) -> int:
    """One line per method: the name to search it by, its description and paper."""
    try:
        methods = {f"{module}:{attr}": m for attr, m in module_methods(module).items()} if module else None
    except MethodError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if module and not methods:
        print(
            f'error: module {module} defines no trainables.registry.Method; see README "Your own GAN"', file=sys.stderr
        )
        return 2
    listed = methods or {n: get_method(n) for n in method_names()}
    width = max(map(len, listed))
    for name, m in listed.items():
        print(f"{name:{width}s}  {m.description}  [{m.paper}]")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        return list_methods(None if args.list is True else args.list)
    args.command_line = shlex.join(["python", "-m", "tuner.search", *(sys.argv[1:] if argv is None else argv)])
    try:
        validate(args)
    except (UsageError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    ray_was_up = ray_is_up()  # a Ray this process started for the search is shut down (and its folder removed)
    try:
        run_search(args)
    except (RayJoinError, UsageError) as e:  # refused by the cluster (e.g. a wrong token), or asks more than it has
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, SearchInterrupted) as e:
        print(interrupted_message(args, e), file=sys.stderr)
        return EXIT_INTERRUPTED
    except SearchFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        if not ray_was_up:
            shutdown_ray()
    return 0


if __name__ == "__main__":
    sys.exit(main())
