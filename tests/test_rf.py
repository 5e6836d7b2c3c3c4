"""Representative features (paper 003): the critic's output is one linear layer on [h₁, h₂], h₁ from a
pre-trained, frozen, cached denoising-autoencoder encoder that no gradient updates."""

from __future__ import annotations

import pytest
import torch

from trainables.data import Dataset, load_dataset
from trainables.nets import NetOptions, NetworkError, build_networks, rf
from trainables.nets.rf import RFCritic, autoencoder_path, pretrained_autoencoder

RF = NetOptions(z_dim=8, width=4, representative_features=True)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_TUNER_CACHE", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("rf-cache")


@pytest.fixture
def mnist_cache(shared_cache, monkeypatch):
    """One cache for the image tests, whose pre-training is cut to 20 steps: they test wiring, not quality."""
    monkeypatch.setenv("GAN_TUNER_CACHE", str(shared_cache))
    monkeypatch.setattr(rf, "RF_MIN_STEPS", 20)


def small_mnist(n: int = 128) -> Dataset:
    d = load_dataset("mnist5k")
    return Dataset(d.info, d.train_x[:n], d.train_y[:n], d.test_x[:64], d.test_y[:64])


def small_ring(n: int = 1024) -> Dataset:
    d = load_dataset("ring8")
    return Dataset(d.info, d.train_x[:n], None, d.test_x[:256], None)


def test_output_is_one_linear_layer_on_frozen_encoder_and_critic_features(mnist_cache):
    data = small_mnist()
    torch.manual_seed(0)
    _, critic = build_networks(data.info, RF, data)
    assert isinstance(critic, RFCritic)
    x = data.train_x[:6]
    # h₁ is the *cached pre-trained* encoder's output, recomputed here from the file on disk.
    ae, _ = pretrained_autoencoder(data.info, RF, data)
    h1 = ae.encoder(x)
    h2 = critic.body(x)
    assert h1.shape == (6, 8 * 7 * 7) and h2.shape == (6, 8 * 7 * 7)
    expected = torch.cat([h1, h2], 1) @ critic.head.weight.T + critic.head.bias
    assert torch.allclose(critic(x), expected.squeeze(1), atol=1e-6)
    assert torch.allclose(critic.features(x), torch.cat([h1, h2], 1))


def test_no_gradient_reaches_the_encoder_but_gradients_flow_through_it(mnist_cache):
    data = small_mnist()
    _, critic = build_networks(data.info, RF, data)
    critic.train()
    assert not critic.encoder.training and critic.body.training  # train() keeps the encoder in eval mode
    enc_before = {k: v.clone() for k, v in critic.encoder.state_dict().items()}  # incl. batch-norm statistics
    body_before = [p.clone() for p in critic.body.parameters()]
    opt = torch.optim.Adam(critic.parameters(), lr=1e-2)
    for _ in range(3):
        x = data.train_x[:16].clone().requires_grad_(True)
        loss = critic(x).mean() - critic(torch.randn(16, 1, 28, 28)).mean()
        opt.zero_grad()
        loss.backward()
        assert all(p.grad is None and not p.requires_grad for p in critic.encoder.parameters())
        assert all(p.grad is not None for p in [*critic.body.parameters(), *critic.head.parameters()])
        opt.step()
    assert all(torch.equal(v, enc_before[k]) for k, v in critic.encoder.state_dict().items())
    assert not all(torch.equal(a, b) for a, b in zip(body_before, critic.body.parameters(), strict=True))

    # With h₂'s weights zeroed, the input gradient (G's training signal, gradient penalties) comes
    # through the frozen encoder alone, and is not zero.
    with torch.no_grad():
        critic.head.weight[:, critic.h1_dim :] = 0
    x = data.train_x[:4].clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x)
    assert grad.abs().sum() > 0


def test_pretraining_is_cached_reused_and_does_not_disturb_the_trials_rng(cache):
    data = small_ring()
    path = autoencoder_path(data.info, RF, data)
    assert not path.exists()
    torch.manual_seed(7)
    g1, c1 = build_networks(data.info, RF, data)  # pre-trains and caches
    stamp = path.stat().st_mtime_ns
    torch.manual_seed(7)
    g2, c2 = build_networks(data.info, RF, data)  # loads the cache
    assert path.stat().st_mtime_ns == stamp and len(list(cache.glob("rf-ae-*.pt"))) == 1
    # Same seed → same networks whether or not the autoencoder was trained in between.
    first = [*g1.state_dict().values(), *c1.state_dict().values()]
    second = [*g2.state_dict().values(), *c2.state_dict().values()]
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    # Other training data, or another architecture, gets its own autoencoder.
    other = Dataset(data.info, data.train_x[1:], None, data.test_x, None)
    assert autoencoder_path(data.info, RF, other) != path
    assert autoencoder_path(data.info, NetOptions(z_dim=8, width=8, representative_features=True), data) != path
    # Spectral norm belongs to the critic only: it shares the autoencoder.
    assert autoencoder_path(data.info, NetOptions(z_dim=8, width=4, spectral_norm=True), data) == path


def test_pretrained_autoencoder_denoises_the_ring(cache):
    data = small_ring()
    ae, mse = pretrained_autoencoder(data.info, RF, data)
    variance = float(data.test_x.var(0).sum() / 2)  # per-coordinate variance ≈ 2 (radius 2 ring)
    assert mse < 0.1 * variance, (mse, variance)
    with torch.no_grad():
        recon = ae(data.test_x)
    assert torch.allclose(torch.tensor(mse), ((recon - data.test_x) ** 2).mean(), rtol=1e-4)


def test_representative_features_need_the_data():
    d = small_ring(64)
    with pytest.raises(NetworkError, match="representative features need the dataset"):
        build_networks(d.info, RF)
