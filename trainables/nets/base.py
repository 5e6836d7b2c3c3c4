"""What every network family shares: the critic's shape, the options, the builder registry and the layer helpers.
The families (``dcgan``, ``mlp``) register their builders here; ``trainables.nets`` imports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from trainables.data import DatasetInfo
from trainables.nets.conditional import with_label_planes


class Critic(nn.Module):
    """A discriminator split into a feature body and a linear head, called as ``critic(x, y=None)``.

    Objectives that need intermediate features (feature matching, representative features, SAN's
    direction) use ``features``/``head`` directly; ``forward`` returns one raw score per sample. A
    class-conditional critic (``trainables.nets.conditional``) reads labels as input planes (``label_planes``),
    adds a projection ⟨embed(y), h⟩ to the score (``projection``), or has an auxiliary class head on its
    features (``class_head``, read through ``class_logits``); an unconditional one has none of them.
    """

    body: nn.Module
    head: nn.Linear
    label_planes: int = 0  # submodules ``projection`` and ``class_head`` exist only on critics built with them

    def features(self, x, y=None):
        return self.body(with_label_planes(x, y, self.label_planes) if self.label_planes else x)

    def forward(self, x, y=None):
        h = self.features(x) if y is None else self.features(x, y)
        out = self.head(h).squeeze(1)
        projection = self._modules.get("projection")
        if projection is not None and y is not None:
            out = out + (projection(y.long()) * h).sum(1)
        return out

    def class_logits(self, x, y=None):
        """The auxiliary class head's logits (AC-GAN); only a critic built with ``condition="ac"`` has one."""
        class_head = self._modules.get("class_head")
        if class_head is None:
            raise ValueError("this critic has no class head: build it with NetOptions(condition='ac')")
        return class_head(self.features(x) if y is None else self.features(x, y))


@dataclass(frozen=True)
class NetOptions:
    z_dim: int = 100
    width: int = 64  # base channel count (DCGAN ngf/ndf); MLPs scale their hidden units with it
    g_batchnorm: bool = True  # batch norm flags apply to the conv nets; the MLPs have none
    d_batchnorm: bool = True
    spectral_norm: bool = False  # on every critic layer (a Lipschitz critic: hinge loss, SAN)
    spectral_norm_head: bool = True  # SAN off: its head's norm is the learnt scale s (sony/san normalises the body)
    d_weightnorm: bool = False  # Salimans & Kingma weight norm on every critic layer (openai/improved-gan)
    d_dropout: float = 0.0  # dropout after each hidden critic block but the last (improved-gan: 0.5)
    d_input_dropout: float = 0.0  # dropout on the critic's input (improved-gan's CIFAR critic: 0.2)
    head_bias: bool = True  # tomsercu/FisherGAN's critic head has no bias
    mlp_style: str = "relu"  # point nets: "relu" (paper 003) or "metz" (poolio/unrolled_gan: tanh, orthogonal ×1.4)
    small: bool = False  # paper 004 "small DCGAN": one conv layer fewer (MLPs: one hidden layer fewer)
    mlp: bool = False  # images through paper 002's fully connected GAN instead of DCGAN
    representative_features: bool = False  # paper 003 RFGAN: frozen pre-trained encoder features in the critic
    condition: str = ""  # class conditioning (trainables.nets.conditional): "", concat, ac or projection
    num_classes: int = 0  # K of a class-conditional pair


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


def maybe_spectral_norm(layer: nn.Module, on: bool) -> nn.Module:
    # The parametrization recomputes ``layer.weight`` on every access, so code reading the head's weight
    # outside its forward (SAN's direction) sees the normalised, differentiable weight.
    return nn.utils.parametrizations.spectral_norm(layer) if on else layer


def apply_critic_norm(critic: Critic, opt: NetOptions) -> Critic:
    """Spectral or weight norm on every conv/linear layer of the critic, after its initialisation: a
    parametrization keeps the initialised weight as its starting point, so the init must come first."""
    head_on = opt.d_weightnorm or (opt.spectral_norm and opt.spectral_norm_head)
    for layer in [m for m in critic.body.modules() if isinstance(m, nn.Conv2d | nn.Linear)]:
        if opt.d_weightnorm:
            nn.utils.parametrizations.weight_norm(layer)
        else:
            maybe_spectral_norm(layer, opt.spectral_norm)
    if head_on:
        if opt.d_weightnorm:
            nn.utils.parametrizations.weight_norm(critic.head)
        else:
            maybe_spectral_norm(critic.head, True)
    return critic


def critic_block_end(opt: NetOptions, last: bool) -> list[nn.Module]:
    """What follows a hidden critic block's activation: dropout between blocks (improved-gan), none after the last."""
    return [nn.Dropout(opt.d_dropout)] if opt.d_dropout > 0 and not last else []


def critic_input(opt: NetOptions) -> list[nn.Module]:
    return [nn.Dropout(opt.d_input_dropout)] if opt.d_input_dropout > 0 else []


def init_dcgan_weights(module: nn.Module) -> None:
    """Radford et al.: conv weights N(0, 0.02), batch-norm scale N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d) and m.affine:  # conditional BN: per-class γ, β
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
