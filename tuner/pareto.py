"""The Pareto front of a multi-objective search (``--metric inception_score,ddm``).

A trial is on the front when no other trial is at least as good on every objective and strictly better on
one. Each trial is represented by its last reported values, the ones OptunaSearch told the study (and the
last values of its MLflow run). The parent MLflow run gets the front as ``pareto/front.csv`` and
``pareto/front.png``; ``reports.plots`` draws the same for several searches side by side.
"""

from __future__ import annotations

import csv
import math
import tempfile
from pathlib import Path

import numpy as np

FRONT_DIR = "pareto"
FRONT_CSV = "front.csv"
FRONT_PLOT = "front.png"


def parse_objectives(metric: str) -> list[str]:
    """``inception_score,ddm`` → ["inception_score", "ddm"] (a single metric is a list of one)."""
    return [m.strip() for m in metric.split(",") if m.strip()]


def non_dominated(values: np.ndarray, modes: list[str]) -> np.ndarray:
    """Boolean mask of the rows of ``values`` (n × k, any finite floats) that no other row dominates."""
    v = np.asarray(values, dtype=np.float64) * np.array([1.0 if m == "min" else -1.0 for m in modes])  # all "min"
    at_least_as_good = (v[:, None, :] <= v[None, :, :]).all(axis=2)  # [i, j]: i ≤ j everywhere
    strictly_better = (v[:, None, :] < v[None, :, :]).any(axis=2)
    dominated = (at_least_as_good & strictly_better).any(axis=0)  # some i dominates j
    return ~dominated


def trial_points(results, objectives: list[str]) -> list[dict]:
    """One point per trial that reported every objective with a finite value: trial id, values, config."""
    points = []
    for r in results:
        last = r.metrics or {}
        values = [last.get(m) for m in objectives]
        if all(isinstance(x, int | float) and math.isfinite(x) for x in values) and not last.get("diverged"):
            points.append({"trial_id": last.get("trial_id"), "values": [float(x) for x in values], "config": r.config})
    return points


def front(points: list[dict], modes: list[str]) -> list[dict]:
    """The non-dominated points, sorted by the first objective (best first)."""
    if not points:
        return []
    mask = non_dominated(np.array([p["values"] for p in points]), modes)
    on_front = [p for p, keep in zip(points, mask, strict=True) if keep]
    return sorted(on_front, key=lambda p: p["values"][0], reverse=modes[0] == "max")


def plot_front(ax, points: list[dict], on_front: list[dict], objectives: list[str], label: str = "") -> None:
    """Every trial (light) and the front (a staircase through its points) on the first two objectives."""
    xs, ys = [p["values"][0] for p in points], [p["values"][1] for p in points]
    ax.scatter(xs, ys, s=12, alpha=0.35, label=f"{label} trials".strip())
    fx, fy = [p["values"][0] for p in on_front], [p["values"][1] for p in on_front]
    ax.step(fx, fy, where="post", marker="o", label=f"{label} Pareto front".strip())
    ax.set_xlabel(objectives[0])
    ax.set_ylabel(objectives[1])


def log_front(
    client, parent_run_id: str, points: list[dict], objectives: list[str], modes: list[str], keys: list[str]
) -> list[dict]:
    """Write the front (CSV: trial, objectives, the searched ``keys``; plot) to the parent run; returns it."""
    on_front = front(points, modes)
    space_keys = sorted(keys)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / FRONT_CSV
        with path.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["trial_id", *objectives, *(f"config.{k}" for k in space_keys)])
            for p in on_front:
                config = [p["config"].get(k) for k in space_keys]
                writer.writerow([p["trial_id"], *(repr(v) for v in p["values"]), *config])
        client.log_artifact(parent_run_id, str(path), artifact_path=FRONT_DIR)
        if len(objectives) >= 2 and points:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(5, 4))
            plot_front(ax, points, on_front, objectives)
            ax.set_title(" vs ".join(f"{m} ({mode})" for m, mode in zip(objectives, modes, strict=True)))
            ax.legend(fontsize=8)
            fig.tight_layout()
            fig.savefig(Path(d) / FRONT_PLOT, dpi=120)
            plt.close(fig)
            client.log_artifact(parent_run_id, str(Path(d) / FRONT_PLOT), artifact_path=FRONT_DIR)
    from mlflow.entities import RunTag

    client.log_batch(parent_run_id, tags=[RunTag("pareto_front_size", str(len(on_front)))])
    return on_front
