"""How a search explores: objectives (one metric or a Pareto front), the search algorithm (``--sampler``) and
the scheduler (``--scheduler``), resolved once from the validated arguments for ``tuner.search.run_search``."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import search_spaces
from tuner.cli import MODES
from tuner.pareto import parse_objectives
from tuner.samplers import describe_sampler, make_sampler
from tuner.schedulers import describe_scheduler, initial_population, make_scheduler, pbt_mutations


@dataclass
class Strategy:
    objectives: list[str]
    modes: list[str]
    scheduler_name: str
    search_alg: object
    scheduler: object
    params: dict = field(default_factory=dict)  # for the parent MLflow run

    @property
    def metric(self) -> str:
        """The metric ASHA/PBT rank on and the best trial is reported by: the first objective."""
        return self.objectives[0]

    @property
    def mode(self) -> str:
        return self.modes[0]

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    @property
    def tune_metric(self) -> tuple[str | None, str | None]:
        """(metric, mode) for Tune's TuneConfig: none with several objectives, where the Tuner would otherwise
        overwrite the searcher's list of metrics with a single one (scheduler and searcher carry their own)."""
        return (None, None) if self.multi_objective else (self.metric, self.mode)

    def callbacks(self, trial_logger) -> list:
        """PBT copies a donor's checkpoint at a perturbation epoch: every checkpoint is kept, so each exploit can be
        audited (and replayed) later. Otherwise the newest two suffice to resume, and older ones are deleted once
        no experiment snapshot can still name them (``tuner.checkpoint_retention``); Tune itself keeps all."""
        if self.scheduler_name != "pbt":
            from tuner.checkpoint_retention import CheckpointRetention

            return [CheckpointRetention(keep=2)]
        from tuner.pbt_logging import PBTScheduleLogger

        return [PBTScheduleLogger(trial_logger)]

    @property
    def trial_config(self) -> dict:
        """Fixed trial-config keys of this strategy: under PBT, the knobs the trainable reports per epoch."""
        if self.scheduler_name != "pbt":
            return {}
        from trainables.trainable import SCHEDULE_KEYS

        return {SCHEDULE_KEYS: sorted(pbt_mutations(search_spaces.space(self._method)))}

    _method: str = ""


def study_attributes(args: argparse.Namespace, study_name: str) -> dict[str, str]:
    """What optuna-dashboard shows on the study's page: which search, method, data and MLflow experiment."""
    from tuner.optuna_search import NUMBERING_NOTE

    return {
        "search_name": study_name,
        "method": str(args.method),
        "dataset": str(args.dataset),
        "mlflow_experiment": str(getattr(args, "experiment", None) or study_name),
        "mlflow_tracking_uri": str(getattr(args, "mlflow_uri", "")),
        "trial_numbering": NUMBERING_NOTE,
    }


def build_strategy(args: argparse.Namespace, study_name: str, optuna_storage) -> Strategy:
    objectives = parse_objectives(args.metric)
    modes = [MODES[m] for m in objectives]
    space = search_spaces.space(args.method)
    defaults = search_spaces.defaults(args.method)
    scheduler_name = getattr(args, "scheduler", "asha") or "asha"
    sampler_name = getattr(args, "sampler", None) or ("random" if scheduler_name == "pbt" else "tpe")
    interval = getattr(args, "perturbation_interval", 2)
    if scheduler_name == "pbt":
        search_alg = initial_population(defaults, args.seed)
    else:
        from tuner.optuna_search import EpochOptunaSearch

        multi = len(objectives) > 1
        search_alg = EpochOptunaSearch(  # ASHA stops as PRUNED, every epoch an intermediate value, MLflow run ids
            max_epochs=args.epochs,
            metric=objectives if multi else objectives[0],
            mode=modes if multi else modes[0],
            points_to_evaluate=[defaults],
            sampler=make_sampler(sampler_name, args.seed, args.concurrency),
            storage=optuna_storage,
            study_name=study_name,
            study_attrs=study_attributes(args, study_name),
        )
    # Tune refuses a metric given both to the Tuner and to the scheduler: with one objective the Tuner has it.
    bound = (objectives[0], modes[0]) if len(objectives) > 1 else (None, None)
    scheduler = make_scheduler(
        scheduler_name, metric=bound[0], mode=bound[1], epochs=args.epochs, space=space,
        grace_period=args.grace_period, reduction_factor=args.reduction_factor, perturbation_interval=interval,
        seed=args.seed,
    )  # fmt: skip
    params = {
        "objectives": ",".join(objectives),
        "modes": ",".join(modes),
        **describe_scheduler(
            scheduler_name, metric=objectives[0], epochs=args.epochs, grace_period=args.grace_period,
            reduction_factor=args.reduction_factor, perturbation_interval=interval, n_objectives=len(objectives),
        ),
        **describe_sampler(sampler_name, args.seed, args.concurrency),
    }  # fmt: skip
    return Strategy(objectives, modes, scheduler_name, search_alg, scheduler, params, _method=args.method)


def report_front(strategy: Strategy, results, client, parent_run_id: str) -> list[dict]:
    """Log the Pareto front to the parent run and print it."""
    from tuner.pareto import log_front, trial_points

    points = trial_points(results, strategy.objectives)
    keys = sorted(search_spaces.space(strategy._method))
    on_front = log_front(client, parent_run_id, points, strategy.objectives, strategy.modes, keys)
    shown = ", ".join(f"{m} ({mode})" for m, mode in zip(strategy.objectives, strategy.modes, strict=True))
    print(f"\nPareto front on {shown}: {len(on_front)} of {len(points)} trials")
    for p in on_front:
        values = zip(strategy.objectives, p["values"], strict=True)
        print(f"  {p['trial_id']}: " + "  ".join(f"{m} {v:.4f}" for m, v in values))
    return on_front
