"""ModNet (the ``modify`` task): its losses and output modes against hand values, the frozen classifier, the
memorisation and target-accuracy metrics on constructed cases, learning, exact resume, a real search, refusals."""

from __future__ import annotations

import io
import math

import pytest
import torch
from torch import nn

from tests.conftest import search_args
from trainables.data import load_dataset
from trainables.metrics.modify import delta_l1, nearest_is_input, target_accuracy
from trainables.modnet import (
    ModifyEvaluator,
    ModifyOutputs,
    ModNetRun,
    apply_delta,
    classifier_class_loss,
    generator_class_loss,
    other_labels,
    scored_inputs,
)

TINY = {"method": "modnet", "dataset": "mnist5k", "train_limit": 128, "width": 4, "batch_size": 32}


def test_clip_and_renormalise_against_hand_values():
    x = torch.tensor([[[[0.5, -0.5], [0.9, -1.0]]]])
    delta = torch.tensor([[[[0.75, 0.25], [-0.4, -0.5]]]])
    # x + δ = [1.25, −0.25, 0.5, −1.5]
    assert torch.allclose(apply_delta(x, delta, "clip"), torch.tensor([[[[1.0, -0.25], [0.5, -1.0]]]]))
    # min −1.5 → −1, max 1.25 → 1: (v + 1.5) / 2.75 · 2 − 1
    hand = torch.tensor([2.75, 1.25, 2.0, 0.0]) / 2.75 * 2 - 1
    assert torch.allclose(apply_delta(x, delta, "renormalise").flatten(), hand)
    with pytest.raises(ValueError, match="output_mode"):
        apply_delta(x, delta, "tanh")


def test_classification_terms_against_hand_values():
    log = math.log
    real = torch.tensor([[0.0, log(3.0)]])  # softmax (1/4, 3/4): CE for label 1 = log(4/3)
    fake = torch.tensor([[log(2.0), 0.0]])  # softmax (2/3, 1/3): CE for target 1 = log 3
    y, t = torch.tensor([1]), torch.tensor([1])
    assert classifier_class_loss(real, y, fake, t, True).item() == pytest.approx(log(4.0))  # log(4/3) + log 3
    assert classifier_class_loss(real, y, fake, t, False).item() == pytest.approx(log(4.0 / 3.0))
    assert generator_class_loss(fake, t).item() == pytest.approx(log(3.0))


def test_each_variant_reads_its_own_classifier():
    data = load_dataset("mnist5k")
    x = torch.zeros(2, 1, 28, 28)
    critic_run = ModNetRun({**TINY, "variant": "critic"}, data)
    assert critic_run.classifier is None
    out = critic_run.critic(x)
    assert torch.equal(critic_run._class_logits(x, out), out[1])  # AC-GAN: the critic's class head
    for variant in ("classifier", "frozen"):
        run = ModNetRun({**TINY, "variant": variant}, data)
        with torch.no_grad():  # a classifier that always says "7"
            run.classifier.classes.weight.zero_()
            run.classifier.classes.bias.copy_(torch.arange(10.0) == 7)
        logits = run._class_logits(x, run.critic(x))
        assert logits.argmax(1).tolist() == [7, 7]
        expected = torch.nn.functional.cross_entropy(logits, torch.tensor([7, 7]))
        assert generator_class_loss(logits, torch.tensor([7, 7])).item() == pytest.approx(expected.item())


def test_target_labels_differ_from_the_own_label_and_cover_the_others():
    labels = torch.arange(10).repeat(200)
    targets = other_labels(labels, 10, torch.Generator().manual_seed(0))
    assert not (targets == labels).any()
    assert set(targets[labels == 3].tolist()) == set(range(10)) - {3}
    rows, wanted = scored_inputs(labels, 10, 25)
    assert wanted.tolist() == [i % 10 for i in range(25)] and len(set(rows.tolist())) == 25
    assert not (labels[rows] == wanted).any()


