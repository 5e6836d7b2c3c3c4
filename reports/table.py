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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from reports.store import ReportError, Search, check_one_feature_path, check_out_dir, load_searches, row_labels
from trainables.evaluate import metric_direction, metric_modes
from trainables.evaluate import metric_label as registry_label

# Result keys that are scores (they have a better direction), in the metric registry's order: the table's columns.
SCORE_KEYS: list[str] = list(metric_modes())
ALPHA = 0.05
COMPACT_TABCOLSEP = "4pt"  # LaTeX's default is 6pt
BOOTSTRAP_RESAMPLES = 10_000


def metric_label(name: str) -> str:
    return registry_label(name)


def direction(name: str) -> str | None:
    """Which way a metric is better, from the metric registry; None: no "best" (no bolding)."""
    return metric_direction(name)


@dataclass
class Cell:
    mean: float
    std: float  # nan with fewer than 2 seeds
    n: int


def decimals_for(std: float, fallback: int) -> int:
    """Decimal places that show ``std`` to two significant figures (0.2 → 2, 9e-5 → 6, 12 → 0), so a spread is
    never printed as ``± 0.000``; ``fallback`` when there is no spread to go by (one seed, or none at all)."""
    if not math.isfinite(std) or std <= 0:
        return fallback
    return min(max(1 - math.floor(math.log10(std)), 0), 12)


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
    decimals: int = 3  # for means without a spread to set their precision
    source: str = "finals"  # "finals", or "search": no finals, each row is the search's best trial (one run)
    # (row label, metric) → whether the row differs from the baseline at ALPHA on that metric (None: not testable)
    differs: dict[tuple[str, str], bool | None] = field(default_factory=dict)
    compact: bool = False  # bookkeeping columns (seeds … features) go to the caption note instead

    # -- numbers ----------------------------------------------------------------------------------

    def best(self, metric: str) -> set[str]:
        """Rows whose mean is best for ``metric`` (ties all count)."""
        better = direction(metric)
        means = {lab: c.mean for (lab, m), c in self.cells.items() if m == metric and c.n}
        if better is None or not means:
            return set()
        target = max(means.values()) if better == "max" else min(means.values())
        return {lab for lab, v in means.items() if v == target}

    def bold(self, metric: str) -> set[str]:
        """Best rows whose lead is significant: a row other than the baseline when it differs from the baseline at
        ALPHA; the baseline when every other scored row differs from it. A best mean that could be noise is plain."""
        out = set()
        for lab in self.best(metric):
            if lab != self.baseline:
                if self.differs.get((lab, metric)):
                    out.add(lab)
                continue
            others = [self.differs.get((o, metric)) for o in self.labels if o != lab and self.cells[(o, metric)].n]
            if others and all(others):
                out.add(lab)
        return out

    def frame(self) -> pd.DataFrame:
        """Unformatted numbers, one row per search (what the CSV holds)."""
        rows = []
        for lab, s in zip(self.labels, self.searches, strict=True):
            row = {"method": s.method, "label": lab, "search": s.name, "source": self.source}
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

    def places(self, metric: str) -> int:
        """One number of decimals for a whole column, so its decimal points line up: enough for its smallest
        spread to show two significant figures (never ``± 0.000``)."""
        stds = [c.std for (_, m), c in self.cells.items() if m == metric and c.n and math.isfinite(c.std) and c.std > 0]
        return max((decimals_for(s, self.decimals) for s in stds), default=self.decimals)

    def _parts(self, lab: str, metric: str, bold, esc) -> tuple[str, str]:
        """(mean, s.d.) as printed; the s.d. is empty with one seed."""
        c = self.cells[(lab, metric)]
        if not c.n:
            return esc("–"), ""
        places = self.places(metric)
        mean = f"{c.mean:.{places}f}"
        if lab in self.bold(metric):
            mean = bold(mean)
        return mean, "" if not math.isfinite(c.std) else f"{c.std:.{places}f}"

    def _cells(self, lab: str, metric: str, pm: str, bold, esc) -> str:
        mean, std = self._parts(lab, metric, bold, esc)
        return f"{mean}{pm}{std}" if std else mean

    def _significance(self, lab: str) -> str:
        if lab == self.baseline:
            return "(baseline)" if not self.compact else "–"
        sig = self.significance.get(lab)
        if sig is None:
            return "n/a"
        if self.test == "welch":
            p = sig[0]
            return ("<0.001" if p < 0.001 else f"{p:.3f}") + ("*" if p < ALPHA else "")
        lo, hi = sig
        star = "*" if lo > 0 or hi < 0 else ""
        places = decimals_for((hi - lo) / 4, self.decimals)  # the CI's half-width ≈ 2 s.e.
        return f"[{lo:+.{places}f}, {hi:+.{places}f}]{star}"

    def _header(self, arrows: dict[str, str]) -> list[str]:
        metric_cols = [f"{metric_label(m)} {arrows.get(direction(m), '')}".strip() for m in self.metrics]
        what = "p" if self.test == "welch" else "95% CI of Δ"
        sig = what if self.compact else f"{what} ({metric_label(self.test_metric)} vs {self.baseline})"
        bookkeeping = [] if self.compact else ["seeds", "trials", "epochs", "trial-h", "features"]
        return ["method", *metric_cols, *bookkeeping, *([sig] if self.tested else [])]

    @property
    def tested(self) -> bool:
        """Whether the table has a significance column: finals over seeds do, a search's best trials do not."""
        return self.source == "finals"

    def _bookkeeping(self, s: Search, lab: str) -> list[str]:
        scored = self.cells[(lab, self.test_metric)].n if self.metrics else 0
        seeds = f"{scored}/{len(s.finals)}" if self.source == "finals" else "–"
        return [seeds, str(len(s.trials)), str(_epochs(s)), f"{s.trial_hours:.2f}", s.feature_path]

    def _rows(self, pm: str | None, bold, esc=lambda x: x) -> list[list[str]]:
        """Formatted cells; ``esc`` escapes free text (labels, paths), numbers need none. ``pm`` None: mean and s.d.
        in two cells (LaTeX's ``r@{}l`` pair, which lines up both columns' decimal points)."""
        out = []
        for lab, s in zip(self.labels, self.searches, strict=True):
            bookkeeping = [] if self.compact else [esc(v) for v in self._bookkeeping(s, lab)]
            metrics = []
            for m in self.metrics:
                if pm is None:
                    mean, std = self._parts(lab, m, bold, esc)
                    metrics += [mean, rf"${{}}\pm{{}}${std}" if std else ""]
                else:
                    metrics.append(self._cells(lab, m, pm, bold, esc))
            sig = [esc(self._significance(lab))] if self.tested else []
            out.append([esc(lab), *metrics, *bookkeeping, *sig])
        return out

    def note(self) -> str:
        """The caption: what the numbers are and what bold means, in a paper's words; the bookkeeping (seeds, trials,
        epochs, trial-hours, features) once, for all rows where they agree."""
        if self.source == "search":
            text = (
                "Search results, not finals: each value is the best search trial's last-epoch score (one run per "
                "method, no seeds, no significance test)."
            )
        else:
            test = (
                f"Welch's t-test (unequal variances) p-value, * p < {ALPHA}"
                if self.test == "welch"
                else f"bootstrap 95% confidence interval of the difference of means ({BOOTSTRAP_RESAMPLES:,} "
                "resamples), * excludes 0"
            )
            text = (
                "Mean ± standard deviation over final runs with different seeds (s.d. to two significant figures). "
                f"Bold: best mean, and different from {self.baseline} at the {ALPHA} level. "
                f"Last column: {test}, on {metric_label(self.test_metric)} against {self.baseline}."
            )
            if not self.compact:
                text += " Seeds: scored / trained; trial-h: training hours of search trials and finals."
        if self.compact:
            text += " " + self._bookkeeping_sentence()
        return text

    def _bookkeeping_sentence(self) -> str:
        """E.g. "Each method: 3 seeds, 2 search trials, 10 epochs. Trial-hours: Fisher GAN 1.80,
        Deli-Fisher GAN 0.80. Scores on MNIST classifier features." Values shared by every row are said once."""
        from reports.names import feature_label

        rows = [self._bookkeeping(s, lab) for lab, s in zip(self.labels, self.searches, strict=True)]
        fields = [("seeds", 0), ("search trials", 1), ("epochs", 2)] if self.source == "finals" else [
            ("search trials", 1), ("epochs", 2)
        ]  # fmt: skip
        shared, per_row = [], []
        for name, i in fields:
            values = [r[i] for r in rows]
            seeds = name == "seeds"
            show = (lambda v: v.split("/")[0]) if seeds else (lambda v: v)
            if len(set(values)) == 1:
                shared.append(f"{show(values[0])} {name}")
            else:
                pairs = zip(self.labels, values, strict=True)
                per_row.append(f"{name.capitalize()}: " + ", ".join(f"{lab} {show(v)}" for lab, v in pairs))
        hours = "Trial-hours: " + ", ".join(f"{lab} {r[3]}" for lab, r in zip(self.labels, rows, strict=True))
        text = (f"Each method: {', '.join(shared)}. " if shared else "") + ". ".join([*per_row, hours]) + "."
        paths = sorted({feature_label(s.feature_path) or s.feature_path for s in self.searches})
        return text + f" Scores on {' and '.join(paths)} features."

    def markdown(self) -> str:
        header = self._header({"max": "↑", "min": "↓"})
        n_text = int(not self.compact) + int(self.tested)  # left-aligned trailing columns: features, the test
        lines = [
            "| " + " | ".join(header) + " |",
            "|" + "|".join([":---"] + ["---:"] * (len(header) - 1 - n_text) + [":---"] * n_text) + "|",
        ]
        lines += ["| " + " | ".join(r) + " |" for r in self._rows(" ± ", lambda x: f"**{x}**")]
        return "\n".join(lines) + f"\n\n{self.note()}\n"

    def latex(self) -> str:
        """A booktabs ``tabular`` that never overflows ``\\columnwidth``: mean and s.d. in an ``r@{}l`` column pair
        (decimal points aligned, no gap wasted), and scaled down to the column only where it is still wider."""
        header = [latex_escape(h) for h in self._header({})]
        for i, m in enumerate(self.metrics, start=1):
            arrow = {"max": r" $\uparrow$", "min": r" $\downarrow$"}.get(direction(m), "")
            header[i] = rf"\multicolumn{{2}}{{c}}{{{header[i]}{arrow}}}"
        if self.compact and self.tested and self.test == "welch":
            header[-1] = "$p$"
        rows = self._rows(None, lambda x: rf"\textbf{{{x}}}", latex_escape)
        body = [" & ".join(r) + r" \\" for r in rows]
        n_text = int(not self.compact) + int(self.tested)
        n_numbers = len(header) - 1 - len(self.metrics) - n_text  # bookkeeping numbers (seeds … trial-h)
        spec = "l" + "r@{}l" * len(self.metrics) + "r" * n_numbers + "l" * n_text
        preamble = []
        if self.compact:  # every point counts in a column: no outer padding, narrower gaps (local to this group)
            spec = f"@{{}}{spec}@{{}}"
            preamble = [rf"\setlength{{\tabcolsep}}{{{COMPACT_TABCOLSEP}}}"]
        return "\n".join(
            [
                "% " + self.note().replace("±", "+/-"),
                r"% needs \usepackage{booktabs} and \usepackage{graphicx}; \input it inside a table float",
                r"\begingroup",
                *preamble,
                r"\setbox0\hbox{%",
                rf"\begin{{tabular}}{{{spec}}}",
                r"\toprule",
                " & ".join(header) + r" \\",
                r"\midrule",
                *body,
                r"\bottomrule",
                r"\end{tabular}}%",
                # \leavevmode: the box goes into a paragraph line, so the float's \centering centres it
                r"\leavevmode\ifdim\wd0>\columnwidth\resizebox{\columnwidth}{!}{\box0}\else\box0\fi",
                r"\endgroup",
                "",
            ]
        )

    def caption(self) -> str:
        """The note as LaTeX text, for ``\\caption{\\protect\\input{table-caption}}`` (``\\input`` is fragile:
        unprotected inside ``\\caption`` it is an error whatever the file holds). Only robust commands, and no
        trailing newline, so the text survives the .aux file and the list of tables."""
        return latex_escape(self.note()).replace("$\\pm$", "\\ensuremath{\\pm}")

    def csv(self) -> str:
        buf = io.StringIO()
        self.frame().to_csv(buf, index=False)
        return buf.getvalue()


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "±": r"$\pm$", "–": "--", "Δ": r"$\Delta$", "<": r"$<$", ">": r"$>$", "≥": r"$\geq$", "↑": r"$\uparrow$",
    "↓": r"$\downarrow$",
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
    order = list(SCORE_KEYS)
    return sorted(chosen, key=lambda m: (order.index(m) if m in order else len(order), m))


