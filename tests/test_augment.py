"""reports.augment: paper 004's semi-supervised experiment, at its smoke scale, and its refusals."""

from __future__ import annotations

import json

import pytest
import torch

from reports.augment import Modifier, main, modified_to_other_labels, real_subset
from trainables.data import load_dataset
from trainables.nets.unet import UNetModifier


def test_smoke_scale_writes_its_table_and_plot(tmp_path):
    out = tmp_path / "report"
    assert main(["--scale", "smoke", "--out", str(out)]) == 0
    table = (out / "augment.md").read_text()
    assert "| n per class |" in table and table.count("\n| 1 |") == 1 and table.count("\n| 2 |") == 1
    assert (out / "augment.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = json.loads((out / "augment.json").read_text())["rows"]
    assert [r["per_class"] for r in rows] == [1, 2]
    assert [(r["real"], r["generated"]) for r in rows] == [(10, 90), (20, 180)]  # K − 1 = 9 per real image
    for r in rows:  # the table prints what the JSON holds, the gain as their difference
        assert f"| {r['augmented'] - r['real_only']:+.4f} |" in table


def test_the_experiments_classifier_learns_labels_and_not_noise():
    """Both arms are scored by the same small CNN: it must learn real labels and fail on shuffled ones."""
    from reports.augment import Scale, classifier_accuracy

    data = load_dataset("mnist5k")
    x, y = real_subset(data, 20, seed=0)
    scale = Scale({}, 0, (20,), 150, 64)
    assert classifier_accuracy(x, y, data, scale, seed=0) >= 0.7
    shuffled = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(1))]
    assert classifier_accuracy(x, shuffled, data, scale, seed=0) <= 0.3


def test_every_real_image_is_modified_to_each_other_label():
    data = load_dataset("mnist5k")
    x, y = real_subset(data, 2, seed=0)
    assert sorted(y.tolist()) == sorted(list(range(10)) * 2)
    assert torch.equal(real_subset(data, 2, seed=0)[0], x)  # seeded
    modifier = Modifier(UNetModifier(1, 10, 4), "clip")
    gx, gy = modified_to_other_labels(modifier, x, y, 10)
    assert gx.shape == (180, 1, 28, 28)
    for i in range(len(x)):  # image i appears once per other label, never with its own
        assert sorted(gy[i :: len(x)].tolist()) == sorted(set(range(10)) - {int(y[i])})


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--scale", "huge"], "--scale must be one of"),
        (["--dataset", "ring8"], "no class labels"),
        (["--dataset", "nope"], "unknown dataset"),
        (["--seeds", "0"], "--seeds"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path, capsys):
    out = tmp_path / "never"
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_a_generator_file_of_another_method_is_refused(tmp_path, capsys):
    path = tmp_path / "generator.pt"
    torch.save({"epoch": 1, "generator": {}, "prior": {}, "config": {"method": "dcgan", "dataset": "mnist5k"}}, path)
    assert main(["--generator", str(path), "--out", str(tmp_path / "never")]) == 2
    assert "not a ModNet generator" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()
