"""Generator/discriminator pairs, chosen by dataset shape (28/32/64 px images, 2-D points) and options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from trainables.data import Dataset, DatasetInfo


class Critic(nn.Module):
    """A discriminator split into a feature body and a linear head.

    Objectives that need intermediate features (feature matching, representative features, SAN's
    direction) use ``features``/``head`` directly; ``forward`` returns one raw score per sample.
    """

    body: nn.Module
    head: nn.Linear

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.head(self.features(x)).squeeze(1)


@dataclass(frozen=True)
class NetOptions:
    z_dim: int = 100
    width: int = 64  # base channel count (DCGAN ngf/ndf); MLPs scale their hidden units with it
    g_batchnorm: bool = True  # batch norm flags apply to the conv nets; the MLPs have none
    d_batchnorm: bool = True
    spectral_norm: bool = False
    small: bool = False  # paper 004 "small DCGAN": one conv layer fewer (MLPs: one hidden layer fewer)
    mlp: bool = False  # images through paper 002's fully connected GAN instead of DCGAN
    representative_features: bool = False  # paper 003 RFGAN: frozen pre-trained encoder features in the critic


class NetworkError(ValueError):
    """No network fits the dataset/options, or a network needs something it was not given (one line)."""


Accepts = Callable[[DatasetInfo, NetOptions], bool]
Builder = Callable[[DatasetInfo, NetOptions], tuple[nn.Module, Critic]]
_BUILDERS: list[tuple[str, Accepts, Builder]] = []


def register(name: str, accepts: Accepts) -> Callable[[Builder], Builder]:
    """Register a builder; the first registered family that accepts (info, options) is used."""

    def deco(fn: Builder) -> Builder:
        _BUILDERS.append((name, accepts, fn))
        return fn

    return deco


def network_family(info: DatasetInfo, options: NetOptions | None = None) -> str:
    options = options or NetOptions()
    for name, accepts, _ in _BUILDERS:
        if accepts(info, options):
            return name
    raise NetworkError(
        f"no network supports {info.kind} samples of shape {info.shape} (dataset {info.name}); "
        f"supported: 28, 32 and 64 px images (any channels, or any size with the MLP option) and 2-D points"
    )


def base_builder(info: DatasetInfo, options: NetOptions) -> tuple[str, Builder]:
    family = network_family(info, options)
    return family, next(fn for name, _, fn in _BUILDERS if name == family)


def build_networks(info: DatasetInfo, options: NetOptions, data: Dataset | None = None) -> tuple[nn.Module, Critic]:
    """(generator, critic) for the dataset. ``data`` is needed only for representative features (their
    autoencoder is pre-trained on ``data.train_x``, once per dataset and architecture, then cached)."""
    _, builder = base_builder(info, options)
    generator, critic = builder(info, options)
    if options.representative_features:
        if data is None:
            raise NetworkError("representative features need the dataset: call build_networks(info, options, data)")
        from trainables.nets.rf import with_representative_features

        critic = with_representative_features(critic, info, options, data)
    return generator, critic


def maybe_spectral_norm(layer: nn.Module, on: bool) -> nn.Module:
    return nn.utils.spectral_norm(layer) if on else layer


def init_dcgan_weights(module: nn.Module) -> None:
    """Radford et al.: conv weights N(0, 0.02), batch-norm scale N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


# Registration order is precedence: the MLP option overrides DCGAN on images.
from trainables.nets import mlp  # noqa: E402,F401,I001  (registers builders)
from trainables.nets import dcgan  # noqa: E402,F401
