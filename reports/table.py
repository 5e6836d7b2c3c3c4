"""A paper table from an MLflow store: ``python -m reports.table`` or ``build_table(...)``.

Rows are methods (one per selected search); each metric column is mean ± standard deviation (ddof = 1)
of the paper-protocol scores of the search's final seeds, the format of paper 000's Tables 1–2. Then the
number of seeds scored, search trials, the epoch budget, total trial-hours (search trials + finals) and the
feature path the scores were computed with. The best mean of each metric is in bold. The last column
tests one metric against a baseline row: Welch's t-test p-value (unequal variances) or a bootstrap 95 %
confidence interval of the difference of means, because "A beats B by 0.1 IS" over a few seeds is often noise.
Outputs: Markdown, LaTeX (booktabs ``tabular``, ready to ``\\input``) and CSV.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from reports.store import ReportError, Search, check_out_dir, load_searches, row_labels

# name → (short label, which way is better); None: no "best" (no bolding).
METRICS: dict[str, tuple[str, str | None]] = {
    "inception_score": ("IS", "max"),
    "fid": ("FID", "min"),
    "kid": ("KID", "min"),
    "ddm": ("DDM", "min"),
    "ddm_goldberger": ("DDM (Goldberger)", "min"),
    "ddm_relative": ("DDM (relative)", None),
    "precision": ("precision", "max"),
    "recall": ("recall", "max"),
    "density": ("density", "max"),
    "coverage": ("coverage", "max"),
    "ms_ssim": ("MS-SSIM", "min"),  # of random generated pairs: lower = more diverse
    "modes_covered": ("modes", "max"),
    "high_quality_fraction": ("HQ fraction", "max"),
    "parzen_ll": ("Parzen LL", "max"),
}
ALPHA = 0.05
BOOTSTRAP_RESAMPLES = 10_000


def metric_label(name: str) -> str:
    return METRICS.get(name, (name, None))[0]


def direction(name: str) -> str | None:
    return METRICS.get(name, (name, None))[1]


@dataclass
class Cell:
    mean: float
    std: float  # nan with fewer than 2 seeds
    n: int


@dataclass
class Table:
    labels: list[str]
    searches: list[Search]
    metrics: list[str]
    cells: dict[tuple[str, str], Cell]  # (row label, metric) → statistics over final seeds
    baseline: str
    test: str  # "welch" | "bootstrap"
    test_metric: str
    significance: dict[str, tuple[float, ...] | None]  # label → (p,) or (ci_low, ci_high); None: not testable
    decimals: int = 3

    # -- numbers ----------------------------------------------------------------------------------

    def best(self, metric: str) -> set[str]:
        """Rows whose mean is best for ``metric`` at the printed precision (ties all bold)."""
        better = direction(metric)
        means = {lab: round(c.mean, self.decimals) for (lab, m), c in self.cells.items() if m == metric and c.n}
        if better is None or not means:
            return set()
        target = max(means.values()) if better == "max" else min(means.values())
        return {lab for lab, v in means.items() if v == target}

    def frame(self) -> pd.DataFrame:
        """Unformatted numbers, one row per search (what the CSV holds)."""
        rows = []
        for lab, s in zip(self.labels, self.searches, strict=True):
            row = {"method": lab, "search": s.name}
            for m in self.metrics:
                c = self.cells[(lab, m)]
                row.update({f"{m}_mean": c.mean, f"{m}_std": c.std, f"{m}_n": c.n})
            row.update(
                seeds=len(s.finals),
                trials=len(s.trials),
                epochs=_epochs(s),
                trial_hours=s.trial_hours,
                feature_path=s.feature_path,
            )
            sig = self.significance.get(lab)
            row["baseline"] = self.baseline
            row["test"] = f"{self.test}:{self.test_metric}"
            if self.test == "welch":
                row["p_value"] = sig[0] if sig else math.nan
            else:
                row["ci_low"], row["ci_high"] = sig if sig else (math.nan, math.nan)
            rows.append(row)
        return pd.DataFrame(rows)

    # -- formatting -------------------------------------------------------------------------------

    def _cells(self, lab: str, metric: str, pm: str, bold, esc) -> str:
        c = self.cells[(lab, metric)]
        if not c.n:
            return esc("–")
        mean = f"{c.mean:.{self.decimals}f}"
        if lab in self.best(metric):
            mean = bold(mean)
        return mean if math.isnan(c.std) else f"{mean}{pm}{c.std:.{self.decimals}f}"

    def _significance(self, lab: str) -> str:
        if lab == self.baseline:
            return "(baseline)"
        sig = self.significance.get(lab)
        if sig is None:
            return "n/a"
        if self.test == "welch":
            p = sig[0]
            return ("<0.001" if p < 0.001 else f"{p:.3f}") + ("*" if p < ALPHA else "")
        lo, hi = sig
        star = "*" if lo > 0 or hi < 0 else ""
        return f"[{lo:+.{self.decimals}f}, {hi:+.{self.decimals}f}]{star}"

    def _header(self, arrows: dict[str, str]) -> list[str]:
        metric_cols = [f"{metric_label(m)} {arrows.get(direction(m), '')}".strip() for m in self.metrics]
        what = "p" if self.test == "welch" else "95% CI of Δ"
        sig = f"{what} ({metric_label(self.test_metric)} vs {self.baseline})"
        return ["method", *metric_cols, "seeds", "trials", "epochs", "trial-h", "features", sig]

    def _rows(self, pm: str, bold, esc=lambda x: x) -> list[list[str]]:
        """Formatted cells; ``esc`` escapes free text (labels, paths), numbers need none."""
        out = []
        for lab, s in zip(self.labels, self.searches, strict=True):
            scored = self.cells[(lab, self.test_metric)].n if self.metrics else 0
            out.append(
                [
                    esc(lab),
                    *[self._cells(lab, m, pm, bold, esc) for m in self.metrics],
                    f"{scored}/{len(s.finals)}",
                    str(len(s.trials)),
                    str(_epochs(s)),
                    f"{s.trial_hours:.2f}",
                    esc(s.feature_path),
                    esc(self._significance(lab)),
                ]
            )
        return out

    def note(self) -> str:
        test = (
            f"Welch's t-test p-value (* p < {ALPHA})"
            if self.test == "welch"
            else f"bootstrap 95% CI of the difference of means ({BOOTSTRAP_RESAMPLES} resamples; * excludes 0)"
        )
        return (
            f"mean ± s.d. (ddof = 1) over final seeds; best in bold; seeds = scored/run; "
            f"trial-h = search trials + finals; last column: {test} on {self.test_metric} against {self.baseline}."
        )

    def markdown(self) -> str:
        header = self._header({"max": "↑", "min": "↓"})
        lines = [
            "| " + " | ".join(header) + " |",
            "|" + "|".join([":---"] + ["---:"] * (len(header) - 3) + [":---"] * 2) + "|",
        ]
        lines += ["| " + " | ".join(r) + " |" for r in self._rows(" ± ", lambda x: f"**{x}**")]
        return "\n".join(lines) + f"\n\n{self.note()}\n"

    def latex(self) -> str:
        header = [latex_escape(h) for h in self._header({})]
        for i, m in enumerate(self.metrics, start=1):
            arrow = {"max": r" $\uparrow$", "min": r" $\downarrow$"}.get(direction(m), "")
            header[i] += arrow
        rows = self._rows(r" $\pm$ ", lambda x: rf"\textbf{{{x}}}", latex_escape)
        body = [" & ".join(r) + r" \\" for r in rows]
        spec = "l" + "r" * (len(header) - 3) + "ll"
        return "\n".join(
            [
                "% " + self.note().replace("±", "+/-"),
                r"% needs \usepackage{booktabs}",
                rf"\begin{{tabular}}{{{spec}}}",
                r"\toprule",
                " & ".join(header) + r" \\",
                r"\midrule",
                *body,
                r"\bottomrule",
                r"\end{tabular}",
                "",
            ]
        )

    def csv(self) -> str:
        buf = io.StringIO()
        self.frame().to_csv(buf, index=False)
        return buf.getvalue()


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "±": r"$\pm$", "–": "--", "Δ": r"$\Delta$",
}  # fmt: skip


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _epochs(s: Search) -> int:
    source = s.finals[0].params if s.finals else s.parent.params
    return int(source.get("epochs", 0))


def welch_p(a: list[float], b: list[float]) -> float | None:
    """Two-sided Welch's t-test p-value, or None when it is undefined (< 2 values, or no variance at all)."""
    if len(a) < 2 or len(b) < 2 or (np.var(a) == 0 and np.var(b) == 0):
        return None
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def bootstrap_ci(a: list[float], b: list[float], seed: int = 0) -> tuple[float, float] | None:
    """Percentile 95 % CI of mean(a) − mean(b), resampling each group independently."""
    if len(a) < 2 or len(b) < 2:
        return None
    res = stats.bootstrap(
        (np.asarray(a, np.float64), np.asarray(b, np.float64)),
        lambda x, y, axis=-1: np.mean(x, axis=axis) - np.mean(y, axis=axis),
        n_resamples=BOOTSTRAP_RESAMPLES,
        confidence_level=0.95,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _metrics(selected: list[Search], wanted: list[str] | None) -> list[str]:
    keys = {k for s in selected for f in s.finals for k in f.metrics}
    present = {k.removeprefix("final_") for k in keys if k.startswith("final_")}
    if wanted:
        missing = [m for m in wanted if m not in present]
        if missing:
            raise ReportError(
                f"no final scores for {', '.join(missing)}; available: {', '.join(sorted(present)) or 'none'}"
            )
        return list(wanted)
    # Per-run split spreads (inception_score_std) are not table columns: the table's ± is over seeds.
    chosen = [m for m in present if not m.endswith("_std")]
    order = list(METRICS)
    return sorted(chosen, key=lambda m: (order.index(m) if m in order else len(order), m))


def build_table(
    tracking_uri: str,
    experiments: list[str] | None = None,
    searches: list[str] | None = None,
    methods: list[str] | None = None,
    tags: dict[str, str] | None = None,
    metrics: list[str] | None = None,
    baseline: str | None = None,
    test: str = "welch",
    test_metric: str | None = None,
    decimals: int = 3,
    allow_mixed_scoring: bool = False,
) -> Table:
    if test not in ("welch", "bootstrap"):
        raise ReportError(f"unknown test {test!r}; valid: welch, bootstrap")
    selected = load_searches(tracking_uri, experiments, searches, methods, tags)
    if not any(s.finals for s in selected):
        raise ReportError("the selected searches have no final runs; run the search with --final-seeds K (K ≥ 2)")
    paths = {s.feature_path for s in selected} - {"n/a"}
    if len(paths) > 1:
        raise ReportError(f"scores come from different feature paths ({', '.join(sorted(paths))}); select one")
    scorings = {s.scoring for s in selected} - {"n/a"}
    if len(scorings) > 1 and not allow_mixed_scoring:
        raise ReportError(
            f"scores come from different generator settings ({' | '.join(sorted(scorings))}); select one, "
            "or pass --allow-mixed-scoring to compare them anyway"
        )
    cols = _metrics(selected, metrics)
    labels = row_labels(selected)
    if baseline is None:
        baseline = labels[0]
    if baseline not in labels:
        raise ReportError(f"unknown baseline {baseline!r}; rows: {', '.join(labels)}")
    if test_metric is not None and test_metric not in cols:
        raise ReportError(f"--test-metric {test_metric!r} is not a column; columns: {', '.join(cols)}")
    test_metric = test_metric or selected[0].parent.params.get("metric")
    if test_metric not in cols:
        test_metric = cols[0] if cols else ""
    cells = {}
    for lab, s in zip(labels, selected, strict=True):
        for m in cols:
            v = np.asarray(s.final_values(m), dtype=np.float64)
            cells[(lab, m)] = Cell(
                float(v.mean()) if len(v) else math.nan, float(v.std(ddof=1)) if len(v) > 1 else math.nan, len(v)
            )
    base = selected[labels.index(baseline)].final_values(test_metric) if test_metric else []
    significance: dict[str, tuple[float, ...] | None] = {}
    for lab, s in zip(labels, selected, strict=True):
        if lab == baseline or not test_metric:
            continue
        values = s.final_values(test_metric)
        if test == "welch":
            p = welch_p(values, base)
            significance[lab] = None if p is None else (p,)
        else:
            significance[lab] = bootstrap_ci(values, base)
    return Table(labels, selected, cols, cells, baseline, test, test_metric, significance, decimals)


def write_table(table: Table, out_dir: str | Path, stem: str = "table") -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext, text in (("md", table.markdown()), ("tex", table.latex()), ("csv", table.csv())):
        path = out / f"{stem}.{ext}"
        path.write_text(text)
        paths.append(path)
    return paths


# -- command line ---------------------------------------------------------------------------------


def add_selection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mlflow-uri", default=None, help="MLflow tracking URI (default: sqlite:///./mlflow.db)")
    p.add_argument("--experiment", action="append", help="MLflow experiment(s) to read (repeat or comma-separate)")
    p.add_argument("--search", action="append", help="search name(s) to include (default: all)")
    p.add_argument("--method", action="append", help="method(s) to include, in row order (default: all)")
    p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="only searches with this tag")


def selection(args: argparse.Namespace) -> dict:
    def split(values):
        return [v for item in values or [] for v in item.split(",") if v] or None

    tags = {}
    for t in args.tag:
        key, sep, value = t.partition("=")
        if not sep or not key:
            raise ReportError(f"--tag {t!r} must look like KEY=VALUE")
        tags[key] = value
    return dict(
        tracking_uri=args.mlflow_uri or f"sqlite:///{Path('mlflow.db').resolve()}",
        experiments=split(args.experiment),
        searches=split(args.search),
        methods=split(args.method),
        tags=tags or None,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reports.table", description=__doc__.split("\n")[0])
    add_selection_args(p)
    p.add_argument("--metrics", default=None, help="metric columns, comma-separated (default: all final scores)")
    p.add_argument("--baseline", default=None, help="row to test against (default: the first row)")
    p.add_argument("--test", default="welch", choices=["welch", "bootstrap"], help="significance test")
    p.add_argument("--test-metric", default=None, help="metric tested (default: the one the search optimised)")
    p.add_argument("--decimals", type=int, default=3)
    p.add_argument("--allow-mixed-scoring", action="store_true", help="allow rows scored with different generator "
                   "settings (EMA or not, bf16 or fp32); refused by default since both change scores")  # fmt: skip
    p.add_argument("--format", default="markdown", choices=["markdown", "latex", "csv"], help="printed format")
    p.add_argument("--out", default=None, help="also write table.md, table.tex and table.csv into this folder")
    args = p.parse_args(argv)
    try:
        if args.out:
            check_out_dir(args.out)
        table = build_table(
            **selection(args),
            metrics=[m for m in (args.metrics or "").split(",") if m] or None,
            baseline=args.baseline,
            test=args.test,
            test_metric=args.test_metric,
            decimals=args.decimals,
            allow_mixed_scoring=args.allow_mixed_scoring,
        )
    except ReportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print({"markdown": table.markdown, "latex": table.latex, "csv": table.csv}[args.format]())
    if args.out:
        for path in write_table(table, args.out):
            print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
