"""Fully connected generator/critic pairs.

Points (the 8-Gaussian ring): Metz et al. 2016's toy nets, which paper 003 §4.1 reuses: ReLU MLPs with
two hidden layers, linear output. Hidden units are 4 × width, so the CLI's width 32 gives their 128.

Images with ``NetOptions.mlp``: paper 002's vanilla GAN, fully connected layers only (its critic is a
"three-layer structure, all linear"). Sizes follow the common MLP GAN: G z → 256 → 512 → 1024 → pixels
(tanh), D pixels → 512 → 256 → 1 with LeakyReLU(0.2), at width 32 (they scale with width).

No batch norm in either: neither reference uses it (the batch-norm flags apply to the conv nets).
PyTorch's default (Kaiming-uniform) initialisation: DCGAN's N(0, 0.02) is for conv nets and starves
a 2-input MLP of signal.

``mlp_style="metz"`` gives the point nets of the unrolled-GAN reference, poolio/unrolled_gan's demo:
two tanh hidden layers of 128 units in G and D (width 32), weights orthogonal with gain 1.4, biases 0.
Its other settings, z 256 and batch 512, are trial config (``REFERENCE_TOY_CONFIG``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from trainables.data import DatasetInfo
from trainables.nets.base import (
    Critic,
    NetOptions,
    NetworkError,
    apply_critic_norm,
    critic_block_end,
    critic_input,
    register,
)

# poolio/unrolled_gan's trial settings that are not network shapes (its nets are mlp_style="metz").
REFERENCE_TOY_CONFIG = {"z_dim": 256, "batch_size": 512}
METZ_GAIN = 1.4


def _stack(sizes: list[int], act: Callable[[], nn.Module], opt: NetOptions | None = None) -> nn.Sequential:
    """Linear + activation for every consecutive pair of sizes (critic stacks: dropout between them)."""
    layers: list[nn.Module] = []
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    for i, (a, b) in enumerate(pairs):
        layers += [nn.Linear(a, b), act()]
        if opt is not None:
            layers += critic_block_end(opt, last=i == len(pairs) - 1)
    return nn.Sequential(*layers)


def metz_init(module: nn.Module) -> None:
    """poolio/unrolled_gan: orthogonal weights with gain 1.4 on every fully connected layer, zero biases."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.orthogonal_(m.weight, gain=METZ_GAIN)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class MLPGenerator(nn.Module):
    def __init__(self, hidden: list[int], out_shape: tuple[int, ...], opt: NetOptions, tanh: bool, act=nn.ReLU) -> None:
        super().__init__()
        self.out_shape = out_shape
        out = [nn.Linear(hidden[-1], math.prod(out_shape))] + ([nn.Tanh()] if tanh else [])
        self.body = nn.Sequential(_stack([opt.z_dim, *hidden], act), *out)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z).view(z.shape[0], *self.out_shape)


class MLPCritic(Critic):
    def __init__(self, in_shape: tuple[int, ...], hidden: list[int], opt: NetOptions, act: Callable[[], nn.Module]):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), *critic_input(opt), _stack([math.prod(in_shape), *hidden], act, opt))
        self.head = nn.Linear(hidden[-1], 1, bias=opt.head_bias)
        if opt.mlp_style == "metz":
            metz_init(self)
        apply_critic_norm(self, opt)


@register("mlp_points", lambda info, opt: info.kind == "points")
def build_points(info: DatasetInfo, opt: NetOptions) -> tuple[nn.Module, Critic]:
    hidden = [4 * opt.width] * (1 if opt.small else 2)
    if opt.mlp_style == "metz":
        generator = MLPGenerator(hidden, info.shape, opt, tanh=False, act=nn.Tanh)
        metz_init(generator)
        return generator, MLPCritic(info.shape, hidden, opt, nn.Tanh)
    if opt.mlp_style != "relu":
        raise NetworkError(f"unknown mlp_style {opt.mlp_style!r}; valid: relu, metz")
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