def test_a_frozen_classifier_gets_no_gradient_updates():
    run = ModNetRun({**TINY, "variant": "frozen", "pretrain_epochs": 1}, load_dataset("mnist5k"))
    run.pretrain_classifier()
    before = {k: v.clone() for k, v in run.classifier.state_dict().items()}
    g_before = [p.clone() for p in run.generator.parameters()]
    run.train_epoch()
    assert all(torch.equal(before[k], v) for k, v in run.classifier.state_dict().items())
    assert all(p.grad is None and not p.requires_grad for p in run.classifier.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(g_before, run.generator.parameters(), strict=True))
    assert run.opt_c is None


def test_a_trained_separate_classifier_does_change():
    run = ModNetRun({**TINY, "variant": "classifier", "pretrain_epochs": 0}, load_dataset("mnist5k"))
    before = [p.clone() for p in run.classifier.parameters()]
    run.train_epoch()
    assert any(not torch.equal(a, b) for a, b in zip(before, run.classifier.parameters(), strict=True))


def test_nearest_is_input_on_constructed_cases():
    reference = torch.rand(30, 1, 4, 4, generator=torch.Generator().manual_seed(0)) * 2 - 1
    idx = torch.tensor([3, 7, 11, 20])
    assert nearest_is_input(reference[idx], reference, idx) == 1.0  # outputs = their inputs
    assert nearest_is_input(reference[idx] + 0.01, reference, idx) == 1.0  # slightly modified inputs
    others = torch.tensor([4, 8, 12, 21])
    assert nearest_is_input(reference[others], reference, idx) == 0.0  # retrieved other training images
    mixed = torch.cat([reference[idx[:2]], reference[others[2:]]])
    assert nearest_is_input(mixed, reference, idx, chunk=1) == 0.5
    assert delta_l1(reference[idx] + 0.25, reference[idx]) == pytest.approx(0.25)


class PixelClassifier(nn.Module):
    """Class k when pixel k is the brightest of the first ten: a classifier whose answers are known exactly."""

    def __init__(self):
        super().__init__()
        self.features = nn.Flatten()
        self.fc = nn.Linear(784, 10, bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.eye(10, 784))


def test_target_accuracy_with_a_constructed_classifier():
    data = load_dataset("mnist5k")
    inputs = -torch.ones(4, 1, 28, 28)
    outputs = inputs.clone()
    for i, k in enumerate([2, 5, 9, 1]):  # outputs light up pixel k
        outputs.view(4, -1)[i, k] = 1.0
    targets = torch.tensor([2, 5, 9, 0])  # the last one missed its target
    mod = ModifyOutputs(inputs, torch.zeros(4, dtype=torch.long), targets, torch.arange(4), outputs)
    ev = ModifyEvaluator(data, PixelClassifier(), ["target_accuracy", "delta_l1"])
    scores = ev(mod, 1)
    assert scores["target_accuracy"] == 0.75 and target_accuracy(torch.eye(3), torch.tensor([0, 1, 1])) == 2 / 3
    assert scores["delta_l1"] == pytest.approx(2.0 / 784)


def test_a_short_training_raises_target_accuracy():
    data = load_dataset("mnist5k")
    config = {**TINY, "train_limit": 512, "width": 16, "lr": 1e-3, "l1_weight": 0.0}
    run = ModNetRun(config, data)
    from trainables.modnet import evaluator_from_config

    ev = evaluator_from_config({**config, "metrics": ["target_accuracy", "nearest_is_input"]}, data)
    before = ev(run.sample(200), 1)
    for _ in range(3):  # 48 steps
        run.train_epoch()
    after = ev(run.sample(200), 1)
    assert after["target_accuracy"] >= before["target_accuracy"] + 0.1, (before, after)
    # A fresh U-Net's delta is small: each output's nearest training image is the very input it was made from.
    assert before["nearest_is_input"] >= 0.95, before


