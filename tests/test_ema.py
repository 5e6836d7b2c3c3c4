"""Generator EMA: the averaging rule by hand, exact resume, and that sampling uses the averaged weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.test_training import config, small_mnist
from trainables.train import GANRun, GeneratorEMA


def test_ema_update_follows_the_warmed_up_decay_by_hand():
    live, prior = nn.Linear(2, 1), nn.Linear(1, 1)
    ema = GeneratorEMA(live, prior, decay=0.999)
    start = live.weight.detach().clone()
    with torch.no_grad():
        live.weight.add_(1.0)
    ema.update(live, prior)  # t = 1: d = min(0.999, 2 / 11)
    d = 2 / 11
    assert torch.allclose(ema.generator.weight, d * start + (1 - d) * (start + 1.0), atol=1e-7)
    for _ in range(10_000):  # late updates use the configured decay: d = 0.999
        ema.update(live, prior)
    before = ema.generator.weight.detach().clone()
    with torch.no_grad():
        live.weight.add_(1.0)
    ema.update(live, prior)
    assert torch.allclose(ema.generator.weight, 0.999 * before + 0.001 * live.weight, atol=1e-6)


def test_ema_copies_buffers_and_never_trains():
    live = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    ema = GeneratorEMA(live, nn.Identity(), decay=0.9)
    live.train()(torch.randn(8, 2))  # moves the running statistics
    ema.update(live, nn.Identity())
    assert torch.equal(ema.generator[1].running_mean, live[1].running_mean)
    assert not any(p.requires_grad for p in ema.generator.parameters())


@pytest.mark.parametrize("decay", [-0.1, 1.0])
def test_ema_rejects_a_decay_outside_0_1(decay):
    with pytest.raises(ValueError, match="EMA decay"):
        GeneratorEMA(nn.Linear(1, 1), nn.Identity(), decay)


def test_resume_with_ema_is_exact_and_samples_come_from_the_average(tmp_path):
    data = small_mnist()
    straight = GANRun(config(ema=0.99), data)
    for _ in range(2):
        straight.train_epoch()

    first = GANRun(config(ema=0.99), data)
    first.train_epoch()
    torch.save(first.state_dict(), tmp_path / "state.pt")
    torch.manual_seed(777)
    resumed = GANRun(config(ema=0.99), data)
    resumed.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
    resumed.train_epoch()

    assert straight.ema.updates == resumed.ema.updates > 0
    pairs = zip(straight.ema.generator.state_dict().values(), resumed.ema.generator.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    assert torch.equal(straight.ema.prior.mu, resumed.ema.prior.mu)
    # The averaged weights differ from the live ones, and sample() draws from the average.
    assert not torch.equal(straight.ema.prior.mu, straight.prior.mu)
    torch.manual_seed(0)
    sampled = straight.sample(16)
    torch.manual_seed(0)
    straight.ema.generator.eval()
    with torch.no_grad():
        by_hand = straight.ema.generator(straight.ema.prior.sample(16))
    assert torch.equal(sampled, by_hand)
    assert set(straight.sampling_state()) == {"generator", "prior"}


def test_ema_off_is_the_plain_generator():
    run = GANRun(config(), small_mnist(64))
    assert not run.ema.enabled and run.state_dict()["ema"] is None
    assert run.sampling_state()["generator"].keys() == run.generator.state_dict().keys()


def test_generator_file_samples_what_the_run_scored(tmp_path):
    from trainables.sample import generator_file_contents, load_generator, main

    run = GANRun(config(ema=0.9), small_mnist(64))
    run.train_epoch()
    path = tmp_path / "generator.pt"
    torch.save(generator_file_contents(run.state_dict(), run.config), path)
    model = load_generator(path)
    assert model.epoch == 1 and model.config["ema"] == 0.9
    torch.manual_seed(5)
    expected = run.sample(8)
    torch.manual_seed(5)
    assert torch.allclose(model.sample(8), expected, atol=1e-6)  # channels-last vs contiguous: same values

    assert main([str(path), "--n", "16", "--out", str(tmp_path / "grid.png")]) == 0
    assert (tmp_path / "grid.png").stat().st_size > 0
    assert main([str(tmp_path / "missing.pt"), "--out", str(tmp_path / "x.png")]) == 2
