"""Figures from an MLflow store, as PNG and PDF: ``python -m reports.plots`` or ``make_figures(...)``.

- ``curves_<metric>``: the metric per epoch, one line per method (mean over its final seeds) with a band of
  ± 1 standard deviation (paper 003 Figs. 4–5, paper 004 Fig. 3.6);
- ``samples``: the last sample grid of each method's first final seed, side by side;
- ``importance_<search>``: hyperparameter importances of a search's persisted Optuna study (fANOVA);
- ``pareto_front``: every trial and the Pareto front of each multi-objective search (``reports.fronts``).
Colours are the Okabe–Ito palette (distinguishable with the common colour-vision deficiencies); figures
have a fixed size (``FIGSIZE`` inches × ``dpi``) so they drop into a paper column unchanged.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
from pathlib import Path

import matplotlib.image
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from mlflow.tracking import MlflowClient

from reports.fronts import plot_fronts
from reports.store import (
    ReportError,
    Search,
    check_one_feature_path,
    check_out_dir,
    client_for,
    load_searches,
    row_labels,
)
from reports.table import METRICS, add_selection_args, direction, metric_label, selection

OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
FIGSIZE = (6.4, 4.0)  # inches
DPI = 150
FORMATS = ("png", "pdf")
LONG_NAMES = {"inception_score": "Inception Score", "ddm": "DDM (eq. 3.4)", "fid": "FID"}


def axis_label(metric: str) -> str:
    better = {"max": " (higher is better)", "min": " (lower is better)"}.get(direction(metric) or "", "")
    return f"{LONG_NAMES.get(metric, metric_label(metric))}{better}"


def seed_curves(client: MlflowClient, search: Search, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Epochs and a (seeds × epochs) array of ``metric`` for the search's final runs (NaN where missing)."""
    per_run = []
    for run in search.finals:
        history = {int(m.step): m.value for m in sorted(client.get_metric_history(run.run_id, metric), key=_ts)}
        if history:
            per_run.append(history)
    epochs = np.array(sorted({e for h in per_run for e in h}), dtype=np.int64)
    values = np.array([[h.get(int(e), math.nan) for e in epochs] for h in per_run], dtype=np.float64)
    return epochs, values.reshape(len(per_run), len(epochs))


def _ts(m) -> int:
    return m.timestamp  # a step logged twice (never, but) keeps its latest value


def plot_curves(client: MlflowClient, searches: list[Search], labels: list[str], metric: str) -> Figure:
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    for i, (search, label) in enumerate(zip(searches, labels, strict=True)):
        epochs, values = seed_curves(client, search, metric)
        if not len(epochs):
            continue
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        finite = np.where(np.isfinite(values), values, np.nan)
        mean = np.nanmean(finite, axis=0)
        ax.plot(epochs, mean, color=colour, marker="o", markersize=3, label=f"{label} (n = {len(values)} seeds)")
        if len(values) > 1:
            std = np.nanstd(finite, axis=0, ddof=1)
            ax.fill_between(epochs, mean - std, mean + std, color=colour, alpha=0.2, linewidth=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel(axis_label(metric))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.ticklabel_format(axis="y", useOffset=False)  # absolute values, as a table would print them
    ax.set_title(f"{LONG_NAMES.get(metric, metric_label(metric))} per epoch: mean ± 1 s.d. over final seeds")
    ax.grid(True, alpha=0.3)
    if ax.get_lines():
        ax.legend(frameon=False)
    return fig


def _last_grid(client: MlflowClient, run_id: str) -> tuple[int, str] | None:
    dirs = [a.path for a in client.list_artifacts(run_id, "samples") if a.is_dir]
    epochs = sorted((int(m.group(1)), d) for d in dirs if (m := re.search(r"epoch_(\d+)$", d)))
    return epochs[-1] if epochs else None


def plot_samples(client: MlflowClient, searches: list[Search], labels: list[str]) -> Figure:
    fig = Figure(figsize=(2.6 * len(searches), 3.0), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(searches), squeeze=False)[0]
    with tempfile.TemporaryDirectory() as tmp:
        for ax, search, label in zip(axes, searches, labels, strict=True):
            ax.set_axis_off()
            runs = search.finals or search.trials
            found = next(((r, g) for r in runs if (g := _last_grid(client, r.run_id))), None)
            if found is None:
                ax.set_title(f"{label}\n(no sample grid logged)", fontsize=9)
                continue
            run, (epoch, folder) = found
            local = client.download_artifacts(run.run_id, f"{folder}/samples.png", tmp)
            ax.imshow(matplotlib.image.imread(local), cmap="gray", interpolation="nearest")
            seed = run.tags.get("seed", run.params.get("seed", "?"))
            ax.set_title(f"{label}\nseed {seed}, epoch {epoch}", fontsize=9)
    return fig


def plot_importances(search: Search, label: str) -> Figure:
    """fANOVA importances of the search's Optuna study (raises ReportError when it cannot be computed)."""
    import optuna

    params = search.parent.params
    if "optuna_storage" not in params:
        raise ReportError(f"search {search.name} recorded no Optuna storage")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.load_study(study_name=params["optuna_study"], storage=params["optuna_storage"])
        importances = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0)
        )
    except (KeyError, ValueError, RuntimeError) as e:  # missing study, or too few completed trials
        raise ReportError(f"importances of search {search.name}: {e}") from e
    n = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    names = list(importances)[::-1]  # most important on top
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.barh(names, [importances[k] for k in names], color=OKABE_ITO[0])
    ax.set_xlabel("importance (fANOVA: fraction of the objective's variance)")
    ax.set_ylabel("hyperparameter")
    ax.set_title(f"{label}: importance for {params.get('metric', 'the objective')} ({n} trials)")
    ax.set_xlim(0, 1)
    ax.grid(True, axis="x", alpha=0.3)
    return fig


