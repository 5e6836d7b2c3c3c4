"""Figures from an MLflow store, as PNG and PDF: ``python -m reports.plots`` or ``make_figures(...)``.

- ``curves_<metric>``: the metric per epoch, one line per method (mean over its final seeds) with a band of
  ± 1 standard deviation (paper 003 Figs. 4–5, paper 004 Fig. 3.6);
- ``samples``: the last sample grid of each method's first final seed, side by side;
- ``importance_<search>``: hyperparameter importances of a search's persisted Optuna study (fANOVA);
- ``pareto_front``: every trial and the Pareto front of each multi-objective search (``reports.fronts``).
Colours are the Okabe–Ito palette (distinguishable with the common colour-vision deficiencies). Figures are
sized for one column of a two-column paper (``COLUMN_WIDTH`` inches, 8 pt text), carry no titles (the caption
says what they show), name methods as readers know them and say which network the scores come from; PDFs embed
TrueType fonts (``pdf.fonttype`` 42), which publishers and editors accept.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import matplotlib
import matplotlib.image
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from mlflow.tracking import MlflowClient

from reports.fronts import plot_fronts
from reports.names import feature_label
from reports.store import (
    ReportError,
    Search,
    check_one_feature_path,
    check_out_dir,
    client_for,
    load_searches,
    row_labels,
)
from reports.table import (
    SCORE_KEYS,
    add_selection_args,
    baseline_first,
    direction,
    metric_label,
    resolve_baseline,
    selection,
)

OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
COLUMN_WIDTH = 3.3  # inches: one column of a two-column paper
FIGSIZE = (COLUMN_WIDTH, 2.4)  # inches
DPI = 300
FORMATS = ("png", "pdf")
STYLE = {
    "font.size": 8, "axes.labelsize": 8, "axes.titlesize": 8, "legend.fontsize": 7,
    "xtick.labelsize": 7, "ytick.labelsize": 7, "pdf.fonttype": 42, "ps.fonttype": 42,
}  # fmt: skip
MIN_IMPORTANCE_TRIALS = 20  # fANOVA's random forest on fewer completed trials ranks noise


def styled(make: Callable[..., Figure]) -> Callable[..., Figure]:
    """Build the figure under ``STYLE``: text sizes are fixed when its artists are made."""

    @functools.wraps(make)
    def wrapper(*args, **kwargs) -> Figure:
        with matplotlib.rc_context(STYLE):
            return make(*args, **kwargs)

    return wrapper


def axis_label(metric: str, feature_path: str = "n/a") -> str:
    """E.g. "IS (MNIST classifier) ↑": the metric, the network behind it, which way is better."""
    arrow = {"max": " ↑", "min": " ↓"}.get(direction(metric) or "", "")
    features = feature_label(feature_path)
    return f"{metric_label(metric)}{f' ({features})' if features else ''}{arrow}"


def curve_runs(search: Search) -> list:
    """The runs a search's curves are drawn from: its final seeds, else (no finals) its best search trial."""
    if search.finals:
        return search.finals
    best = search.best_trial()
    return [best] if best else []


