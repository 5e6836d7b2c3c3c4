"""Hostile input, run as a user runs it: names that try to leave --storage or rewrite an MLflow filter, counts
that would never finish, seeds, URIs, folders and weights that cannot work, resources no node has. Each is
one line naming the problem, exit status 2, and nothing written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch

from tests.test_bad_input import run_forked, snapshot
from tuner.cli import build_parser, validate
from tuner.resume import save_args


def cases(tmp: Path) -> list[tuple[str, list[str], str]]:
    garbage = tmp / "garbage.pth"
    garbage.write_bytes(b"\x00not a torch file" * 10)
    not_inception = tmp / "small.pth"
    torch.save({"w": torch.ones(2)}, not_inception)
    a_file = tmp / "a_file"
    a_file.write_text("x")
    return [
        ("name injection", ["fisher", "--name", "a' or '1'='1"], "--name \"a' or '1'='1\" is not an allowed name"),
        ("name escape", ["fisher", "--name", "../escape"], "--name '../escape' is not an allowed name"),
        ("hidden name", ["fisher", "--name", ".x"], "--name '.x' is not an allowed name"),
        ("experiment injection", ["fisher", "--experiment", "shared", "--name", "victim' and tags.role = 'search"],
         "is not an allowed name"),
        ("experiment space", ["fisher", "--experiment", "a b"], "--experiment 'a b' is not an allowed name"),
        ("negative seed", ["fisher", "--seed", "-1"], "--seed must be an integer in [0, 4294967295] (got -1)"),
        ("huge seed", ["fisher", "--seed", str(10**20)], "--seed must be an integer in [0, 4294967295]"),
        ("huge g-steps", ["fisher", "--g-steps", "1000000000"], "--g-steps 1000000000 is too large"),
        ("huge width", ["fisher", "--width", "100000"], "--width 100000 is too large"),
        ("huge metric samples", ["fisher", "--metric-samples", f"ddm={10**23}"], "--metric-samples: ddm="),
        ("batch > train set", ["fisher", "--batch-size", "5000"], "--batch-size 5000 is larger than the 4,000"),
        ("batch > train limit", ["fisher", "--dataset", "digits", "--batch-size", "2000"], "larger than the 1,438"),
        ("ftp tracking", ["fisher", "--mlflow-uri", "ftp://x"], "--mlflow-uri 'ftp://x': use sqlite:///"),
        ("file tracking", ["fisher", "--mlflow-uri", f"file://{tmp}/m"], "--mlflow-uri 'file://"),
        ("not a URI", ["fisher", "--mlflow-uri", "notauri"], "--mlflow-uri 'notauri': use sqlite:///"),
        ("storage under a file", ["fisher", "--storage", str(a_file / "rr")], f"--storage: {a_file} is a file"),
        ("garbage weights", ["fisher", "--inception-weights", str(garbage)], "is not a readable weights file"),
        ("not inception", ["fisher", "--inception-weights", str(not_inception)], "is not an Inception-v3 state"),
        ("cpus > machine", ["fisher", "--cpus-per-trial", "1000"], "--cpus-per-trial 1000 is more than this machine"),
        ("gpus > machine", ["fisher", "--gpus-per-trial", "2"], "--gpus-per-trial 2 is more than this machine has"),
    ]  # fmt: skip


def test_hostile_input_is_one_line_exit_2_nothing_written(tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    # A short parent for Ray's private temp folders (socket paths < 108 bytes): it must be empty afterwards.
    ray_tmp = Path(tempfile.mkdtemp(prefix="gt", dir="/tmp"))
    env = {**os.environ, "GAN_TUNER_MLFLOW_SPOOL": str(tmp_path / "spool"), "GAN_TUNER_RAY_TMP": str(ray_tmp)}
    jobs, expected = [], []
    for i, (name, argv, needle) in enumerate(cases(inputs)):
        cwd = tmp_path / f"case{i:02d}"
        cwd.mkdir()
        jobs.append((argv, cwd))
        expected.append((name, needle, cwd))
    (tmp_path / "runner").mkdir()
    before = snapshot(inputs)
    outcomes = run_forked(jobs, env, tmp_path / "runner")
    failures = []
    for (name, needle, cwd), (rc, stderr) in zip(expected, outcomes, strict=True):
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        if rc != 2 or len(lines) != 1 or needle not in lines[0] or not lines[0].startswith("error: "):
            failures.append(f"{name}: rc={rc}, stderr={lines[-3:]!r}")
        elif list(cwd.iterdir()):
            failures.append(f"{name}: wrote {list(cwd.iterdir())}")
    assert not failures, "\n".join(failures)
    assert snapshot(inputs) == before and not (tmp_path / "spool").exists()
    leftovers = list(ray_tmp.iterdir())
    ray_tmp.rmdir() if not leftovers else None
    assert not leftovers, f"Ray temp folders left behind: {leftovers}"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through any folder mode")
def test_read_only_storage_and_mlflow_folders_are_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    for flag, value, needle in [
        ("--storage", str(locked / "rr"), f"--storage: {locked} is not writable"),
        ("--mlflow-uri", f"sqlite:///{locked}/m.db", f"--mlflow-uri: {locked} is not writable"),
    ]:
        args = build_parser().parse_args(["fisher", "--storage", str(tmp_path / "rr"), flag, value])
        with pytest.raises(ValueError, match=needle):
            validate(args)


def test_a_name_whose_start_failed_before_tune_can_be_used_again(tmp_path):
    """A crash after the arguments were saved but before Tune saved any state holds no trials: a plain start
    with the same name is allowed; once Tune has state, the name is taken (``--resume`` continues it)."""
    argv = [
        "fisher",
        "--name",
        "again",
        "--storage",
        str(tmp_path / "rr"),
        "--mlflow-uri",
        f"sqlite:///{tmp_path}/m.db",
    ]
    save_args(build_parser().parse_args(argv), str(tmp_path / "rr" / "again"))
    validate(build_parser().parse_args(argv))
    (tmp_path / "rr" / "again" / "experiment_state-2026-01-01_00-00-00.json").write_text("{}")
    with pytest.raises(ValueError, match="a search of that name exists"):
        validate(build_parser().parse_args(argv))


def test_resume_refuses_storage_others_can_write_unless_trusted(tmp_path):
    """--resume unpickles Tune's state from the storage folder: a folder or state file others can write is
    refused (one line naming it and the fix) unless --trust-storage says so."""
    storage, folder = tmp_path / "rr", tmp_path / "rr" / "shared"
    argv = ["fisher", "--name", "shared", "--storage", str(storage), "--mlflow-uri", f"sqlite:///{tmp_path}/m.db"]
    save_args(build_parser().parse_args(argv), str(folder))
    (folder / "tuner.pkl").write_bytes(b"planted")
    validate(build_parser().parse_args([*argv, "--resume"]))  # private: accepted (nothing is loaded yet)
    for planted in (folder / "tuner.pkl", folder, storage):
        planted.chmod(planted.stat().st_mode | 0o002)
        with pytest.raises(ValueError, match=f"--resume: {planted} is writable by group or others"):
            validate(build_parser().parse_args([*argv, "--resume"]))
        validate(build_parser().parse_args([*argv, "--resume", "--trust-storage"]))
        planted.chmod(planted.stat().st_mode & ~0o002)


def test_filter_values_cannot_add_clauses_to_an_mlflow_search(tmp_path):
    """Every filter the product builds quotes its values: a name written to end the string early and add a
    clause matches no other search's parent run, and a value holding both quote characters is refused."""
    from mlflow.tracking import MlflowClient

    from tuner.mlflow_filters import FilterValueError, all_of, tag_equals
    from tuner.mlflow_logging import start_search_run

    client = MlflowClient(f"sqlite:///{tmp_path / 'm.db'}")
    experiment = client.create_experiment("shared")
    victim = start_search_run(client, experiment, "victim", params={"seed": 0})
    for hostile in ("victim' and tags.role = 'search", "x' or '1'='1", 'victim" or "1"="1'):
        found = client.search_runs(
            [experiment], all_of(tag_equals("search_name", hostile), tag_equals("role", "search"))
        )
        assert found == [], hostile
        assert start_search_run(client, experiment, hostile, params={"seed": 1}) != victim
    assert start_search_run(client, experiment, "victim", params={"seed": 0}) == victim  # a plain name still matches
    with pytest.raises(FilterValueError, match="both quote characters"):
        tag_equals("search_name", "a'b\"c")
