"""Pareto fronts of multi-objective searches (``--metric inception_score,ddm``) for ``reports.plots``.

Each trial is the last logged value of each objective (what the search's Optuna study was told); the front
is drawn over every trial of each search, one colour per search, on the searches' first two objectives.
"""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from reports.store import Search
from tuner.pareto import front, plot_front


def objectives(search: Search) -> list[str]:
    """The objectives of a multi-objective search, else [] (a single-metric search has no front)."""
    names = [m for m in search.parent.params.get("objectives", "").split(",") if m]
    return names if len(names) > 1 else []


def trial_points(search: Search, names: list[str]) -> list[dict]:
    points = []
    for trial in search.trials:
        values = [trial.metrics.get(m) for m in names]
        if all(v is not None and math.isfinite(v) for v in values) and not trial.metrics.get("diverged"):
            points.append({"trial_id": trial.tags.get("ray_trial_id"), "values": values, "config": trial.params})
    return points


def plot_fronts(searches: list[Search], labels: list[str], figsize, dpi: int, colours: list[str]) -> Figure | None:
    """One figure with the front of every multi-objective search sharing the first search's two objectives."""
    chosen = [(s, lab) for s, lab in zip(searches, labels, strict=True) if objectives(s)]
    if not chosen:
        return None
    names = objectives(chosen[0][0])[:2]
    modes = [m for m in chosen[0][0].parent.params.get("modes", "").split(",") if m][:2]
    fig = Figure(figsize=figsize, dpi=dpi)
    ax = fig.add_subplot()
    for i, (search, label) in enumerate(s for s in chosen if objectives(s[0])[:2] == names):
        ax.set_prop_cycle(color=[colours[i % len(colours)]])
        points = trial_points(search, names)
        plot_front(ax, points, front(points, modes), names, label)
    ax.set_title(" vs ".join(f"{m} ({d})" for m, d in zip(names, modes, strict=True)))
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
