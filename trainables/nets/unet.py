"""ModNet's networks (paper 004 §2.5.1): a label-conditioned U-Net that outputs a delta image, and conv critics.

The generator follows pix2pix's U-Net (Isola et al. 2017, the thesis' starting point): stride-2 4×4 convolutions
down (LeakyReLU 0.2, batch norm after the first), transposed convolutions up (batch norm, ReLU), each decoder
level concatenated with the encoder level of the same size, N(0, 0.02) initialisation. Two levels down (28 → 14
→ 7, 32 → 16 → 8) suit the small images here. ModNet's changes: the target label y_t enters as K one-hot
channels broadcast over the image, and the last layer's tanh gives a delta image in [-1, 1] (not a sigmoid:
§2.5.1 found a [0, 1] delta only learns to brighten). pix2pix's decoder dropout (its noise source) is left out:
ModNet's output is a deterministic function of (x, y_t).
"""

from __future__ import annotations

import torch
from torch import nn

from trainables.nets.base import init_dcgan_weights


def one_hot_planes(labels: torch.Tensor, num_classes: int, height: int, width: int) -> torch.Tensor:
    """N × K × H × W: each image's one-hot label broadcast over its pixels."""
    planes = nn.functional.one_hot(labels.long(), num_classes).to(torch.float32)
    return planes[:, :, None, None].expand(-1, -1, height, width)


class UNetModifier(nn.Module):
    """(x, y_t) → delta image in [-1, 1], same shape as x."""

    def __init__(self, channels: int, num_classes: int, width: int):
        super().__init__()
        w, self.num_classes = width, num_classes
        self.down1 = nn.Sequential(nn.Conv2d(channels + num_classes, w, 4, 2, 1), nn.LeakyReLU(0.2, True))
        self.down2 = nn.Sequential(nn.Conv2d(w, 2 * w, 4, 2, 1), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2, True))
        self.middle = nn.Sequential(nn.Conv2d(2 * w, 2 * w, 3, 1, 1), nn.BatchNorm2d(2 * w), nn.ReLU(True))
        self.up2 = nn.Sequential(nn.ConvTranspose2d(4 * w, w, 4, 2, 1), nn.BatchNorm2d(w), nn.ReLU(True))
        self.up1 = nn.Sequential(nn.ConvTranspose2d(2 * w, channels, 4, 2, 1), nn.Tanh())
        init_dcgan_weights(self)

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        h0 = torch.cat([x, one_hot_planes(target, self.num_classes, x.shape[2], x.shape[3]).to(x)], 1)
        h1 = self.down1(h0)
        h2 = self.down2(h1)
        h3 = self.middle(h2)
        return self.up1(torch.cat([self.up2(torch.cat([h3, h2], 1)), h1], 1))


class ConvCritic(nn.Module):
    """Three stride-2 convolutions, then a real/fake logit (when ``adversarial``) and K class logits.

    With ``adversarial`` it is ModNet's critic (the AC-GAN variant reads its class head too); without, the
    separate classifier of the other variant. No batch norm: real and generated batches are scored apart.
    """

    def __init__(self, channels: int, num_classes: int, width: int, adversarial: bool = True):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(channels, w, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(w, 2 * w, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * w, 4 * w, 3, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.AdaptiveAvgPool2d(4),  # 28 px ends at 4×4, 32 px at 4×4, 64 px at 8×8 → pooled to 4×4
            nn.Flatten(),
        )
        self.adversarial = nn.Linear(4 * w * 16, 1) if adversarial else None
        self.classes = nn.Linear(4 * w * 16, num_classes)
        init_dcgan_weights(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
        h = self.body(x)
        return (self.adversarial(h).squeeze(1) if self.adversarial is not None else None), self.classes(h)
