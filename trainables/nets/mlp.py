"""Fully connected generator/critic pairs.

Points (the 8-Gaussian ring): Metz et al. 2016's toy nets, which paper 003 §4.1 reuses: ReLU MLPs with
two hidden layers, linear output. Hidden units are 4 × width, so the CLI's width 32 gives their 128.

Images with ``NetOptions.mlp``: paper 002's vanilla GAN, fully connected layers only (its critic is a
"three-layer structure, all linear"). Sizes follow the common MLP GAN: G z → 256 → 512 → 1024 → pixels
(tanh), D pixels → 512 → 256 → 1 with LeakyReLU(0.2), at width 32 (they scale with width).

No batch norm in either: neither reference uses it (the batch-norm flags apply to the conv nets).
PyTorch's default (Kaiming-uniform) initialisation: DCGAN's N(0, 0.02) is for conv nets and starves
a 2-input MLP of signal.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from trainables.data import DatasetInfo
from trainables.nets import Critic, NetOptions, maybe_spectral_norm, register


def _stack(sizes: list[int], act: Callable[[], nn.Module], sn: bool = False) -> nn.Sequential:
    """Linear + activation for every consecutive pair of sizes."""
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [maybe_spectral_norm(nn.Linear(a, b), sn), act()]
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    def __init__(self, hidden: list[int], out_shape: tuple[int, ...], opt: NetOptions, tanh: bool):
        super().__init__()
        self.out_shape = out_shape
        out = [nn.Linear(hidden[-1], math.prod(out_shape))] + ([nn.Tanh()] if tanh else [])
        self.body = nn.Sequential(_stack([opt.z_dim, *hidden], nn.ReLU), *out)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z).view(z.shape[0], *self.out_shape)


class MLPCritic(Critic):
    def __init__(self, in_shape: tuple[int, ...], hidden: list[int], opt: NetOptions, act: Callable[[], nn.Module]):
        super().__init__()
        s = opt.spectral_norm
        self.body = nn.Sequential(nn.Flatten(), _stack([math.prod(in_shape), *hidden], act, s))
        self.head = maybe_spectral_norm(nn.Linear(hidden[-1], 1), s)


@register("mlp_points", lambda info, opt: info.kind == "points")
def build_points(info: DatasetInfo, opt: NetOptions) -> tuple[nn.Module, Critic]:
    hidden = [4 * opt.width] * (1 if opt.small else 2)
    return MLPGenerator(hidden, info.shape, opt, tanh=False), MLPCritic(info.shape, hidden, opt, nn.ReLU)


@register("mlp_images", lambda info, opt: info.kind == "image" and opt.mlp)
def build_images(info: DatasetInfo, opt: NetOptions) -> tuple[nn.Module, Critic]:
    w = opt.width
    g_hidden = [8 * w, 32 * w] if opt.small else [8 * w, 16 * w, 32 * w]
    d_hidden = [16 * w] if opt.small else [16 * w, 8 * w]
    return (
        MLPGenerator(g_hidden, info.shape, opt, tanh=True),
        MLPCritic(info.shape, d_hidden, opt, lambda: nn.LeakyReLU(0.2)),
    )
