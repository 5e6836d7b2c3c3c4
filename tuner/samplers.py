"""``--sampler``: the Optuna sampler behind OptunaSearch, seeded, for one or several objectives.

``tpe`` (default) is Optuna's TPE, multi-objective when ``--metric`` names several metrics, with the
constant liar when trials run concurrently (a running trial counts as a bad result, so two free workers
are not handed the same region). ``random`` reproduces compare_gan's study design (Lucic et al. 2018:
random configurations, every trial trained to the end with ``--scheduler fifo``), so "TPE + ASHA vs random
at equal budget" is one flag apart. ``nsga2`` is NSGA-II (multi-objective), ``cmaes`` CMA-ES (one objective;
needs the ``cmaes`` package), ``gp`` Gaussian-process Bayesian optimisation (needs scipy).
"""

from __future__ import annotations

import importlib.util
import threading

import optuna

SAMPLERS = ("tpe", "random", "nsga2", "cmaes", "gp")
SINGLE_OBJECTIVE_ONLY = {"cmaes"}
REQUIRED_PACKAGE = {"cmaes": "cmaes", "gp": "scipy"}


def check_sampler(name: str, n_objectives: int) -> str | None:
    """One line saying what is wrong with ``--sampler NAME`` for this many objectives, else None."""
    if name not in SAMPLERS:
        return f"--sampler {name!r} is unknown; valid: {', '.join(SAMPLERS)}"
    if n_objectives > 1 and name in SINGLE_OBJECTIVE_ONLY:
        return f"--sampler {name} optimises one metric; give one --metric or use --sampler tpe or nsga2"
    package = REQUIRED_PACKAGE.get(name)
    if package and importlib.util.find_spec(package) is None:
        return f"--sampler {name} needs the {package} package: pip install {package}"
    return None


class PicklableNSGAIISampler(optuna.samplers.NSGAIISampler):
    """NSGA-II whose lock survives pickling: Optuna 5's genetic samplers hold a ``threading.Lock``, and Ray's Tuner
    pickles its searcher (with the sampler) to resume a search. The lock is left out and made anew on loading."""

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_thread_lock", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._thread_lock = threading.Lock()


def make_sampler(name: str, seed: int, concurrency: int) -> optuna.samplers.BaseSampler:
    """The seeded sampler; its multi-objective form follows from the study's directions."""
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=concurrency > 1)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "nsga2":
        return PicklableNSGAIISampler(seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    raise ValueError(f"unknown sampler {name!r}")


def describe_sampler(name: str, seed: int, concurrency: int) -> dict[str, object]:
    """Parent-run params: which sampler, its seed and its constant-liar setting."""
    out: dict[str, object] = {"sampler": name.upper(), "sampler.seed": seed}
    if name == "tpe":
        out["sampler.constant_liar"] = concurrency > 1
    return out