def resolve_baseline(labels: list[str], selected: list[Search], baseline: str | None) -> str:
    """The baseline row's label, given as a label ("Fisher GAN"), a method key ("fisher") or a search name."""
    if baseline is None:
        return labels[0]
    if baseline in labels:
        return baseline
    matches = [lab for lab, s in zip(labels, selected, strict=True) if baseline in (s.method, s.name)]
    if len(matches) == 1:
        return matches[0]
    raise ReportError(f"unknown baseline {baseline!r}; rows: {', '.join(labels)}")


def baseline_first(labels: list[str], selected: list[Search], baseline: str) -> tuple[list[str], list[Search]]:
    """Rows reordered so the baseline comes first, the others keeping their order."""
    i = labels.index(baseline)
    order = [i, *(j for j in range(len(labels)) if j != i)]
    return [labels[j] for j in order], [selected[j] for j in order]


def differs_from_baseline(a: list[float], b: list[float], test: str) -> bool | None:
    """Whether two groups of scores differ at ALPHA (Welch) or by a bootstrap CI excluding 0; None: not testable."""
    if test == "welch":
        p = welch_p(a, b)
        return None if p is None else p < ALPHA
    ci = bootstrap_ci(a, b)
    return None if ci is None else (ci[0] > 0 or ci[1] < 0)


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
    compact: bool = False,
    allow_mixed_scoring: bool = False,
) -> Table:
    if test not in ("welch", "bootstrap"):
        raise ReportError(f"unknown test {test!r}; valid: welch, bootstrap")
    selected = load_searches(tracking_uri, experiments, searches, methods, tags)
    check_one_feature_path(selected)
    scorings = {s.scoring for s in selected} - {"n/a"}
    if len(scorings) > 1 and not allow_mixed_scoring:
        raise ReportError(
            f"scores come from different generator settings ({' | '.join(sorted(scorings))}); select one, "
            "or pass --allow-mixed-scoring to compare them anyway"
        )
    if not any(s.finals for s in selected):
        return search_table(selected, metrics, baseline, test, test_metric, decimals, compact)
    cols = _metrics(selected, metrics)
    labels = row_labels(selected)
    baseline = resolve_baseline(labels, selected, baseline)
    labels, selected = baseline_first(labels, selected, baseline)
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
    base = selected[0]
    significance: dict[str, tuple[float, ...] | None] = {}
    differs: dict[tuple[str, str], bool | None] = {}
    for lab, s in zip(labels[1:], selected[1:], strict=True):
        for m in cols:
            differs[(lab, m)] = differs_from_baseline(s.final_values(m), base.final_values(m), test)
        if not test_metric:
            continue
        values, reference = s.final_values(test_metric), base.final_values(test_metric)
        if test == "welch":
            p = welch_p(values, reference)
            significance[lab] = None if p is None else (p,)
        else:
            significance[lab] = bootstrap_ci(values, reference)
    return Table(
        labels, selected, cols, cells, baseline, test, test_metric, significance, decimals, "finals", differs, compact
    )


