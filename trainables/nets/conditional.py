"""Class conditioning of the image networks: how labels y enter ``generator(z, y)`` and ``critic(x, y)``.

``NetOptions.condition`` picks one of three published forms (``num_classes`` = K):

- ``concat`` (Mirza & Osindero 2014): G reads [z, one-hot(y)]; D reads the image with K one-hot label planes
  appended as channels (the convolutional form of their MLP's [x, y] input, as carpedm20/DCGAN-tensorflow's
  conditional MNIST nets concatenate y to the image).
- ``ac`` (Odena et al. 2017, AC-GAN): G reads [z, one-hot(y)]; D's score ignores y and a second linear head on
  D's features predicts the class (``Critic.class_logits``), which the objective's class terms train.
- ``projection`` (Miyato & Koyama 2018): G's batch norms become conditional batch norms (a per-class scale and
  shift, scale 1 and shift 0 at the start, as pfnet-research/sngan_projection's categorical conditional BN);
  D's score adds the projection ⟨embed(y), h(x)⟩ of its features h, the embedding spectrally normalised where
  the critic is.

An unconditional network (``condition`` "") builds exactly what it built before: no extra module, no extra draw
from the random stream, so unconditional methods keep their initial weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

CONDITIONS = ("concat", "ac", "projection")


def one_hot(y: torch.Tensor, num_classes: int, like: torch.Tensor) -> torch.Tensor:
    return F.one_hot(y.long(), num_classes).to(dtype=like.dtype, device=like.device)


def z_label_width(condition: str, num_classes: int) -> int:
    """Extra generator inputs: one-hot y beside z for ``concat`` and ``ac``."""
    return num_classes if condition in ("concat", "ac") else 0


def image_label_planes(condition: str, num_classes: int) -> int:
    """Extra critic input channels: K one-hot planes for ``concat``."""
    return num_classes if condition == "concat" else 0


def with_label_input(z: torch.Tensor, y: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """[z, one-hot(y)] for a generator that reads labels beside z; z unchanged when it does not."""
    if not num_classes:
        return z
    if y is None:
        raise ValueError("this generator is class-conditional: call generator(z, y) with a label per sample")
    return torch.cat([z.flatten(1), one_hot(y, num_classes, z)], dim=1)


def with_label_planes(x: torch.Tensor, y: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    if not num_classes:
        return x
    if y is None:
        raise ValueError("this critic reads labels as input planes: call critic(x, y) with a label per sample")
    planes = one_hot(y, num_classes, x)[:, :, None, None].expand(-1, -1, *x.shape[2:])
    return torch.cat([x, planes.contiguous(memory_format=_format_of(x))], dim=1)


def _format_of(x: torch.Tensor) -> torch.memory_format:
    """Keep a channels-last input channels-last (the image nets run NHWC)."""
    nhwc = x.ndim == 4 and x.is_contiguous(memory_format=torch.channels_last)
    return torch.channels_last if nhwc else torch.contiguous_format


class ConditionalBatchNorm(nn.Module):
    """Batch norm without its own affine part, then a per-class scale γ_y and shift β_y (1 and 0 at the start)."""

    takes_labels = True

    def __init__(self, num_features: int, num_classes: int, dims: int = 2):
        super().__init__()
        self.norm = (nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d)(num_features, affine=False)
        self.gamma = nn.Embedding(num_classes, num_features)
        self.beta = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            raise ValueError("conditional batch norm needs the labels: call generator(z, y)")
        h = self.norm(x)
        shape = (len(y), -1) + (1,) * (x.ndim - 2)
        return self.gamma(y).view(shape) * h + self.beta(y).view(shape)


def generator_norm(condition: str, num_classes: int, on: bool, channels: int, dims: int = 2) -> nn.Module:
    """G's normalisation layer: batch norm, conditional batch norm (``projection``) or none."""
    if not on:
        return nn.Identity()
    if condition == "projection":
        return ConditionalBatchNorm(channels, num_classes, dims)
    return nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm1d(channels)


def call(module: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    return module(x, y) if getattr(module, "takes_labels", False) else module(x)


class LabelledSequential(nn.Sequential):
    """``nn.Sequential`` that hands the labels to the layers that read them (conditional batch norm)."""

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        for module in self:
            x = call(module, x, y)
        return x


def attach_critic_condition(critic: nn.Module, condition: str, num_classes: int, spectral_norm: bool) -> None:
    """The critic's label-reading parts that sit on its features: AC's class head, the projection embedding."""
    critic.label_planes = image_label_planes(condition, num_classes)
    dim = critic.head.in_features
    if condition == "ac":
        critic.class_head = nn.Linear(dim, num_classes)
        nn.init.normal_(critic.class_head.weight, 0.0, 0.02)  # as the DCGAN head
        nn.init.zeros_(critic.class_head.bias)
    if condition == "projection":
        embed = nn.Embedding(num_classes, dim)
        nn.init.xavier_uniform_(embed.weight)  # sngan_projection initialises l_y with Glorot-uniform
        # The parametrization recomputes the normalised weight on every access, as on the critic's layers.
        critic.projection = nn.utils.parametrizations.spectral_norm(embed) if spectral_norm else embed
