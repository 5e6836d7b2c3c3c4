"""Representative features (paper 003, RFGAN §3.1).

A denoising autoencoder whose encoder has the discriminator's architecture and whose decoder has the
generator's is pre-trained on the real training data, then frozen. The RF critic concatenates the
encoder's last-layer features h₁ (representative) with the discriminator's own features h₂
(discriminative); one linear layer on [h₁, h₂] gives the output. The encoder's parameters never
receive a gradient (``requires_grad`` off, kept in eval mode so its batch-norm statistics stay those
of pre-training); gradients still flow *through* it to the input, which the generator needs.

On point sets (the 8-Gaussian ring, paper 003 Fig. 3) the same construction gives an MLP denoising
autoencoder: encoder = the MLP critic's hidden layers, decoder = the MLP generator.

Pre-training runs once per (dataset, architecture, training data) and is cached on disk like the
scoring classifier. Its recipe is not given by the paper: MSE reconstruction of inputs corrupted by
Gaussian noise (Vincent et al. 2008), Adam(1e-3), batch 64, 10 epochs within 500–2,000 steps.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import torch
from filelock import FileLock
from torch import nn

from trainables.data import Dataset, DatasetInfo, as_float, data_fingerprint
from trainables.nets.base import Critic, NetOptions, base_builder, maybe_spectral_norm

RF_VERSION = 1  # bump when the autoencoder or its recipe changes: invalidates caches
RF_SEED = 4321  # pre-training has its own seed: the encoder is part of the dataset, not of a trial
RF_EPOCHS, RF_MIN_STEPS, RF_MAX_STEPS, RF_BATCH, RF_LR = 10, 500, 2000, 64, 1e-3
RF_NOISE = 0.1  # σ of the denoising corruption, in data units ([-1, 1] images; the ring's σ)


class DenoisingAutoencoder(nn.Module):
    """Encoder = critic body (→ h₁), a linear bottleneck to a z-sized code, decoder = generator."""

    def __init__(self, info: DatasetInfo, options: NetOptions):
        super().__init__()
        _, builder = base_builder(info, options)
        decoder, critic = builder(info, autoencoder_options(options))
        self.encoder = critic.body
        self.feature_dim = critic.head.in_features
        self.bottleneck = nn.Linear(self.feature_dim, options.z_dim)
        self.decoder = decoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.bottleneck(self.encoder(x)))


def autoencoder_options(options: NetOptions) -> NetOptions:
    """The autoencoder mirrors G and D, without the critic-only norms and dropout."""
    return replace(options, spectral_norm=False, d_weightnorm=False, d_dropout=0.0, d_input_dropout=0.0,
                   representative_features=False)  # fmt: skip


class RFCritic(Critic):
    """features(x) = [h₁(x), h₂(x)]; forward(x) = head(features(x)), head one linear layer."""

    def __init__(self, critic: Critic, encoder: nn.Module, h1_dim: int, spectral_norm: bool):
        super().__init__()
        self.body = critic.body  # discriminative features h₂, trained
        self.encoder = encoder.requires_grad_(False).eval()  # representative features h₁, frozen
        self.h1_dim = h1_dim
        head = nn.Linear(h1_dim + critic.head.in_features, 1)
        nn.init.normal_(head.weight, 0.0, 0.02)  # before the norm: its parametrization starts from this weight
        nn.init.zeros_(head.bias)
        self.head = maybe_spectral_norm(head, spectral_norm)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.encoder(x), self.body(x)], dim=1)

    def train(self, mode: bool = True) -> RFCritic:
        super().train(mode)
        self.encoder.eval()  # frozen means frozen batch-norm statistics too
        return self


def autoencoder_path(info: DatasetInfo, options: NetOptions, data: Dataset) -> Path:
    from trainables.classifier import cache_dir

    family, _ = base_builder(info, options)
    o = autoencoder_options(options)
    arch = f"z{o.z_dim}-w{o.width}-bn{int(o.g_batchnorm)}{int(o.d_batchnorm)}-s{int(o.small)}-m{int(o.mlp)}"
    arch += "" if o.mlp_style == "relu" else f"-{o.mlp_style}"  # the default keeps existing caches valid
    return cache_dir() / f"rf-ae-{info.name}-{family}-{arch}-{data_fingerprint(data.train_x)}-v{RF_VERSION}.pt"


def pretrain(ae: DenoisingAutoencoder, data: Dataset, steps: int, batch: int = RF_BATCH) -> float:
    """Train ``ae`` to denoise real training samples; returns its clean reconstruction MSE on test data."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    ae.to(device).train()
    gen = torch.Generator().manual_seed(RF_SEED)
    opt = torch.optim.Adam(ae.parameters(), lr=RF_LR)
    x = data.train_x
    for _ in range(steps):
        clean = as_float(x[torch.randint(len(x), (batch,), generator=gen)]).to(device)
        noisy = clean + RF_NOISE * torch.randn(clean.shape, generator=gen).to(device)
        loss = nn.functional.mse_loss(ae(noisy), clean)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    ae.eval()
    with torch.no_grad():
        test = as_float(data.test_x[:1000]).to(device)
        mse = float(nn.functional.mse_loss(ae(test), test))
    ae.cpu()
    return mse


def pretrain_steps(n: int) -> int:
    """10 epochs, but at least 500 steps (tiny sets) and at most 2,000 (large sets: it runs in every new search)."""
    return max(RF_MIN_STEPS, min(RF_MAX_STEPS, RF_EPOCHS * math.ceil(n / RF_BATCH)))


def pretrained_autoencoder(info: DatasetInfo, options: NetOptions, data: Dataset) -> tuple[DenoisingAutoencoder, float]:
    """The cached autoencoder for this dataset and architecture (pre-trained on first use), and its test MSE."""
    path = autoencoder_path(info, options, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Its own RNG stream: whether the cache exists must not change the trial's seeded initialisation.
    with torch.random.fork_rng(devices=range(torch.cuda.device_count())):
        torch.manual_seed(RF_SEED)
        ae = DenoisingAutoencoder(info, options)
        with FileLock(str(path) + ".lock"):  # concurrent trials must not pre-train it twice
            if not path.exists():
                steps = pretrain_steps(len(data.train_x))
                mse = pretrain(ae, data, steps)
                tmp = path.with_suffix(".tmp")
                torch.save({"state_dict": ae.state_dict(), "test_mse": mse, "steps": steps}, tmp)
                tmp.replace(path)  # atomic: a crash never leaves a half-written cache
                meta = {"dataset": info.name, "test_mse": mse, "steps": steps}
                path.with_suffix(".json").write_text(json.dumps(meta))
            blob = torch.load(path, map_location="cpu", weights_only=True)
    ae.load_state_dict(blob["state_dict"])
    return ae.eval(), float(blob["test_mse"])


def with_representative_features(critic: Critic, info: DatasetInfo, options: NetOptions, data: Dataset) -> RFCritic:
    ae, _ = pretrained_autoencoder(info, options, data)
    return RFCritic(critic, ae.encoder, ae.feature_dim, options.spectral_norm)
