"""reports.table and reports.plots: hand-computed numbers on a hand-made store, and a real search's store
cross-checked against values read directly from MLflow with pandas."""

from __future__ import annotations

import dataclasses
import math
import re
import shutil
import subprocess
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
from PIL import Image
from scipy import stats

from reports import plots, table
from reports.names import display_name
from reports.store import ReportError
from tests._shared_search import EXPERIMENT, FINAL_SEEDS, METHODS, TRIALS, shared_store

# -- a hand-made store: known numbers, no training ------------------------------------------------

HAND = {  # method → (final IS per seed, final DDM per seed, trial time_total_s)
    "fisher": ([6.0, 6.2, 6.4], [3.0, 2.0, 4.0], [1800.0, 3600.0]),
    "deli_fisher": ([7.0, 7.4, 7.2], [1.0, 1.5, 2.0], [900.0, 900.0]),
}
FINAL_SECONDS = 360.0


def _run(client, exp, name, tags, params, metrics):
    run = client.create_run(exp, run_name=name, tags=tags)
    ts = 0
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(k, v, ts, step) for k, (v, step) in metrics.items()],
        params=[Param(k, str(v)) for k, v in params.items()],
    )
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def make_hand_store(uri, experiment="hand", feature_paths=None, feature_params=None) -> str:
    client = MlflowClient(uri)
    exp = client.create_experiment(experiment)
    for method, (is_values, ddm_values, trial_seconds) in HAND.items():
        fpath = (feature_paths or {}).get(method, "classifier:mnist5k")
        more = (feature_params or {}).get(method, {})  # e.g. the weights' SHA-256, the resizer
        search = f"{method}-hand"
        parent = _run(client, exp, search, {"role": "search", "search_name": search, "method": method,
                                            "group": "a" if method == "fisher" else "b"},
                      {"metric": "inception_score", "epochs": 10}, {})  # fmt: skip
        child = {"mlflow.parentRunId": parent, "search_name": search, "method": method}
        for i, s in enumerate(trial_seconds):
            _run(client, exp, f"t{i}", {**child, "role": "trial"}, {"epochs": 10, "feature_path": fpath, **more},
                 {"time_total_s": (s, 10), "inception_score": (5.0, 10)})  # fmt: skip
        for seed, (v_is, v_ddm) in enumerate(zip(is_values, ddm_values, strict=True), start=1):
            _run(client, exp, f"final seed={seed}", {**child, "role": "final", "final": "true", "seed": str(seed)},
                 {"epochs": 10, "seed": seed, "feature_path": fpath, **more},
                 {"final_inception_score": (v_is, 10), "final_inception_score_std": (0.1, 10),
                  "final_ddm": (v_ddm, 10), "time_total_s": (FINAL_SECONDS, 10)})  # fmt: skip
    return uri


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    """One database (creating one costs seconds): experiment "hand", and "mixed" whose fisher search scored
    with another feature path."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('hand') / 'mlflow.db'}"
    make_hand_store(uri)
    make_hand_store(uri, "mixed", feature_paths={"fisher": "inception-v3"})
    return uri


def build(uri, **kwargs) -> table.Table:
    return table.build_table(uri, **{"experiments": ["hand"], **kwargs})


def welch_by_hand(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))  # Welch–Satterthwaite
    return 2 * stats.t.sf(abs(t), dof)


def test_table_numbers_are_mean_and_sample_std_over_seeds(hand):
    t = build(hand, baseline="fisher")
    # display names, the baseline row first
    assert t.labels == ["Fisher GAN", "Deli-Fisher GAN"] and t.metrics == ["inception_score", "ddm"]
    c = t.cells[("Fisher GAN", "inception_score")]
    assert (c.mean, c.std, c.n) == (pytest.approx(6.2), pytest.approx(0.2), 3)
    c = t.cells[("Deli-Fisher GAN", "ddm")]
    assert (c.mean, c.std, c.n) == (pytest.approx(1.5), pytest.approx(0.5), 3)
    assert t.best("inception_score") == {"Deli-Fisher GAN"} and t.best("ddm") == {"Deli-Fisher GAN"}
    # bold only where the lead over the baseline is significant: IS p = 0.004, DDM p ≈ 0.10
    assert t.bold("inception_score") == {"Deli-Fisher GAN"} and t.bold("ddm") == set()
    assert t.differs[("Deli-Fisher GAN", "ddm")] is False
    # equal n and variances: Welch's dof = 2n − 2 = 4, t = 1 / sqrt(0.04/3 · 2)
    p = t.significance["Deli-Fisher GAN"][0]
    assert p == pytest.approx(welch_by_hand(HAND["deli_fisher"][0], HAND["fisher"][0]), rel=1e-9)
    assert p == pytest.approx(2 * stats.t.sf(1 / math.sqrt(0.08 / 3), 4), rel=1e-9)
    frame = t.frame().set_index("method")
    assert frame.loc["fisher", "trial_hours"] == pytest.approx((1800 + 3600 + 3 * FINAL_SECONDS) / 3600)
    assert frame.loc["fisher", "trials"] == 2 and frame.loc["fisher", "epochs"] == 10


def test_markdown_table_rows(hand):
    md = build(hand, baseline="fisher").markdown()
    lines = md.splitlines()
    header = "| method | IS ↑ | DDM ↓ | seeds | trials | epochs | trial-h | features | p (IS vs Fisher GAN) |"
    assert lines[0] == header
    # one number of decimals per column, set by its smallest s.d. at 2 significant figures (DDM: 0.50 → 2 places, so
    # 1.0 prints as 1.00); bold only the significant lead (IS, not DDM)
    bookkeeping = "3/3 | 2 | 10 | {} | classifier:mnist5k"
    assert lines[2] == f"| Fisher GAN | 6.20 ± 0.20 | 3.00 ± 1.00 | {bookkeeping.format('1.80')} | (baseline) |"
    assert lines[3] == f"| Deli-Fisher GAN | **7.20** ± 0.20 | 1.50 ± 0.50 | {bookkeeping.format('0.80')} | 0.004* |"


def test_latex_table_is_compile_shaped(hand):
    tex = build(hand, baseline="fisher").latex()
    body = [ln for ln in tex.splitlines() if ln and not ln.startswith("%")]
    assert body[0] == r"\begingroup" and body[-1] == r"\endgroup"
    assert body[2].startswith(r"\begin{tabular}{") and body[-3] == r"\end{tabular}}%"
    assert tex.count(r"\begin{") == tex.count(r"\end{") == 1
    assert [ln for ln in body if ln in (r"\toprule", r"\midrule", r"\bottomrule")] == [
        r"\toprule", r"\midrule", r"\bottomrule"
    ]  # fmt: skip
    rows = [ln for ln in body if ln.endswith(r"\\")]
    assert len(rows) == 3 and len({ln.count("&") for ln in rows[1:]}) == 1  # header + 2 rows, equal columns
    spec = re.match(r"\\begin\{tabular\}\{(.+)\}$", body[2]).group(1)
    assert spec == "lr@{}lr@{}lrrrrll"  # mean and s.d. in r@{}l pairs: decimal points line up
    n_cols = len(spec.replace("@{}", ""))
    assert rows[1].count("&") == n_cols - 1 and rows[0].count("multicolumn{2}") == 2
    assert not re.search(r"(?<!\\)_", "\n".join(body))  # every underscore escaped
    assert r"Deli-Fisher GAN & \textbf{7.20} & ${}\pm{}$0.20 & 1.50 & ${}\pm{}$0.50" in tex
    text = "\n".join(body)
    assert text.count("{") - text.count(r"\{") == text.count("}") - text.count(r"\}")
    for ln in body:
        assert ln.count("$") % 2 == 0


def test_csv_holds_the_unrounded_numbers(hand, tmp_path):
    t = build(hand, baseline="fisher")
    paths = table.write_table(t, tmp_path)
    assert sorted(p.name for p in paths) == ["table-caption.tex", "table.csv", "table.md", "table.tex"]
    df = pd.read_csv(tmp_path / "table.csv").set_index("method")
    assert df.loc["deli_fisher", "inception_score_mean"] == pytest.approx(7.2, abs=1e-12)
    assert df.loc["fisher", "ddm_std"] == pytest.approx(1.0, abs=1e-12)
    assert df.loc["deli_fisher", "p_value"] == pytest.approx(t.significance["Deli-Fisher GAN"][0])


def test_bootstrap_ci_of_the_difference(hand):
    t = build(hand, baseline="fisher", test="bootstrap")
    lo, hi = t.significance["Deli-Fisher GAN"]
    assert lo <= 1.0 <= hi and lo > 0  # every resampled deli mean (≥ 7.0) beats every fisher mean (≤ 6.4)
    assert (lo, hi) == build(hand, baseline="fisher", test="bootstrap").significance["Deli-Fisher GAN"]
    assert "]*" in t.markdown()


def test_welch_is_undefined_without_spread_or_seeds():
    assert table.welch_p([1.0], [1.0, 2.0]) is None
    assert table.welch_p([1.0, 1.0], [2.0, 2.0]) is None
    assert table.welch_p([1.0, 2.0, 4.0], [0.0, 1.0]) == pytest.approx(welch_by_hand([1, 2, 4], [0, 1]))


def test_selection_by_method_search_tag_and_baseline(hand):
    t = build(hand, methods=["fisher", "deli_fisher"], baseline="deli_fisher", test_metric="ddm")
    # the baseline row comes first
    assert t.labels == ["Deli-Fisher GAN", "Fisher GAN"] and "Fisher GAN" in t.significance
    assert t.significance["Fisher GAN"][0] == pytest.approx(welch_by_hand(HAND["fisher"][1], HAND["deli_fisher"][1]))
    # --method order otherwise
    assert build(hand, methods=["fisher", "deli_fisher"]).labels == ["Fisher GAN", "Deli-Fisher GAN"]
    assert build(hand, baseline="Fisher GAN").baseline == "Fisher GAN"  # a display name works as well as a method key
    assert build(hand, tags={"group": "b"}).labels == ["Deli-Fisher GAN"]
    assert build(hand, searches=["fisher-hand"]).labels == ["Fisher GAN"]
    for kwargs, needle in [
        ({"methods": ["wgan"]}, "unknown method"),
        ({"experiments": ["nope"]}, "unknown MLflow experiment"),
        ({"searches": ["nope"]}, "unknown search"),
        ({"baseline": "wgan"}, "unknown baseline"),
        ({"metrics": ["fid"]}, "no final scores for fid"),
    ]:
        with pytest.raises(ReportError, match=needle):
            build(hand, **kwargs)


def test_scores_from_different_feature_paths_are_never_mixed(hand):
    with pytest.raises(ReportError, match="different feature paths"):
        build(hand, experiments=["mixed"])


def test_scores_from_different_weights_or_resizers_are_never_mixed(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    dino = {"fisher": "dinov2-vitb14", "deli_fisher": "dinov2-vitb14"}
    same = {"feature_weights_sha256": "a" * 64, "resizer": "clean"}
    make_hand_store(uri, "weights", dino, {"fisher": same, "deli_fisher": {**same, "feature_weights_sha256": "b" * 64}})
    make_hand_store(uri, "resizers", dino, {"fisher": same, "deli_fisher": {**same, "resizer": "legacy"}})
    # Finals scored on ViT-L/14 after ViT-B/14 searches: the table speaks of the finals' features.
    final_l = {"final_features.feature_path": "dinov2-vitl14", "final_features.feature_weights_sha256": "c" * 64,
               "final_features.resizer": "clean", **same}  # fmt: skip
    make_hand_store(uri, "final-l", dino, {"fisher": final_l, "deli_fisher": final_l})
    for experiment, needle in (("weights", "weights aaaaaaaaaaaa, clean resize | weights bbbbbbbbbbbb"),
                               ("resizers", "clean resize | weights aaaaaaaaaaaa, legacy resize")):  # fmt: skip
        with pytest.raises(ReportError, match="different feature weights or resizers") as e:
            table.build_table(uri, experiments=[experiment])
        assert needle in str(e.value)
        with pytest.raises(ReportError, match="different feature weights or resizers"):
            plots.make_figures(uri, str(tmp_path / "figs"), experiments=[experiment])
    assert "dinov2-vitl14" in table.build_table(uri, experiments=["final-l"]).markdown()


def test_table_cli_writes_files_and_rejects_bad_input(hand, tmp_path, capsys):
    out = str(tmp_path / "t")
    assert table.main(["--mlflow-uri", hand, "--experiment", "hand", "--format", "latex", "--out", out]) == 0
    assert r"\toprule" in capsys.readouterr().out and (tmp_path / "t" / "table.tex").is_file()
    missing = tmp_path / "none" / "mlflow.db"
    for argv in (["--experiment", "nope"], ["--method", "wgan"], ["--tag", "oops"]):
        assert table.main(["--mlflow-uri", hand, *argv]) == 2
        err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
        assert len(err) == 1 and err[0].startswith("error: ")
    assert table.main(["--mlflow-uri", f"sqlite:///{missing}"]) == 2
    assert not missing.exists() and not missing.parent.exists()


# -- the real search's store ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(ray_session, tmp_path_factory):
    return shared_store(tmp_path_factory)


@pytest.fixture(scope="module")
def runs_df(store):
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(store.uri)
    try:
        return mlflow.search_runs(experiment_names=[EXPERIMENT], max_results=10_000)
    finally:
        mlflow.set_tracking_uri(previous)


def test_table_matches_values_read_with_pandas(store, runs_df):
    t = table.build_table(store.uri, experiments=[EXPERIMENT], baseline="fisher")
    assert t.test_metric == "ddm"  # the metric the search optimised
    assert t.labels == [display_name("fisher"), display_name("deli_fisher")]
    finals = runs_df[runs_df["tags.role"] == "final"]
    frame = t.frame().set_index("method")
    for method in METHODS:
        mine = finals[finals["tags.method"] == method]
        assert len(mine) == FINAL_SEEDS
        for m in ("inception_score", "ddm"):
            values = mine[f"metrics.final_{m}"]
            cell = t.cells[(display_name(method), m)]
            assert cell.n == FINAL_SEEDS
            assert cell.mean == pytest.approx(values.mean(), rel=1e-12)
            assert cell.std == pytest.approx(values.std(ddof=1), rel=1e-9, abs=1e-15)
        children = runs_df[(runs_df["tags.method"] == method) & runs_df["tags.role"].isin(["trial", "final"])]
        assert frame.loc[method, "trials"] == TRIALS == (children["tags.role"] == "trial").sum()
        assert frame.loc[method, "trial_hours"] == pytest.approx(children["metrics.time_total_s"].sum() / 3600)
        assert frame.loc[method, "epochs"] == int(mine["params.epochs"].iloc[0])
        assert frame.loc[method, "feature_path"] == mine["params.feature_path"].iloc[0]
    deli = finals[finals["tags.method"] == "deli_fisher"]["metrics.final_ddm"]
    fisher = finals[finals["tags.method"] == "fisher"]["metrics.final_ddm"]
    assert t.significance["Deli-Fisher GAN"][0] == pytest.approx(welch_by_hand(deli, fisher), rel=1e-6)
    assert "| Deli-Fisher GAN |" in t.markdown()


def test_plots_are_column_sized_images_with_truetype_pdfs(store, tmp_path, capsys):
    paths = plots.make_figures(store.uri, tmp_path, experiments=[EXPERIMENT])
    stems = {p.stem for p in paths}
    assert stems == {"curves_inception_score", "curves_ddm", "samples"}  # 2 trials: no importance figure
    err = capsys.readouterr().err
    assert err.count("need ≥ 20 completed trials") == len(METHODS) and "Downloading artifacts" not in err
    for p in paths:
        assert p.stat().st_size > 1000
        if p.suffix == ".pdf":
            pdf = p.read_bytes()
            assert pdf[:5] == b"%PDF-" and b"/FontFile2" in pdf and b"/Type3" not in pdf  # TrueType (fonttype 42)
        elif p.stem.startswith("curves"):
            with Image.open(p) as im:
                assert im.size == (round(plots.FIGSIZE[0] * plots.DPI), round(plots.FIGSIZE[1] * plots.DPI))
    with Image.open(tmp_path / "samples.png") as im:
        width, height = plots.samples_figsize(len(METHODS))
        assert im.size == (round(width * plots.DPI), round(height * plots.DPI)) and width == 3.3


def test_importances_need_twenty_completed_trials(tmp_path):
    import optuna

    from reports.store import RunRecord, Search

    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="s", storage=url, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("lr", 0, 1) ** 2 + 0.01 * t.suggest_float("beta", 0, 1), n_trials=19)
    params = {"optuna_storage": url, "optuna_study": "s", "metric": "ddm"}
    search = Search(RunRecord("r", "0", "FINISHED", None, None, params, {"search_name": "s"}, {}))
    with pytest.raises(ReportError, match="need ≥ 20 completed trials, it has 19"):
        plots.plot_importances(search, "Fisher GAN")
    study.optimize(lambda t: t.suggest_float("lr", 0, 1) ** 2 + 0.01 * t.suggest_float("beta", 0, 1), n_trials=6)
    ax = plots.plot_importances(search, "Fisher GAN").axes[0]
    assert ax.get_title() == "" and ax.get_xlabel() == "fANOVA importance for DDM (25 trials)"
    bars = {t.get_text(): b.get_width() for t, b in zip(ax.get_yticklabels(), ax.patches, strict=True)}
    assert bars["lr"] > bars["beta"]  # the objective barely depends on beta


def test_curve_figure_has_one_line_per_method_at_the_seed_mean(store, runs_df):
    from reports.store import client_for, load_searches, row_labels

    searches = load_searches(store.uri, [EXPERIMENT])
    client = client_for(store.uri)
    fig = plots.plot_curves(client, searches, row_labels(searches), "ddm")
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert len(lines) == len(METHODS)
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "DDM (MNIST classifier) ↓" and ax.get_title() == ""
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        f"{lab} (n = {FINAL_SEEDS} seeds)" for lab in row_labels(searches)
    ]
    for line, search in zip(lines, searches, strict=True):
        histories = [
            [m.value for m in sorted(client.get_metric_history(f.run_id, "ddm"), key=lambda m: m.step)]
            for f in search.finals
        ]
        assert list(line.get_ydata()) == pytest.approx(np.mean(histories, axis=0).tolist())


def test_plots_cli_bad_input_is_one_line_exit_2(store, tmp_path, capsys):
    out = tmp_path / "figs"
    for argv in (["--experiment", "nope"], ["--method", "wgan"], ["--metrics", "fid"]):
        assert plots.main(["--mlflow-uri", store.uri, "--out", str(out), *argv]) == 2
        err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
        assert len(err) == 1 and err[0].startswith("error: "), err
    assert not out.exists()


def test_spread_sets_the_precision_never_plus_minus_zero():
    assert table.decimals_for(9e-5, 3) == 6 and f"{9e-5:.6f}" == "0.000090"
    assert table.decimals_for(0.2, 3) == 2 and table.decimals_for(1.0, 3) == 1 and table.decimals_for(12.0, 3) == 0
    assert table.decimals_for(float("nan"), 3) == 3 and table.decimals_for(0.0, 4) == 4


def test_compact_table_moves_bookkeeping_to_the_caption_note(hand):
    t = build(hand, baseline="fisher", compact=True)
    md = t.markdown().splitlines()
    assert md[0] == "| method | IS ↑ | DDM ↓ | p |"
    assert md[2] == "| Fisher GAN | 6.20 ± 0.20 | 3.00 ± 1.00 | – |"
    note = t.note()
    # paper wording: bookkeeping said once for what every row shares, no code names or options
    shared = "Each method: 3 seeds, 2 search trials, 10 epochs."
    assert f"{shared} Trial-hours: Fisher GAN 1.80, Deli-Fisher GAN 0.80." in note
    assert note.endswith("Scores on MNIST classifier features.")
    assert "Bold: best mean, and different from Fisher GAN" in note
    for code in ("classifier:", "ddof", "(welch)", "--", "_"):
        assert code not in note, code
    assert r"\begin{tabular}{@{}lr@{}lr@{}ll@{}}" in t.latex() and "$p$" in t.latex()


def _pdflatex(folder: Path, tabular: str, caption: str) -> str:
    """Compile the table in a two-column article as a paper includes it, the caption file through ``\\input`` inside
    ``\\caption`` (protected: a bare ``\\input`` there is a LaTeX error whatever the file holds, since ``\\input`` is
    fragile), with a list of tables, which reads the caption back from the .aux file; returns the log."""
    (folder / "table.tex").write_text(tabular)
    (folder / "table-caption.tex").write_text(caption)
    (folder / "paper.tex").write_text(
        "\\documentclass[twocolumn]{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n"
        "\\usepackage{graphicx}\n\\begin{document}\n\\listoftables\n\\begin{table}\n\\centering\n\\input{table}\n"
        "\\caption{\\protect\\input{table-caption}}\n\\end{table}\nText.\n\\end{document}\n"
    )
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
        cwd=folder, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:]
    return (folder / "paper.log").read_text(errors="replace")


NO_TEX = "pdflatex not installed (apt-get install texlive-latex-base texlive-latex-recommended)"


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason=NO_TEX)
def test_compact_latex_compiles_and_fits_an_article_column(hand, tmp_path):
    t = build(hand, baseline="fisher", compact=True)
    log = _pdflatex(tmp_path, t.latex(), t.caption())
    assert "Overfull \\hbox" not in log, re.findall(r"Overfull \\hbox.*", log)
    # Realistic short-budget numbers are wide (1.00931 ± 0.00031), and so is the full table with its bookkeeping:
    # both still fit the column.
    wide = dataclasses.replace(build(hand, baseline="fisher"), labels=["Fisher GAN", "Deli-Fisher GAN"])
    for (lab, m), c in list(wide.cells.items()):
        wide.cells[(lab, m)] = table.Cell(1.00931 + 0.01 * (lab == "Fisher GAN"), 0.00031, c.n)
    for folder, tab in (("wide", wide), ("narrow", dataclasses.replace(wide, compact=True))):
        (tmp_path / folder).mkdir()
        log = _pdflatex(tmp_path / folder, tab.latex(), tab.caption())
        assert "Overfull \\hbox" not in log, (folder, re.findall(r"Overfull \\hbox.*", log))
        assert "1.00931" in tab.latex() and "0.00031" in tab.latex()
    # The check sees an overflow where there is one: the same wide table without its fit to the column overflows.
    unfitted = "\n".join(r"\leavevmode\box0" if r"\ifdim" in ln else ln for ln in wide.latex().splitlines())
    (tmp_path / "unfitted").mkdir()
    assert "Overfull \\hbox" in _pdflatex(tmp_path / "unfitted", unfitted, wide.caption())