def search_table(
    selected: list[Search],
    metrics: list[str] | None,
    baseline: str | None,
    test: str,
    test_metric: str | None,
    decimals: int,
    compact: bool = False,
) -> Table:
    """Searches without finals: each row is the search's best trial (its last-epoch scores), labelled as search
    results. One run per row gives no spread and no test, but the quick start's search still yields a table."""
    best = {s.name: s.best_trial() for s in selected}
    if not any(best.values()):
        raise ReportError("the selected searches have no scored trials; wait for the search to report an epoch")
    present = {k for t in best.values() if t for k in t.metrics if k in SCORE_KEYS}
    if metrics:
        missing = [m for m in metrics if m not in present]
        if missing:
            raise ReportError(
                f"no trial scores for {', '.join(missing)}; available: {', '.join(sorted(present)) or 'none'}"
            )
    cols = list(metrics) if metrics else [m for m in SCORE_KEYS if m in present]
    labels = row_labels(selected)
    baseline = resolve_baseline(labels, selected, baseline)
    labels, selected = baseline_first(labels, selected, baseline)
    cells = {}
    for lab, s in zip(labels, selected, strict=True):
        values = best[s.name].metrics if best[s.name] else {}
        for m in cols:
            v = values.get(m, math.nan)
            cells[(lab, m)] = Cell(float(v), math.nan, int(math.isfinite(v)))
    test_metric = test_metric if test_metric in cols else (selected[0].optimised[0] if cols else "")
    significance = dict.fromkeys(labels[1:], None)
    return Table(
        labels, selected, cols, cells, baseline, test, test_metric, significance, decimals, "search", {}, compact
    )


def write_table(table: Table, out_dir: str | Path, stem: str = "table") -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in (
        (f"{stem}.md", table.markdown()),
        (f"{stem}.tex", table.latex()),
        (f"{stem}-caption.tex", table.caption()),
        (f"{stem}.csv", table.csv()),
    ):
        path = out / name
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
    p.add_argument(
        "--decimals",
        type=int,
        default=3,
        help="places of a mean without a spread (default 3); with one, the s.d. (2 significant figures) sets them",
    )
    p.add_argument(
        "--compact",
        action="store_true",
        help="seeds, trials, epochs, trial-hours and features go to "
        "the caption note, so the LaTeX fits an article column",
    )
    p.add_argument("--allow-mixed-scoring", action="store_true", help="allow rows scored with different generator "
                   "settings (EMA or not, bf16 or fp32, --augment); refused by default: each changes them")  # fmt: skip
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
            compact=args.compact,
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