def _roundtrip(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("variant", ["classifier", "frozen"])
def test_resume_from_a_checkpoint_is_exact(variant):
    data = load_dataset("mnist5k")
    config = {**TINY, "variant": variant, "pretrain_epochs": 1, "train_limit": 96}
    straight = ModNetRun(config, data)
    straight.train_epoch()
    straight.train_epoch()
    first = ModNetRun(config, data)
    first.train_epoch()
    state = _roundtrip(first.state_dict())
    resumed = ModNetRun(config, data)
    resumed.load_state_dict(state)
    resumed.train_epoch()
    assert resumed.epoch == straight.epoch == 2
    for a, b in zip(
        straight.state_dict()["generator"].values(), resumed.state_dict()["generator"].values(), strict=True
    ):
        assert torch.equal(a, b)
    assert torch.equal(straight.sample(16).outputs, resumed.sample(16).outputs)


def test_grid_shows_input_change_output_rows():
    run = ModNetRun(TINY, load_dataset("mnist5k"))
    outputs = run.sample(16)
    grid = run.grid(outputs)
    assert grid.shape == (48, 1, 28, 28)
    assert torch.equal(grid[:8], outputs.inputs[:8]) and torch.equal(grid[16:24], outputs.outputs[:8])
    assert torch.allclose(grid[8:16], (outputs.outputs[:8] - outputs.inputs[:8]) / 2)
    assert outputs.targets[:16].tolist() == [i % 10 for i in range(16)]


@pytest.mark.parametrize(
    "dataset, message",
    [("ring8", "points"), ("celeba", "no labels")],
)
def test_modnet_on_unlabelled_or_point_data_is_refused(dataset, message, tmp_path, capsys):
    from tuner.search import main

    argv = ["modnet", "--dataset", dataset, "--storage", str(tmp_path / "r"), "--mlflow-uri",
            f"sqlite:///{tmp_path / 'm.db'}"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "m.db").exists()


def test_metrics_of_the_modify_task_are_refused_for_generation():
    from trainables.evaluate import check_metrics, metric_direction

    with pytest.raises(ValueError, match="does not apply to the generate task"):
        check_metrics(["target_accuracy"], "mnist5k")
    assert check_metrics(["target_accuracy", "inception_score"], "mnist5k", "modify")
    assert metric_direction("target_accuracy") == "max" and metric_direction("delta_l1") is None


def test_one_epoch_search_logs_modnet_metrics_to_mlflow(tmp_path, ray_session):
    from mlflow.tracking import MlflowClient

    from trainables.sample import load_generator
    from trainables.sample import main as sample_main
    from tuner.cli import validate
    from tuner.search import run_search

    args = search_args(tmp_path, "modnet", "--trials", "1", "--epochs", "1", "--width", "4", "--eval-samples", "100",
                       "--train-limit", "128", "--name", "modnet-smoke")  # fmt: skip
    validate(args)
    assert args.metric == "target_accuracy"
    results = run_search(args)
    assert len(results) == 1 and not results.errors
    metrics = results[0].metrics
    assert metrics["diverged"] == 0.0 and 0.0 <= metrics["target_accuracy"] <= 1.0
    assert 0.0 <= metrics["nearest_is_input"] <= 1.0 and metrics["delta_l1"] >= 0.0
    assert 1.0 <= metrics["inception_score"] <= 10.0 and math.isfinite(metrics["ddm"])
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("modnet-smoke")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    trial = next(r for r in runs if r.data.tags.get("role") == "trial")
    assert trial.data.metrics["target_accuracy"] == pytest.approx(metrics["target_accuracy"])
    weights = client.download_artifacts(trial.info.run_id, "model/generator.pt", str(tmp_path))
    with pytest.raises(ValueError, match="modify model"):
        load_generator(weights)
    assert sample_main([weights, "--out", str(tmp_path / "x.png")]) == 2
