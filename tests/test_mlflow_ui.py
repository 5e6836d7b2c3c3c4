"""What a researcher meets after a search, read back as the MLflow UI and optuna-dashboard read it: artifacts beside
the database (nothing in the working folder), the answer on the parent run, readable trial names with their end
state, per-epoch sample images, the Optuna study's states and intermediate values, and the terminal output."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import search_args
from tuner.mlflow_logging import (
    BEST_MARK,
    BEST_RUN_TAG,
    DESCRIPTION_TAG,
    TRIALS_URL_TAG,
    base_name,
    end_state_suffix,
    named_with_state,
    short_number,
    trial_number,
    trial_run_name,
)
from tuner.mlflow_tags import BEST_TRIAL_TAG
from tuner.optuna_search import MLFLOW_NUMBER_ATTR, MLFLOW_RUN_ATTR
from tuner.progress import duration

EPOCHS, TRIALS, METRIC = 2, 4, "ddm"


@pytest.fixture(scope="module")
def search(ray_session, tmp_path_factory):
    """A tiny search started from an empty working folder, its database in another folder."""
    from tuner.cli import validate
    from tuner.search import run_search

    cwd, store = tmp_path_factory.mktemp("cwd"), tmp_path_factory.mktemp("store")
    args = search_args(
        store, "deli_fisher", "--name", "ui", "--metric", METRIC, "--trials", str(TRIALS), "--epochs", str(EPOCHS),
        "--concurrency", "1", "--reduction-factor", "2", "--width", "4", "--batch-size", "250",
        "--train-limit", "500", "--eval-samples", "100",
    )  # fmt: skip
    validate(args)
    before = os.getcwd()
    os.chdir(cwd)
    try:
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            results = run_search(args)
    finally:
        os.chdir(before)
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    exp = client.get_experiment_by_name("ui")
    runs = client.search_runs([exp.experiment_id], max_results=100)
    parent = next(r for r in runs if r.data.tags.get("role") == "search")
    trials = [r for r in runs if r.data.tags.get("role") == "trial"]
    return dict(
        cwd=cwd, store=store, client=client, exp=exp, parent=parent, trials=trials, results=results,
        out=out.getvalue(), args=args,
    )  # fmt: skip


def test_artifacts_beside_the_database_and_nothing_in_the_working_folder(search):
    assert list(search["cwd"].iterdir()) == []
    artifacts = search["store"] / "mlartifacts"
    assert search["exp"].artifact_location == artifacts.as_uri()
    for run in search["trials"]:
        assert run.info.artifact_uri.startswith(artifacts.as_uri())
        assert (Path(urllib.parse.urlparse(run.info.artifact_uri).path) / "final_samples.png").is_file()


def test_parent_run_carries_the_best_trial(search):
    client, parent, trials = search["client"], search["parent"], search["trials"]
    best_value = min(m.value for r in trials for m in client.get_metric_history(r.info.run_id, METRIC))
    assert parent.data.metrics[f"best_{METRIC}"] == pytest.approx(best_value, rel=1e-12)
    best_run = parent.data.tags[BEST_RUN_TAG]
    history = [m.value for m in client.get_metric_history(best_run, METRIC)]
    assert best_value in history
    exp_id = search["exp"].experiment_id
    assert parent.data.tags["best_trial_url"] == f"#/experiments/{exp_id}/runs/{best_run}"  # relative: any host/port
    sorted_url = parent.data.tags[TRIALS_URL_TAG]
    path, query = sorted_url.split("?", 1)
    assert path == f"#/experiments/{exp_id}/runs"  # the runs table, not MLflow 3's overview (which drops the query)
    query = urllib.parse.parse_qs(query)
    assert query["orderByKey"] == [f"metrics.`{METRIC}`"] and query["orderByAsc"] == ["true"]  # ddm: min first
    assert query["searchFilter"] == ["tags.`search_name` = 'ui' and tags.`role` = 'trial'"]  # this search only
    description = parent.data.tags[DESCRIPTION_TAG]
    assert "deli_fisher" in description and "`n_components`" in description and best_run in description
    assert f"get-artifact?path=final_samples.png&run_uuid={best_run}" in description  # its grid, shown inline
    assert f"| `{METRIC}` | {best_value:.6g} |" in description  # its numbers without picking columns
    assert parent.info.run_name == f"ui · best {METRIC} {best_value:.6g} (#{trial_number(best_name(search))})"
    assert f"best trial's run {best_run}" in search["out"]
    assert search["exp"].tags["mlflow.experimentKind"] == "custom_model_development"  # opens on the runs table


def best_name(search) -> str:
    return search["client"].get_run(search["parent"].data.tags[BEST_RUN_TAG]).info.run_name


def test_the_best_trial_is_marked_by_name_and_tag(search):
    marked = [r for r in search["trials"] if r.data.tags.get(BEST_TRIAL_TAG) == "true"]
    assert [r.info.run_id for r in marked] == [search["parent"].data.tags[BEST_RUN_TAG]]
    assert [r for r in search["trials"] if r.info.run_name.startswith(BEST_MARK)] == marked


def test_trial_names_say_method_number_values_and_end_state(search):
    numbers = set()
    for run in search["trials"]:
        name, state, params = run.info.run_name, run.data.tags["end_state"], run.data.params
        m = re.fullmatch(r"(?:★ best )?#(\d+)( \[.*\])? deli_fisher lr=(\S+) N=(\d+) n_c=(\d+)", name)
        assert m, name
        numbers.add(int(m.group(1)))
        assert float(m.group(3)) == pytest.approx(float(params["lr"]), rel=0.05)
        assert m.group(4) == params["n_components"] and m.group(5) == params["n_critic"]
        assert (m.group(2) or "").strip() == end_state_suffix(state)  # right after the number: never cut off
        assert f"get-artifact?path=final_samples.png&run_uuid={run.info.run_id}" in run.data.tags[DESCRIPTION_TAG]
        assert not {"epoch", "diverged"} & set(run.data.metrics)  # the step is the epoch; end_state says diverged
    assert numbers == set(range(1, TRIALS + 1))
    states = [r.data.tags["end_state"] for r in search["trials"]]
    assert any(s.startswith("stopped by ASHA") for s in states), states  # this seeded search stops one
    assert any("[ASHA stop @1]" in r.info.run_name for r in search["trials"])


def test_sample_grids_are_step_images_and_a_fixed_final_path(search):
    client = search["client"]
    for run in search["trials"]:
        last = max(int(m.step) for m in client.get_metric_history(run.info.run_id, METRIC))
        images = [a.path for a in client.list_artifacts(run.info.run_id, "images")]
        steps = sorted({int(m.group(1)) for p in images if (m := re.search(r"samples\+step\+(\d+)\+.*\.png$", p))})
        assert steps == list(range(0, last + 1)), images  # step 0: before training, so the slider starts on one
        assert "final_samples.png" in [a.path for a in client.list_artifacts(run.info.run_id)]  # at the root


def test_optuna_study_pruned_states_every_epoch_and_run_ids(search):
    params = search["parent"].data.params
    study = optuna.load_study(study_name=params["optuna_study"], storage=params["optuna_storage"])
    assert study.metric_names == [METRIC]
    attrs = study.user_attrs
    assert (attrs["search_name"], attrs["method"], attrs["dataset"], attrs["mlflow_experiment"]) == (
        "ui", "deli_fisher", "mnist5k", "ui"
    )  # fmt: skip
    by_run = {r.info.run_id: r for r in search["trials"]}
    client = search["client"]
    assert len(study.trials) == TRIALS
    for t in study.trials:
        run = by_run[t.user_attrs[MLFLOW_RUN_ATTR]]
        assert trial_number(run.info.run_name) == t.number + 1  # one numbering in MLflow and Optuna, stated on both
        assert t.user_attrs[MLFLOW_NUMBER_ATTR] == f"#{t.number + 1}"
        history = {int(m.step): m.value for m in client.get_metric_history(run.info.run_id, METRIC)}
        assert t.intermediate_values == pytest.approx(history)  # every epoch, the last one included
        stopped = run.data.tags["end_state"].startswith("stopped by ASHA")
        assert t.state == (optuna.trial.TrialState.PRUNED if stopped else optuna.trial.TrialState.COMPLETE)
        assert t.value == pytest.approx(history[max(history)])


def test_terminal_shows_eta_best_so_far_and_asha_stops(search):
    out = search["out"]
    epoch_lines = [ln for ln in out.splitlines() if re.search(r"trial #\d+ epoch \d/", ln)]
    assert epoch_lines and all("best " in ln and ("ETA" in ln) for ln in epoch_lines)
    assert re.search(r"trial #\d+ stopped by ASHA after epoch 1/2", out)
    assert not re.search(r"\d\.\d{12,}", out)  # at most 12 significant figures: never float noise
    assert "tensorboard" not in out.lower() and "A new study created" not in out


def test_name_and_duration_formatting():
    assert short_number(5.3e-4) == "5.3e-4" and short_number(46) == "46" and short_number(0.25) == "0.25"
    assert short_number(1e-6) == "1.0e-6" and short_number(3.0) == "3"
    config = {"lr": 5.3e-4, "n_components": 46, "rho": 1e-6, "beta": 0.1}
    name = trial_run_name("deli_fisher", 12, config, ("lr", "n_components", "beta"))
    assert name == "#12 deli_fisher lr=5.3e-4 N=46 beta=0.1"
    stopped = named_with_state(name, "stopped by ASHA at epoch 1")
    assert stopped == "#12 [ASHA stop @1] deli_fisher lr=5.3e-4 N=46 beta=0.1"
    assert base_name(BEST_MARK + stopped) == name and trial_number(BEST_MARK + stopped) == 12
    assert end_state_suffix("stopped by ASHA at epoch 1") == "[ASHA stop @1]" and end_state_suffix("completed") == ""
    assert duration(42) == "42s" and duration(425) == "7m05s" and duration(4320) == "1h12m"


def test_reports_of_a_search_without_finals_show_its_best_trial(search, tmp_path, capsys):
    from reports import plots, table

    uri = f"sqlite:///{search['store'] / 'mlflow.db'}"
    assert "--final-seeds 3" in search["out"]  # the hint after the search says how to get finals
    assert table.main(["--mlflow-uri", uri, "--experiment", "ui", "--out", str(tmp_path / "tables")]) == 0
    md = capsys.readouterr().out
    assert "Search results, not finals" in md
    assert md.splitlines()[0] == "| method | IS ↑ | DDM ↓ | seeds | trials | epochs | trial-h | features |"  # no test
    best = search["client"].get_run(search["parent"].data.tags[BEST_RUN_TAG])  # best at its best epoch …
    t = table.build_table(uri, experiments=["ui"])
    assert t.source == "search" and t.metrics[:2] == ["inception_score", "ddm"]
    ranked = min(search["trials"], key=lambda r: r.data.metrics[METRIC])  # … the table: best at the last epoch
    assert t.cells[("Deli-Fisher GAN", METRIC)].mean == ranked.data.metrics[METRIC]
    assert best.data.metrics[METRIC] >= search["parent"].data.metrics[f"best_{METRIC}"]
    assert plots.main(["--mlflow-uri", uri, "--experiment", "ui", "--out", str(tmp_path / "figs")]) == 0
    assert {p.name for p in (tmp_path / "figs").iterdir()} >= {"curves_ddm.pdf", "samples.png"}


def test_classifier_training_reports_each_epoch():
    from trainables.classifier import train_classifier
    from trainables.data import load_dataset

    data = load_dataset("mnist5k")
    small = dataclasses.replace(data, train_x=data.train_x[:256], train_y=data.train_y[:256])  # seconds, not minutes
    lines: list[str] = []
    _, accuracy = train_classifier(small, epochs=2, progress=lines.append)
    assert [ln.split("(")[0].strip() for ln in lines] == [f"scoring classifier: epoch {e}/2" for e in (1, 2)]
    assert 0.0 <= accuracy <= 1.0


def test_database_setup_and_new_study_lines_are_silenced(tmp_path):
    code = (
        "from tuner.progress import quiet_library_noise; quiet_library_noise()\n"
        "from tuner.mlflow_logging import get_or_create_experiment, make_client\n"
        f"get_or_create_experiment(make_client('sqlite:///{tmp_path}/mlflow.db'), 'x')\n"
        f"import optuna; optuna.create_study(storage='sqlite:///{tmp_path}/optuna.db', study_name='s')\n"
        "import logging; logging.getLogger('alembic').warning('a real warning')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "INFO" not in proc.stderr and "A new study created" not in proc.stderr, proc.stderr
    assert "a real warning" in proc.stderr  # warnings still reach the user


def test_terminal_closing_summary_clock_and_sample_command(search):
    out = search["out"]
    assert re.search(r"^done in \S+ wall time\. Search: 4 trials: (\d) completed, (\d) stopped by ASHA, 0 diverged, "
                     r"0 errored; \d+\.\d\d trial-hours$", out, re.M), out[-800:]  # fmt: skip
    assert re.search(r"sample from it: python -m trainables\.sample --run \w+ --mlflow-uri \S+ --n 64 --out", out)
    assert "mlflow ui --backend-store-uri" in out  # a local store: how to start the UI the links open in


def test_values_print_with_the_digits_that_tell_them_apart():
    from tuner.numbers import distinct

    assert distinct([1.00028, 1.0]) == ["1.0003", "1"]  # 4 figures would print both as "1"
    assert distinct([5.4321, 12.0]) == ["5.432", "12"]  # no more figures than needed
    assert distinct([1.000283, 1.000281]) == ["1.000283", "1.000281"]


# -- the printed links, opened in a real browser against a real `mlflow ui` ---------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def mlflow_ui(search):
    """``mlflow ui`` on the search's database, on a port other than the default the links assume."""
    from tests.services import free_port, stop_group, wait_http

    port = free_port()
    cmd = [
        sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", f"sqlite:///{search['store'] / 'mlflow.db'}",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # no background job runner to start
    log = open(search["store"] / "mlflow-ui.log", "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    try:
        wait_http(f"http://127.0.0.1:{port}/health", timeout=180, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_group(proc)
        log.close()


def rendered(url: str, tmp_path: Path) -> str:
    """The page's DOM after MLflow's scripts ran (headless Chromium, virtual time: no fixed sleeps)."""
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={tmp_path}",
        "--virtual-time-budget=30000", "--dump-dom", url,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=150, check=True).stdout


def printed_link(out: str, label: str, ui: str) -> str:
    """A link the search printed, moved to the port the UI really listens on (the part from ``#/`` on is kept)."""
    line = next(ln for ln in out.splitlines() if label in ln)
    return f"{ui}/{line[line.index('#/') :].strip()}"


@pytest.mark.skipif(not CHROMIUM, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_printed_best_trial_link_shows_its_name_numbers_and_grid_in_a_browser(search, mlflow_ui, tmp_path):
    best = search["client"].get_run(search["parent"].data.tags[BEST_RUN_TAG])
    dom = rendered(printed_link(search["out"], "best trial, its numbers", mlflow_ui), tmp_path)
    assert best.info.run_name in dom  # the page is the best trial's, marked as such
    assert f"<code>{METRIC}</code> {best.data.metrics[METRIC]:.6g}" in dom  # its numbers, rendered
    src = f"get-artifact?path=final_samples.png&amp;run_uuid={best.info.run_id}"
    assert f'<img src="{src}"' in dom  # its last grid, on the page without a click
    with urllib.request.urlopen(f"{mlflow_ui}/{src.replace('&amp;', '&')}", timeout=30) as r:
        assert r.read(8) == b"\x89PNG\r\n\x1a\n"  # and the UI's server serves that image


@pytest.mark.skipif(not CHROMIUM, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_printed_trials_link_opens_this_searchs_runs_best_first_in_a_browser(search, mlflow_ui, tmp_path):
    dom = rendered(printed_link(search["out"], "this search's trials, best first", mlflow_ui), tmp_path)
    names = [r.info.run_name for r in search["trials"]]
    shown = sorted((dom.find(n), n) for n in names if n in dom)
    assert len(shown) == TRIALS, (names, dom[-2000:])  # the runs table, not the GenAI overview
    best = search["client"].get_run(search["parent"].data.tags[BEST_RUN_TAG]).info.run_name
    assert shown[0][1] == best and best.startswith(BEST_MARK)  # sorted as it says: the best trial on top
    assert f"<strong>{len(names)}</strong> matching runs" in dom  # this search's trials only, not the parent


def test_rays_token_auth_warning_is_dropped_and_its_disabled_warning_kept(ray_session):
    import logging

    logger = logging.getLogger("ray._private.authentication.authentication_token_setup")

    def shown(message: str) -> bool:
        return logger.filter(logging.LogRecord(logger.name, logging.WARNING, __file__, 1, message, None, None))

    assert not shown("Token authentication is enabled for this Ray cluster. Set RAY_AUTH_MODE=disabled to opt out.")
    assert shown("Token authentication is disabled for this Ray cluster. Anyone with network access ...")


def test_sample_command_upscales_and_prints_no_download_bars(search, tmp_path, capfd):
    from PIL import Image

    from trainables.sample import main

    run, uri = search["parent"].data.tags[BEST_RUN_TAG], f"sqlite:///{search['store'] / 'mlflow.db'}"
    sizes = {}
    for k in (1, 3):
        out = tmp_path / f"x{k}.png"
        assert main(["--run", run, "--mlflow-uri", uri, "--n", "4", "--upscale", str(k), "--out", str(out)]) == 0
        with Image.open(out) as image:
            sizes[k] = image.size
    assert sizes == {1: (4 * (28 + 2) + 2, 28 + 4), 3: (4 * (84 + 2) + 2, 84 + 4)}  # 4 images a row, 2 px padding
    assert "%|" not in capfd.readouterr().err  # no tqdm bar
    assert main(["--run", run, "--mlflow-uri", uri, "--upscale", "0"]) == 2
