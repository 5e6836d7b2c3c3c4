"""Bad input: the CLI, run as a user runs it (a subprocess in a fresh folder), prints one line naming the
problem and the fix on stderr, exits with status 2, and writes nothing: not in its folder, not in the
classifier cache, not in the MLflow spool, not in a --data-root it was pointed at."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.services import free_port
from tuner.cli import build_parser
from tuner.resume import save_args

# Runs each case in its own forked process, in its own folder, with its own stderr and exit status, after
# importing the CLI once: an interpreter start costs ~8 s of CPU with torch, Ray and MLflow, 20 cases would
# cost minutes. A few cases also run as plain ``python -m tuner.search`` subprocesses below.
FORK_RUNNER = """
import json, os, sys
from trainables.data import DatasetInfo, register

@register(DatasetInfo("odd20", "20 px images, a size no network supports", "image", (1, 20, 20), 10, True))
def _never(root):
    raise AssertionError("validation must fail before any data is loaded")

from tuner.search import main

results = []
for argv, cwd, err in json.load(sys.stdin):
    pid = os.fork()
    if pid == 0:
        os.chdir(cwd)
        fd = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 2)
        sys.argv = ["tuner.search", *argv]
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
        sys.stdout.flush(), sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 1)
    results.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
print(json.dumps(results))
"""


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def cases(data: Path) -> list[tuple[str, list[str], str]]:
    """(case, argv, what the line must say)."""
    search = ["fisher", "--name", "s1", "--storage", "rr"]
    return [
        ("unknown method", ["nosuch"], "unknown method 'nosuch'; valid: "),
        ("unknown dataset", ["fisher", "--dataset", "nosuch"], "unknown dataset 'nosuch'; valid: "),
        ("--trials 0", ["fisher", "--trials", "0"], "--trials must be an integer ≥ 1 (got 0)"),
        ("--g-steps 0", ["fisher", "--g-steps", "0"], "--g-steps must be an integer ≥ 1 (got 0)"),
        ("--epochs 0", ["fisher", "--epochs", "0"], "--epochs must be an integer ≥ 1 (got 0)"),
        ("reduction factor", ["fisher", "--reduction-factor", "1"], "--reduction-factor must be > 1 (got 1.0)"),
        ("negative gpus", ["fisher", "--gpus-per-trial", "-0.5"], "--gpus-per-trial must be ≥ 0 (got -0.5)"),
        ("grace > epochs", ["fisher", "--grace-period", "3", "--epochs", "2"], "--grace-period (3) must be ≤"),
        ("not a number", ["fisher", "--trials", "abc"], "argument --trials: invalid int value: 'abc'"),
        ("no data root", ["fisher", "--dataset", "mnist"], "dataset mnist needs --data-root"),
        ("missing data root", ["fisher", "--dataset", "mnist", "--data-root", str(data / "nope")], "is not a folder"),
        ("malformed data", ["fisher", "--dataset", "mnist", "--data-root", str(data)], "cannot read mnist"),
        ("image size", ["fisher", "--dataset", "odd20"], "no network supports image samples of shape (1, 20, 20)"),
        ("resume other method", ["deli_fisher", "--name", "s1", "--storage", "rr", "--resume"],
         "--resume: search 's1' is a fisher search, not deli_fisher"),
        ("resume changed flag", [*search, "--resume", "--epochs", "5"], "--resume: --epochs 5 conflicts with"),
        ("resume without name", ["fisher", "--resume"], "--resume needs --name NAME"),
        ("resume unknown", ["fisher", "--name", "nope", "--storage", "rr", "--resume"], "no search 'nope' under "),
        ("name taken", search, "--name s1: a search of that name exists in rr; add --resume"),
        ("unreachable address", ["fisher", "--address", f"127.0.0.1:{free_port()}"], "no Ray head reachable at"),
        ("storage scheme", ["fisher", "--storage", "ftp://host/x"], "--storage: unsupported URI scheme 'ftp'"),
        ("fault spec", ["fisher", "--inject-fault", "boom:1:m"], "--inject-fault: expected KIND:EPOCH:MARKER"),
        ("no ViT weights", ["fisher", "--features", "dinov2-vitl14"],
         "dinov2-vitl14 weights not found (nothing is downloaded): pass --feature-weights FILE, or copy "
         "dinov2_vitl14_pretrain.pth"),
        ("ViT without logits", ["fisher", "--features", "clip-vitl14", "--metrics", "inception_score,fid"],
         "inception_score need(s) class logits, which the clip-vitl14 path has none of"),
        ("resizer on classifier", ["fisher", "--resizer", "clean"], "--resizer applies to the network feature paths"),
    ]  # fmt: skip


def run_subprocess(argv: list[str], cwd: Path, env: dict) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "tuner.search", *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )
    return proc.returncode, proc.stderr


def run_forked(jobs: list[tuple[list[str], Path]], env: dict, tmp: Path) -> list[tuple[int, str]]:
    spec = [(argv, str(cwd), str(tmp / f"stderr{i}")) for i, (argv, cwd) in enumerate(jobs)]
    proc = subprocess.run(
        [sys.executable, "-c", FORK_RUNNER], input=json.dumps(spec), cwd=tmp, env=env,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    codes = json.loads(proc.stdout.strip().splitlines()[-1])
    return [(code, Path(err).read_text()) for code, (_, _, err) in zip(codes, spec, strict=True)]


SUBPROCESS_CASES = {"unknown method", "unreachable address", "resume other method"}


def test_each_bad_input_is_one_line_exit_2_nothing_written(tmp_path):
    data = tmp_path / "data"  # a data root with the right layout and garbage in the files
    (data / "MNIST" / "raw").mkdir(parents=True)
    for f in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (data / "MNIST" / "raw" / f).write_bytes(b"not an IDX file")
    cache, spool = tmp_path / "cache", tmp_path / "spool"
    cache.mkdir(), spool.mkdir()
    env = {**os.environ, "GAN_TUNER_CACHE": str(cache), "GAN_TUNER_MLFLOW_SPOOL": str(spool)}

    work = {}
    for i, (name, argv, needle) in enumerate(cases(data)):
        cwd = tmp_path / f"case{i:02d}"
        cwd.mkdir()
        if "--storage" in argv and "rr" in argv:  # an earlier search "s1" (fisher, 3 epochs) to resume or collide with
            stored = build_parser().parse_args(["fisher", "--name", "s1", "--epochs", "3", "--storage", "rr"])
            save_args(stored, str(cwd / "rr" / "s1"))
            (cwd / "rr" / "s1" / "experiment_state-2026-01-01_00-00-00.json").write_text("{}")  # Tune had started
        work[name] = (argv, needle, cwd, snapshot(cwd))
    watched = {p: snapshot(p) for p in (data, cache, spool)}

    (tmp_path / "runner").mkdir()
    forked = [name for name in work if name not in SUBPROCESS_CASES]
    with ThreadPoolExecutor(max_workers=2) as pool:  # the forked batch beside the plain subprocesses
        batch = pool.submit(run_forked, [(work[n][0], work[n][2]) for n in forked], env, tmp_path / "runner")
        outcomes = {n: run_subprocess(work[n][0], work[n][2], env) for n in SUBPROCESS_CASES}
        outcomes.update(zip(forked, batch.result(), strict=True))

    failures = []
    for name, (rc, stderr) in outcomes.items():
        argv, needle, cwd, before = work[name]
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        if rc != 2 or len(lines) != 1 or needle not in lines[0] or not lines[0].startswith("error: "):
            failures.append(f"{name}: rc={rc}, stderr={lines[-3:]!r}")
        elif snapshot(cwd) != before:
            failures.append(f"{name}: wrote {sorted(set(snapshot(cwd)) - set(before))} in its folder")
    for path, before in watched.items():
        if snapshot(path) != before:
            failures.append(f"something wrote into {path}: {sorted(set(snapshot(path)) - set(before))}")
    assert not failures, "\n".join(failures)
