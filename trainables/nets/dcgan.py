"""DCGAN generators/critics for 28, 32 and 64 px images (Radford et al. guidelines, paper 001 §3).

Strided convolutions instead of pooling, batch norm in both nets (each optional: paper 004 §3.3.2's weak
variant drops G's, the gradient penalties and Improved GAN's weight-normed critic drop D's), ReLU in G with
tanh output, LeakyReLU(0.2) in D, no hidden fully connected layers. Critic norms (spectral, weight) are
applied after the DCGAN initialisation, so their parametrizations start from the initialised weights.
"""

from __future__ import annotations

import torch
from torch import nn

from trainables.data import DatasetInfo
from trainables.nets.base import (
    Critic,
    NetOptions,
    apply_critic_norm,
    critic_block_end,
    critic_input,
    init_dcgan_weights,
    register,
)
from trainables.nets.conditional import (
    LabelledSequential,
    attach_critic_condition,
    call,
    generator_norm,
    image_label_planes,
    with_label_input,
    z_label_width,
)


class Generator28(nn.Module):
    def __init__(self, channels: int, opt: NetOptions):
        super().__init__()
        w = opt.width
        self.label_width = z_label_width(opt.condition, opt.num_classes)

        def bn2(c: int) -> nn.Module:
            return generator_norm(opt.condition, opt.num_classes, opt.g_batchnorm, c)

        self.project = nn.Linear(opt.z_dim + self.label_width, 2 * w * 7 * 7)
        self.bn0 = generator_norm(opt.condition, opt.num_classes, opt.g_batchnorm, 2 * w * 7 * 7, dims=1)
        layers: list[nn.Module] = []
        if not opt.small:
            layers += [nn.ConvTranspose2d(2 * w, 2 * w, 3, 1, 1), bn2(2 * w), nn.ReLU(True)]
        layers += [
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1),  # 7 → 14
            bn2(w),
            nn.ReLU(True),
            nn.ConvTranspose2d(w, channels, 4, 2, 1),  # 14 → 28
            nn.Tanh(),
        ]
        self.w = w
        self.body = LabelledSequential(*layers)
        init_dcgan_weights(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = torch.relu(call(self.bn0, self.project(with_label_input(z, y, self.label_width)), y))
        return self.body(h.view(-1, 2 * self.w, 7, 7), y)


class Critic28(Critic):
    def __init__(self, channels: int, opt: NetOptions):
        super().__init__()
        w = opt.width
        bn2 = (lambda c: nn.BatchNorm2d(c)) if opt.d_batchnorm else (lambda c: nn.Identity())
        layers: list[nn.Module] = [
            *critic_input(opt),
            nn.Conv2d(channels + image_label_planes(opt.condition, opt.num_classes), w, 4, 2, 1),  # 28 → 14
            nn.LeakyReLU(0.2, True),
            *critic_block_end(opt, last=False),
            nn.Conv2d(w, 2 * w, 4, 2, 1),  # 14 → 7
            bn2(2 * w),
            nn.LeakyReLU(0.2, True),
        ]
        if not opt.small:
            layers += [*critic_block_end(opt, last=False), nn.Conv2d(2 * w, 2 * w, 3, 1, 1), bn2(2 * w),
                       nn.LeakyReLU(0.2, True)]  # fmt: skip
        layers.append(nn.Flatten())
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(2 * w * 7 * 7, 1, bias=opt.head_bias)
        init_dcgan_weights(self)
        apply_critic_norm(self, opt)
        if opt.condition:
            attach_critic_condition(self, opt.condition, opt.num_classes, opt.spectral_norm)


@register("dcgan28", lambda info, opt: info.kind == "image" and info.shape[1:] == (28, 28))
def build_dcgan28(info: DatasetInfo, opt: NetOptions) -> tuple[nn.Module, Critic]:
    return Generator28(info.shape[0], opt), Critic28(info.shape[0], opt)


# -- 32 and 64 px: Radford et al.'s all-convolutional DCGAN -----------------------------------------
# G projects z to a 4×4 map (a 4×4 transposed conv on a 1×1 input), then doubles the resolution and
# halves the channels per stride-2 transposed conv; D mirrors it, its final 4×4 conv written as the
# Linear head. Radford et al.'s 64 px nets use 8w channels at 4×4; the 32 px nets drop one level.
# "small" removes the deepest conv layer from each net: G projects straight to 8×8 and D stops at 8×8.


def _levels(size: int, small: bool) -> tuple[int, int]:
    """(start resolution, number of stride-2 layers)."""
    start = 8 if small else 4
    return start, (size // start).bit_length() - 1


class GeneratorDC(nn.Module):
    def __init__(self, channels: int, size: int, opt: NetOptions):
        super().__init__()
        start, n_up = _levels(size, opt.small)
        self.label_width = z_label_width(opt.condition, opt.num_classes)

        def bn2(c: int) -> nn.Module:
            return generator_norm(opt.condition, opt.num_classes, opt.g_batchnorm, c)

        ch = opt.width * 2 ** (n_up - 1)
        z_in = opt.z_dim + self.label_width
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_in, ch, start, 1, 0), bn2(ch), nn.ReLU(True)]
        for _ in range(n_up - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1), bn2(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]
        self.body = LabelledSequential(*layers)
        init_dcgan_weights(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        z = with_label_input(z, y, self.label_width)
        return self.body(z.view(z.shape[0], -1, 1, 1), y)


class CriticDC(Critic):
    def __init__(self, channels: int, size: int, opt: NetOptions):
        super().__init__()
        start, n_down = _levels(size, opt.small)
        bn2 = (lambda c: nn.BatchNorm2d(c)) if opt.d_batchnorm else (lambda c: nn.Identity())
        ch = opt.width
        # Radford et al.: no batch norm on the discriminator's input layer.
        in_ch = channels + image_label_planes(opt.condition, opt.num_classes)
        layers: list[nn.Module] = [*critic_input(opt), nn.Conv2d(in_ch, ch, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for _ in range(n_down - 1):
            layers += [*critic_block_end(opt, last=False), nn.Conv2d(ch, 2 * ch, 4, 2, 1), bn2(2 * ch),
                       nn.LeakyReLU(0.2, True)]  # fmt: skip
            ch *= 2
        layers.append(nn.Flatten())
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(ch * start * start, 1, bias=opt.head_bias)
        init_dcgan_weights(self)
        apply_critic_norm(self, opt)
        if opt.condition:
            attach_critic_condition(self, opt.condition, opt.num_classes, opt.spectral_norm)


def _dc_builder(size: int):
    def build(info: DatasetInfo, opt: NetOptions) -> tuple[nn.Module, Critic]:
        return GeneratorDC(info.shape[0], size, opt), CriticDC(info.shape[0], size, opt)

    return build


for _size in (32, 64):
    register(f"dcgan{_size}", lambda info, opt, s=_size: info.kind == "image" and info.shape[1:] == (s, s))(
        _dc_builder(_size)
    )