def seed_curves(client: MlflowClient, search: Search, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Epochs and a (runs × epochs) array of ``metric`` for the search's final runs, else its best trial (NaN
    where missing)."""
    per_run = []
    for run in curve_runs(search):
        history = {int(m.step): m.value for m in sorted(client.get_metric_history(run.run_id, metric), key=_ts)}
        if history:
            per_run.append(history)
    epochs = np.array(sorted({e for h in per_run for e in h}), dtype=np.int64)
    values = np.array([[h.get(int(e), math.nan) for e in epochs] for h in per_run], dtype=np.float64)
    return epochs, values.reshape(len(per_run), len(epochs))


def _ts(m) -> int:
    return m.timestamp  # a step logged twice (never, but) keeps its latest value


@styled
def plot_curves(client: MlflowClient, searches: list[Search], labels: list[str], metric: str) -> Figure:
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    paths = {s.feature_path for s in searches} - {"n/a"}
    for i, (search, label) in enumerate(zip(searches, labels, strict=True)):
        epochs, values = seed_curves(client, search, metric)
        if not len(epochs):
            continue
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        finite = np.where(np.isfinite(values), values, np.nan)
        mean = np.nanmean(finite, axis=0)
        what = f"n = {len(values)} seeds" if search.finals else "best search trial, not finals"
        ax.plot(epochs, mean, color=colour, marker="o", markersize=3, label=f"{label} ({what})")
        if len(values) > 1:
            std = np.nanstd(finite, axis=0, ddof=1)
            ax.fill_between(epochs, mean - std, mean + std, color=colour, alpha=0.2, linewidth=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel(axis_label(metric, paths.pop() if len(paths) == 1 else "n/a"))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.ticklabel_format(axis="y", useOffset=False)  # absolute values, as a table would print them
    ax.grid(True, alpha=0.3)
    if ax.get_lines():
        ax.legend(frameon=False)
    return fig


def _last_grid(client: MlflowClient, run_id: str) -> tuple[int, str] | None:
    """(epoch, artifact path) of a run's last sample grid: ``final_samples.png`` at the artifact root (its epoch is
    the run's last step), or in stores written before that, ``samples/final.png`` or the newest
    ``samples/epoch_NNNN/samples.png``."""
    from tuner.mlflow_logging import FINAL_GRID

    root = {a.path for a in client.list_artifacts(run_id)}
    found = client.list_artifacts(run_id, "samples") if "samples" in root else []
    for path in (FINAL_GRID, "samples/final.png"):
        if path in root or any(a.path == path for a in found):
            steps = [m.step for m in client.get_metric_history(run_id, "time_total_s")]
            return (int(max(steps, default=0)), path)
    dirs = [a.path for a in found if a.is_dir]
    epochs = sorted((int(m.group(1)), f"{d}/samples.png") for d in dirs if (m := re.search(r"epoch_(\d+)$", d)))
    return epochs[-1] if epochs else None


def samples_figsize(n: int) -> tuple[float, float]:
    """A column wide, up to 3 grids a row, each square plus two lines of label."""
    cols, rows = min(n, 3), math.ceil(n / 3)
    return COLUMN_WIDTH, rows * (COLUMN_WIDTH / cols + 0.35)


@styled
def plot_samples(client: MlflowClient, searches: list[Search], labels: list[str]) -> Figure:
    fig = Figure(figsize=samples_figsize(len(searches)), dpi=DPI, layout="constrained")
    grid = fig.subplots(math.ceil(len(searches) / 3), min(len(searches), 3), squeeze=False)
    axes = list(grid.flat)
    for ax in axes[len(searches) :]:
        ax.set_axis_off()
    with tempfile.TemporaryDirectory() as tmp:
        for ax, search, label in zip(axes, searches, labels, strict=True):
            ax.set_axis_off()
            runs = search.finals or curve_runs(search) + search.trials
            found = next(((r, g) for r in runs if (g := _last_grid(client, r.run_id))), None)
            if found is None:
                ax.set_title(f"{label}\n(no sample grid logged)")
                continue
            run, (epoch, path) = found
            local = client.download_artifacts(run.run_id, path, tmp)
            ax.imshow(matplotlib.image.imread(local), cmap="gray", interpolation="nearest")
            seed = run.tags.get("seed", run.params.get("seed", "?"))
            what = f"seed {seed}" if run.tags.get("role") == "final" else "best trial"
            ax.set_title(f"{label}\n{what}, epoch {epoch}")
    return fig


@styled
def plot_importances(search: Search, label: str) -> Figure:
    """fANOVA importances of the search's Optuna study (raises ReportError when it cannot be computed)."""
    import optuna

    from tuner.optuna_storage import load_study

    params = search.parent.params
    if "optuna_storage" not in params:
        raise ReportError(f"search {search.name} recorded no Optuna storage")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = load_study(params["optuna_storage"], params["optuna_study"])  # an RDB URL or journal:///PATH
    except (KeyError, ValueError, RuntimeError) as e:  # no such study
        raise ReportError(f"importances of search {search.name}: {e}") from e
    n = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    if n < MIN_IMPORTANCE_TRIALS:
        raise ReportError(
            f"importances of search {search.name} need ≥ {MIN_IMPORTANCE_TRIALS} completed trials, it has {n} "
            f"(trials ASHA stopped do not count); run a longer search, e.g. --trials 64"
        )
    try:
        importances = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0)
        )
    except (ValueError, RuntimeError) as e:  # e.g. every completed trial has the same parameters
        raise ReportError(f"importances of search {search.name}: {e}") from e
    names = list(importances)[::-1]  # most important on top
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.barh(names, [importances[k] for k in names], color=OKABE_ITO[0])
    ax.set_xlabel(f"fANOVA importance for {metric_label(params.get('metric', 'objective'))} ({n} trials)")
    ax.set_xlim(0, 1)
    ax.grid(True, axis="x", alpha=0.3)
    return fig


def save(fig: Figure, out_dir: Path, stem: str, formats=FORMATS) -> list[Path]:
    paths = []
    for ext in formats:
        path = out_dir / f"{stem}.{ext}"
        with matplotlib.rc_context(STYLE):  # pdf.fonttype applies when the file is written
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
    baseline: str | None = None,
) -> list[Path]:
    """Every figure of the selected searches; methods in the table's order (``baseline`` first, as
    ``reports.table --baseline`` puts it), so legends and panels read in the order of the table's rows."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no tqdm bars on stderr per grid
    check_formats(formats)
    check_out_dir(out_dir)
    selected = load_searches(tracking_uri, experiments, searches, methods, tags)
    check_one_feature_path(selected)
    labels = row_labels(selected)
    labels, selected = baseline_first(labels, selected, resolve_baseline(labels, selected, baseline))
    client = client_for(tracking_uri)
    out = Path(out_dir)
    fronts = plot_fronts(selected, labels, FIGSIZE, DPI, OKABE_ITO)  # multi-objective searches only
    logged = {k for s in selected for r in curve_runs(s) for k in r.metrics}
    if metrics is None:
        metrics = [m for m in SCORE_KEYS if m in logged]
    missing = [m for m in metrics if m not in logged]
    if fronts and not logged:  # multi-objective searches without final runs: the front is the figure
        out.mkdir(parents=True, exist_ok=True)
        return save(fronts, out, "pareto_front", formats)
    if missing or not metrics:
        raise ReportError(
            f"no per-epoch values of {', '.join(missing) or 'any known metric'} in final runs or best trials; "
            f"logged: {', '.join(sorted(k for k in logged if not k.startswith('final_')))}"
        )
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
    p.add_argument("--baseline", default=None, help="method drawn first, as reports.table --baseline orders rows")
    p.add_argument("--formats", default=",".join(FORMATS), help="file formats (default png,pdf)")
    args = p.parse_args(argv)
    try:
        paths = make_figures(
            out_dir=args.out,
            metrics=[m for m in (args.metrics or "").split(",") if m] or None,
            formats=[f for f in args.formats.split(",") if f],
            baseline=args.baseline,
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
