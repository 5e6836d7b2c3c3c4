"""``python -m reports.reproduce``: every experiment runs end to end at ``--scale smoke`` and writes its report
(tables, figures, one verdict per claim). Smoke runs check the pipeline, not the papers' claims."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from reports.experiments import EXPERIMENTS
from reports.reproduce import main


@pytest.fixture
def private_cache(classifier_cache, tmp_path, monkeypatch):
    """A cache folder of this test's own (RF encoders land there), holding the session's trained classifier."""
    from trainables.classifier import load_classifier

    load_classifier("mnist5k")  # trained once per session in the session cache
    cache = tmp_path / "cache"
    cache.mkdir()
    for f in Path(classifier_cache).glob("classifier-mnist5k-*"):
        if not f.name.endswith(".lock"):
            shutil.copy(f, cache / f.name)
    monkeypatch.setenv("GAN_TUNER_CACHE", str(cache))
    return cache


def test_list_names_every_experiment(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert {"rfgan-ring", "rfgan-images", "ddm-missing-modes", "ddm-ranking", "fisher-table"} <= set(EXPERIMENTS)
    assert all(re.search(rf"^{name}\s+paper 00\d", out, re.M) for name in EXPERIMENTS)


def test_bad_name_or_scale_is_one_line_and_writes_nothing(tmp_path, capsys):
    assert main(["fig-9", "--out", str(tmp_path / "r")]) == 2
    assert main(["rfgan-ring", "--scale", "huge", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "valid: rfgan-ring" in err[0] and "valid: smoke, cpu, paper" in err[1]
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_smoke_scale_writes_the_report(name, tmp_path, private_cache, one_thread):
    assert main([name, "--scale", "smoke", "--out", str(tmp_path / "out")]) == 0
    folder = tmp_path / "out" / name
    text = (folder / "report.md").read_text()
    assert text.startswith("# ") and "Scale `smoke`" in text and "## Claims" in text
    verdicts = re.findall(r"\*\*(held|not held|undecided)\*\*", text)
    assert verdicts, text  # one verdict per claim
    for figure in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (folder / figure).stat().st_size > 0, figure
    assert not list(folder.glob("*.tmp"))


@pytest.fixture
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the suite shares the cores with Ray workers
    yield
    torch.set_num_threads(before)