def save(fig: Figure, out_dir: Path, stem: str, formats=FORMATS) -> list[Path]:
    paths = []
    for ext in formats:
        path = out_dir / f"{stem}.{ext}"
        fig.savefig(path, dpi=fig.dpi)
        paths.append(path)
    return paths


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def check_formats(formats) -> None:
    supported = Figure().canvas.get_supported_filetypes()
    unknown = [f for f in formats if f not in supported]
    if unknown or not formats:
        shown = ", ".join(unknown) or "(none)"
        raise ReportError(f"--formats: {shown} not supported; use any of {', '.join(sorted(supported))}")


def make_figures(
    tracking_uri: str,
    out_dir: str | Path,
    experiments: list[str] | None = None,
    searches: list[str] | None = None,
    methods: list[str] | None = None,
    tags: dict[str, str] | None = None,
    metrics: list[str] | None = None,
    formats=FORMATS,
) -> list[Path]:
    check_formats(formats)
    check_out_dir(out_dir)
    selected = load_searches(tracking_uri, experiments, searches, methods, tags)
    check_one_feature_path(selected)
    client = client_for(tracking_uri)
    out = Path(out_dir)
    fronts = plot_fronts(selected, row_labels(selected), FIGSIZE, DPI, OKABE_ITO)  # multi-objective searches only
    logged = {k for s in selected for r in s.finals for k in r.metrics}
    if metrics is None:
        metrics = [m for m in METRICS if m in logged]
    missing = [m for m in metrics if m not in logged]
    if fronts and not logged:  # multi-objective searches without final runs: the front is the figure
        out.mkdir(parents=True, exist_ok=True)
        return save(fronts, out, "pareto_front", formats)
    if missing or not metrics:
        raise ReportError(
            f"no per-epoch values of {', '.join(missing) or 'any known metric'} in final runs; "
            f"logged: {', '.join(sorted(k for k in logged if not k.startswith('final_')))}"
        )
    labels = row_labels(selected)
    out.mkdir(parents=True, exist_ok=True)
    paths = save(fronts, out, "pareto_front", formats) if fronts else []
    for m in metrics:
        paths += save(plot_curves(client, selected, labels, m), out, f"curves_{m}", formats)
    paths += save(plot_samples(client, selected, labels), out, "samples", formats)
    for search, label in zip(selected, labels, strict=True):
        try:
            paths += save(plot_importances(search, label), out, f"importance_{_safe(search.name)}", formats)
        except ReportError as e:  # a figure that cannot exist is reported, not fatal
            print(f"skipped: {e}", file=sys.stderr)
    return paths


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reports.plots", description=__doc__.split("\n")[0])
    add_selection_args(p)
    p.add_argument("--metrics", default=None, help="per-epoch curves to draw (default: every known metric logged)")
    p.add_argument("--out", default="figures", help="output folder (default ./figures)")
    p.add_argument("--formats", default=",".join(FORMATS), help="file formats (default png,pdf)")
    args = p.parse_args(argv)
    try:
        paths = make_figures(
            out_dir=args.out,
            metrics=[m for m in (args.metrics or "").split(",") if m] or None,
            formats=[f for f in args.formats.split(",") if f],
            **selection(args),
        )
    except ReportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
