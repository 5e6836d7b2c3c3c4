"""``--scheduler``: how trials are stopped or evolved over epochs.

``asha`` (default) stops poor trials early on one metric: with several ``--metric`` objectives it ranks on
the first (ASHA cannot rank on a Pareto front); ``fifo`` trains every trial to the end; ``pbt`` is
population-based training (Jaderberg et al. 2017; Ray's ``pbt_dcgan_mnist`` example): every
``--perturbation-interval`` epochs the bottom quarter of the population copies the exact checkpoint of a top
trial (networks, optimisers, the objective's state such as λ, RNG states) and perturbs its hyperparameters
within the method's search space. PBT evolves a schedule, not a point, so it starts from a random population
(``--sampler random``) and optimises one metric.
"""

from __future__ import annotations

import random

from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, PopulationBasedTraining, TrialScheduler
from ray.tune.search.sample import Categorical, Float, Integer

SCHEDULERS = ("asha", "fifo", "pbt")
# Knobs fixed at construction (tensor shapes) or only read at the start (λ₀: λ itself is copied with the
# checkpoint): changing them mid-trial would be a config history that never took effect.
NOT_PERTURBED = {"n_components", "lambda_init"}


def check_scheduler(name: str, n_objectives: int, sampler: str | None) -> str | None:
    """One line saying what is wrong with this scheduler / objectives / sampler combination, else None."""
    if name not in SCHEDULERS:
        return f"--scheduler {name!r} is unknown; valid: {', '.join(SCHEDULERS)}"
    if name == "pbt" and n_objectives > 1:
        return "--scheduler pbt exploits the best trials on one metric; give one --metric or use --scheduler asha/fifo"
    if name == "pbt" and sampler not in (None, "random"):
        return f"--scheduler pbt starts from a random population; drop --sampler {sampler} or use --sampler random"
    return None


def pbt_mutations(space: dict) -> dict:
    """What PBT may perturb: floats by ×0.8/×1.2 (clipped to their range), integers and choices one step along
    their values, resampled from the method's space with probability 0.25. Shape-fixing knobs stay as sampled."""
    out = {}
    for key, domain in space.items():
        if key in NOT_PERTURBED:
            continue
        if isinstance(domain, Categorical):
            out[key] = list(domain.categories)
        elif isinstance(domain, Integer):
            out[key] = list(range(domain.lower, domain.upper))  # tune.randint excludes its upper bound
        elif isinstance(domain, Float):
            out[key] = domain
    return out


def clip_to_space(space: dict):
    """PBT's ×0.8/×1.2 ignores a float's bounds; keep every perturbed value inside the method's space."""
    bounds = {k: (d.lower, d.upper) for k, d in space.items() if isinstance(d, Float) and k not in NOT_PERTURBED}

    def explore(config: dict) -> dict:
        for key, (low, high) in bounds.items():
            config[key] = min(max(config[key], low), high)
        return config

    return explore


class FinitePBT(PopulationBasedTraining):
    """PBT that leaves a trial alone once it reached the epoch budget: Ray's PBT would still exploit it there,
    handing it a donor's configuration it never trains with (its results would then sit beside a wrong config)."""

    def __init__(self, *, max_t: int, **kwargs):
        super().__init__(**kwargs)
        self._max_t = max_t

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        if result.get(self._time_attr, 0) >= self._max_t:
            return TrialScheduler.CONTINUE
        return super().on_trial_result(tune_controller, trial, result)


def make_scheduler(
    name: str, *, metric: str | None, mode: str | None, epochs: int, space: dict, grace_period: int = 1,
    reduction_factor: float = 3, perturbation_interval: int = 1, seed: int = 0,
) -> TrialScheduler:  # fmt: skip
    """The scheduler; ``metric``/``mode`` only when the Tuner has none (several objectives), else Tune sets them."""
    if name == "asha":
        return ASHAScheduler(
            time_attr="epoch", metric=metric, mode=mode, max_t=epochs, grace_period=grace_period,
            reduction_factor=reduction_factor,
        )  # fmt: skip
    if name == "fifo":
        return FIFOScheduler()
    if name == "pbt":
        random.seed(seed)  # PBT draws its exploit/explore choices from Python's global RNG
        return FinitePBT(
            max_t=epochs,
            time_attr="epoch",
            metric=metric,
            mode=mode,
            perturbation_interval=perturbation_interval,
            hyperparam_mutations=pbt_mutations(space),
            custom_explore_fn=clip_to_space(space),
            # Synchronous: the population is compared at the same epoch, so a trial continues from its donor's
            # checkpoint at exactly the epoch it reached itself and every epoch of every trial is logged once.
            synch=True,
        )
    raise ValueError(f"unknown scheduler {name!r}")


def describe_scheduler(name: str, *, metric: str, epochs: int, grace_period: int, reduction_factor: float,
                       perturbation_interval: int, n_objectives: int) -> dict[str, object]:  # fmt: skip
    """Parent-run params: the scheduler and what it ranks on (with several objectives ASHA uses the first)."""
    out: dict[str, object] = {"scheduler": name.upper(), "scheduler.time_attr": "epoch", "scheduler.max_t": epochs}
    if name == "asha":
        out.update({"scheduler.metric": metric, "scheduler.grace_period": grace_period,
                    "scheduler.reduction_factor": reduction_factor})  # fmt: skip
        if n_objectives > 1:
            out["scheduler.note"] = f"ASHA cannot rank on a Pareto front: it stops trials on {metric} alone"
    elif name == "pbt":
        out.update({"scheduler.metric": metric, "scheduler.perturbation_interval": perturbation_interval,
                    "scheduler.synch": True, "scheduler.quantile_fraction": 0.25})  # fmt: skip
    return out


def initial_population(defaults: dict, seed: int):
    """PBT's starting population: the method's defaults first, then seeded random draws from the space.

    The whole population exists from the start (no concurrency limit on the generator: a paused trial still
    counts as running there, so the rest would never start and never be compared); how many train at once
    follows the resources, as each trial pauses at a perturbation epoch and frees its slot."""
    from ray.tune.search.basic_variant import BasicVariantGenerator

    return BasicVariantGenerator(points_to_evaluate=[defaults], random_state=seed)
