"""Time to a good GAN: best-so-far Inception Score against wall-clock time for the README's default search
and the alternatives tried, side by side in one run on one machine, with the real data's IS as the ceiling.

    python benchmarks/time_to_quality.py [--trials 64] [--variants default,ema,...] [--out DIR]

Each variant is the README's command (``python -m tuner.search deli_fisher --trials 64``) with a few flags
changed (VARIANTS below), run one after the other through ``tuner.search.run_search``. The clock of each
starts when its search starts (the scoring classifier is trained once, before the first). Printed: a table
(best IS and its DDM, when it was reached, and the best IS each variant had at the default search's wall time)
and ``time_to_quality.png`` (best-so-far IS per variant; dashed: real held-out IS and 90 % of it).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from trainables.classifier import load_classifier
from trainables.data import as_float, load_dataset
from trainables.evaluate import Evaluator
from tuner.cli import build_parser, validate
from tuner.ray_setup import init_ray
from tuner.search import run_search

METRIC = "inception_score"
# Flags each variant adds to the README's default command; "default" is the command as written.
VARIANTS: dict[str, list[str]] = {
    "default": [],
    "no-ema": ["--ema", "0"],
    "ema": ["--ema", "0.999"],
    "asha-4-rf3": ["--epochs", "4", "--reduction-factor", "3"],
    "asha-16-rf4": ["--epochs", "16", "--reduction-factor", "4"],
    "asha-27-rf3": ["--epochs", "27", "--reduction-factor", "3"],
    "diffaug": ["--augment", "diffaug"],
    "ada": ["--augment", "ada"],
    "ema-diffaug": ["--ema", "0.999", "--augment", "diffaug"],
}


def real_inception_score(dataset: str, n: int = 1000) -> float:
    """IS of n held-out real images under the same classifier and protocol the trials are scored with."""
    data = load_dataset(dataset)
    classifier, _ = load_classifier(dataset)
    evaluate = Evaluator(data, classifier, (METRIC,))
    return float(evaluate(as_float(data.test_x[:n]))[METRIC])


def progress(results, start: float) -> pd.DataFrame:
    """Every reported epoch (seconds since the search started, IS, DDM), with the best-so-far IS."""
    frames = [r.metrics_dataframe for r in results if r.metrics_dataframe is not None]
    df = pd.concat(frames).sort_values("timestamp", kind="stable").reset_index(drop=True)
    df["seconds"] = df["timestamp"] - start
    df["best"] = df[METRIC].cummax()
    return df[["seconds", "epoch", METRIC, "ddm", "best"]]


def run_variant(name: str, flags: list[str], trials: int, tmp: str, extra: list[str]) -> tuple[pd.DataFrame, float]:
    argv = ["deli_fisher", "--trials", str(trials), *flags, *extra, "--name", name]
    argv += ["--storage", f"{tmp}/ray", "--mlflow-uri", f"sqlite:///{Path(tmp, 'mlflow.db')}"]
    args = build_parser().parse_args(argv)
    validate(args)
    start = time.time()
    results = run_search(args)
    return progress(results, start), time.time() - start


def best_at(df: pd.DataFrame, seconds: float) -> float:
    reached = df[df["seconds"] <= seconds]
    return float(reached["best"].iloc[-1]) if len(reached) else float("nan")


def markdown(df: pd.DataFrame) -> str:
    cells = [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row] for row in df.itertuples(index=False)]
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in cells])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=64)
    p.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of: {', '.join(VARIANTS)}")
    p.add_argument("--extra", default="", help="flags added to every variant, e.g. '--train-limit 1000'")
    p.add_argument("--out", default="time_to_quality", help="folder for the PNG plot and the CSV table")
    a = p.parse_args()
    names = [v for v in a.variants.split(",") if v]
    unknown = set(names) - set(VARIANTS)
    if unknown:
        p.error(f"unknown variants {sorted(unknown)}; valid: {', '.join(VARIANTS)}")
    torch.set_num_threads(2)
    ceiling = real_inception_score("mnist5k")
    init_ray()
    runs: dict[str, tuple[pd.DataFrame, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            runs[name] = run_variant(name, VARIANTS[name], a.trials, tmp, a.extra.split())
    reference = runs[names[0]][1]  # the first variant's wall time: the budget the others are read at
    rows = []
    for name, (df, wall) in runs.items():
        top = df.loc[df[METRIC].idxmax()]
        rows.append({
            "variant": name, "flags": " ".join(VARIANTS[name]) or "(README command)", "wall_min": wall / 60,
            "epochs": len(df), "best_is": top[METRIC], "ddm_of_best": top["ddm"],
            "reached_at_min": top["seconds"] / 60, f"best_is_at_{names[0]}_wall": best_at(df, reference),
            "of_real_is": top[METRIC] / ceiling,
        })  # fmt: skip
    table = pd.DataFrame(rows)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "time_to_quality.csv", index=False)
    print(f"\nreal held-out IS (1,000 test images, same classifier): {ceiling:.3f}; 90 % = {0.9 * ceiling:.3f}")
    print(markdown(table))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, (df, _) in runs.items():
        ax.step(df["seconds"] / 60, df["best"], where="post", label=name)
    ax.axhline(ceiling, color="k", ls="--", lw=1, label=f"real data ({ceiling:.2f})")
    ax.axhline(0.9 * ceiling, color="grey", ls=":", lw=1, label="90 % of real")
    ax.set_xlabel("wall-clock (min, 2 CPU cores)")
    ax.set_ylabel("best IS so far (MNIST classifier)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "time_to_quality.png", dpi=150)
    print(f"plot: {out / 'time_to_quality.png'}; table: {out / 'time_to_quality.csv'}")


if __name__ == "__main__":
    main()
