"""Generator/discriminator pairs, chosen by dataset shape (28/32/64 px images, 2-D points)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from trainables.data import DatasetInfo


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
    width: int = 64  # base channel count (DCGAN's ngf/ndf) or hidden units for MLPs
    g_batchnorm: bool = True
    d_batchnorm: bool = True
    spectral_norm: bool = False
    small: bool = False  # paper 004 "small DCGAN": one conv layer fewer


Builder = Callable[[DatasetInfo, NetOptions], tuple[nn.Module, Critic]]
_BUILDERS: list[tuple[str, Callable[[DatasetInfo], bool], Builder]] = []


def register(name: str, accepts: Callable[[DatasetInfo], bool]) -> Callable[[Builder], Builder]:
    def deco(fn: Builder) -> Builder:
        _BUILDERS.append((name, accepts, fn))
        return fn

    return deco


def network_family(info: DatasetInfo) -> str:
    for name, accepts, _ in _BUILDERS:
        if accepts(info):
            return name
    raise ValueError(
        f"no network supports samples of shape {info.shape} (dataset {info.name}); "
        f"supported: {', '.join(n for n, _, _ in _BUILDERS)}"
    )


def build_networks(info: DatasetInfo, options: NetOptions) -> tuple[nn.Module, Critic]:
    family = network_family(info)
    builder = next(fn for name, _, fn in _BUILDERS if name == family)
    return builder(info, options)


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


from trainables.nets import dcgan  # noqa: E402,F401  (registers builders)
