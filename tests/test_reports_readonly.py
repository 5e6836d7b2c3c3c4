"""Reports only read: pointed at a file that is not an MLflow database they change nothing in it; a dead server,
an unusable --out, unknown formats or test metric, and mixed feature paths are one line, exit status 2."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import optuna
import pytest

from reports import plots, table
from tests.services import free_port
from tests.test_reports import make_hand_store


def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    uri = f"sqlite:///{tmp_path_factory.mktemp('ro') / 'mlflow.db'}"
    make_hand_store(uri)
    make_hand_store(uri, "mixed", feature_paths={"fisher": "inception-v3"})
    return uri


def _one_error_line(capsys) -> str:
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_a_file_that_is_not_an_mlflow_store_is_refused_untouched(tmp_path, capsys):
    optuna_db = tmp_path / "optuna.db"
    optuna.create_study(study_name="s", storage=f"sqlite:///{optuna_db}")
    empty, text = tmp_path / "empty.db", tmp_path / "notes.db"
    empty.touch()
    text.write_text("not a database\n")
    for path, needle in ((optuna_db, "is not an MLflow database"), (empty, "is not an SQLite database"),
                         (text, "is not an SQLite database")):  # fmt: skip
        before = _fingerprint(path)
        for main in (table.main, plots.main):
            assert main(["--mlflow-uri", f"sqlite:///{path}", "--out", str(tmp_path / "out")]) == 2
            assert needle in _one_error_line(capsys)
            assert _fingerprint(path) == before, f"{path.name} was written"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db", "notes.db", "optuna.db"]


def test_an_unreachable_server_is_one_line_within_seconds(capsys):
    start = time.monotonic()
    assert table.main(["--mlflow-uri", f"http://127.0.0.1:{free_port()}"]) == 2
    assert "no MLflow tracking server answers" in _one_error_line(capsys)
    assert time.monotonic() - start < 30


def test_bad_out_formats_and_test_metric_are_refused(hand, tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    cases = [
        (table.main, ["--experiment", "hand", "--out", str(a_file)], "is a file, not a folder"),
        (plots.main, ["--experiment", "hand", "--out", str(a_file / "sub")], "is a file, not a folder"),
        (plots.main, ["--experiment", "hand", "--out", str(tmp_path / "f"), "--formats", "xyz"],
         "--formats: xyz not supported"),
        (table.main, ["--experiment", "hand", "--test-metric", "nosuch"], "--test-metric 'nosuch' is not a column"),
        (plots.main, ["--experiment", "mixed", "--out", str(tmp_path / "f")], "different feature paths"),
    ]  # fmt: skip
    for main, argv, needle in cases:
        assert main(["--mlflow-uri", hand, *argv]) == 2, argv
        assert needle in _one_error_line(capsys), argv
    assert not (tmp_path / "f").exists()
