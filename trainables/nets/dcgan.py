"""DCGAN generator/critic for 28×28 images (Radford et al. guidelines, paper 001 §3).

Strided convolutions instead of pooling, batch norm in both nets (optional, for the weak variant of
paper 004 §3.3.2), ReLU in G with tanh output, LeakyReLU(0.2) in D, no hidden fully connected layers.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import spectral_norm as sn

from trainables.data import DatasetInfo
from trainables.nets import Critic, NetOptions, init_dcgan_weights, register


def _maybe_sn(layer: nn.Module, on: bool) -> nn.Module:
    return sn(layer) if on else layer


class Generator28(nn.Module):
    def __init__(self, channels: int, opt: NetOptions):
        super().__init__()
        w = opt.width
        bn2 = (lambda c: nn.BatchNorm2d(c)) if opt.g_batchnorm else (lambda c: nn.Identity())
        self.project = nn.Linear(opt.z_dim, 2 * w * 7 * 7)
        self.bn0 = nn.BatchNorm1d(2 * w * 7 * 7) if opt.g_batchnorm else nn.Identity()
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
        self.body = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn0(self.project(z))).view(-1, 2 * self.w, 7, 7)
        return self.body(h)


class Critic28(Critic):
    def __init__(self, channels: int, opt: NetOptions):
        super().__init__()
        w, s = opt.width, opt.spectral_norm
        bn2 = (lambda c: nn.BatchNorm2d(c)) if opt.d_batchnorm else (lambda c: nn.Identity())
        layers: list[nn.Module] = [
            _maybe_sn(nn.Conv2d(channels, w, 4, 2, 1), s),  # 28 → 14
            nn.LeakyReLU(0.2, True),
            _maybe_sn(nn.Conv2d(w, 2 * w, 4, 2, 1), s),  # 14 → 7
            bn2(2 * w),
            nn.LeakyReLU(0.2, True),
        ]
        if not opt.small:
            layers += [_maybe_sn(nn.Conv2d(2 * w, 2 * w, 3, 1, 1), s), bn2(2 * w), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Flatten())
        self.body = nn.Sequential(*layers)
        self.head = _maybe_sn(nn.Linear(2 * w * 7 * 7, 1), s)
        init_dcgan_weights(self)


@register("dcgan28", lambda info: info.kind == "image" and info.shape[1:] == (28, 28))
def build_dcgan28(info: DatasetInfo, opt: NetOptions) -> tuple[nn.Module, Critic]:
    return Generator28(info.shape[0], opt), Critic28(info.shape[0], opt)
