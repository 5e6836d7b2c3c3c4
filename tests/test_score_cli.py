"""``python -m trainables.metrics score``: real samples scored against their own dataset give the known optima."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from trainables.data import load_dataset
from trainables.metrics.__main__ import main


def _table(text: str) -> dict[str, float]:
    rows = [ln.split() for ln in text.splitlines()[2:] if ln.strip()]
    return {k: float(v) for k, v in rows}


def test_points_scored_against_their_own_test_split(tmp_path, capsys):
    points = load_dataset("ring8").test_x[::4].numpy()  # 1,000 of the 4,000: 125 per mode
    np.savez(tmp_path / "ring.npz", points)  # a single unnamed array is accepted
    assert main(["score", "--samples", str(tmp_path / "ring.npz"), "--dataset", "ring8"]) == 0
    out = capsys.readouterr().out
    assert "feature path: raw" in out.splitlines()[0] and "n = 1000" in out.splitlines()[0]
    t = _table(out)
    assert t["modes_covered"] == 8 and t["high_quality_fraction"] > 0.97
    assert t["ddm_goldberger"] > 0 and t["precision"] == 1.0  # a subset of T: close to, not exactly, T


def test_images_as_uint8_nhwc_scored_with_the_classifier_path(tmp_path, capsys):
    test_x = load_dataset("mnist5k").test_x
    uint8_nhwc = torch.round((test_x + 1) * 127.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    np.savez(tmp_path / "mnist.npz", samples=uint8_nhwc)
    argv = ["score", "--samples", str(tmp_path / "mnist.npz"), "--dataset", "mnist5k",
            "--metrics", "inception_score,fid,precision_recall,ddm_goldberger,ms_ssim"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "feature path: classifier:mnist5k" in out
    t = _table(out)
    # The uint8 round trip is exact, so these are the test split against itself.
    assert t["fid"] == pytest.approx(0.0, abs=1e-6) and t["ddm_goldberger"] == pytest.approx(0.0, abs=1e-9)
    assert t["precision"] == t["recall"] == t["coverage"] == 1.0
    assert t["inception_score"] > 8.0  # ten balanced digit classes, a ~98 %-accurate classifier
    assert 0.0 < t["ms_ssim"] < 0.5


def test_bad_input_is_one_line_exit_2(tmp_path, capsys):
    cmd = [sys.executable, "-m", "trainables.metrics", "score", "--samples", "missing.npz", "--dataset", "mnist5k"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and "is not a file" in lines[0] and proc.stdout == "", proc.stderr
    np.savez(tmp_path / "bad.npz", samples=np.zeros((4, 2), dtype=np.float32))
    for argv, needle in [
        (["--dataset", "mnist5k"], "expected for this dataset"),
        (["--dataset", "ring8", "--metrics", "ms_ssim"], "needs images"),
        (["--dataset", "mnist5k", "--features", "raw"], "for point datasets"),
    ]:
        assert main(["score", "--samples", str(tmp_path / "bad.npz"), *argv]) == 2
        captured = capsys.readouterr()
        lines = [ln for ln in captured.err.splitlines() if ln.strip()]
        assert len(lines) == 1 and needle in lines[0] and captured.out == "", (argv, captured)
