"""CycleGAN's networks (Zhu et al. 2017, after Johnson et al. 2016), as junyanz/pytorch-CycleGAN-and-pix2pix builds
them: a ResNet generator c7s1-k, d2k, d4k, n residual blocks R4k, u2k, uk, c7s1-C + tanh with instance norm and
reflection padding, and a PatchGAN critic (4×4 convolutions, stride 2 then 1, LeakyReLU 0.2, a map of patch
scores). Both are sized to the image: PatchGAN loses a stride-2 layer at ≤ 32 px so its patch grid stays ≥ 3×3
(28 px: 5×5; 64 px and up: the reference's 3 layers).

``SharedTranslators`` is paper 001 §6.1's variant: one encoder (the stem, the two downsamplings and the first
residual blocks) shared by both directions, and one decoder per target domain (the remaining residual blocks and
the upsamplings). Domains with different channel counts (grey ↔ RGB) share the encoder by repeating a grey
image's channel to the encoder's input width.
"""

from __future__ import annotations

import torch
from torch import nn

INIT_GAIN = 0.02  # the reference's init_type normal, init_gain 0.02


def _norm(channels: int) -> nn.Module:
    # The reference's "instance" norm: no affine parameters, no running statistics (eval = train behaviour).
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), _norm(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), _norm(dim),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def encoder(in_channels: int, ngf: int, n_blocks: int) -> nn.Sequential:
    """c7s1-ngf, d2ngf, d4ngf (stride-2 3×3 convolutions), then ``n_blocks`` residual blocks at 4·ngf."""
    layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7), _norm(ngf), nn.ReLU(True)]
    for mult in (1, 2):
        layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1), _norm(ngf * mult * 2), nn.ReLU(True)]
    layers += [ResnetBlock(ngf * 4) for _ in range(n_blocks)]
    return nn.Sequential(*layers)


def decoder(out_channels: int, ngf: int, n_blocks: int) -> nn.Sequential:
    """``n_blocks`` residual blocks at 4·ngf, u2ngf, ungf (stride-2 transposed convolutions), c7s1-C + tanh."""
    layers: list[nn.Module] = [ResnetBlock(ngf * 4) for _ in range(n_blocks)]
    for mult in (4, 2):
        layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1),
                   _norm(ngf * mult // 2), nn.ReLU(True)]  # fmt: skip
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
    return nn.Sequential(*layers)


class ResnetGenerator(nn.Module):
    """The reference's ResnetGenerator: an encoder with all ``n_blocks`` blocks, then the upsampling decoder."""

    def __init__(self, in_channels: int, out_channels: int, ngf: int, n_blocks: int):
        super().__init__()
        self.model = nn.Sequential(*encoder(in_channels, ngf, n_blocks), *decoder(out_channels, ngf, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def patch_layers(size: int) -> int:
    """The reference's n_layers_D is 3 (70×70 patches at 256 px); at ≤ 32 px three would leave a 1×1 grid."""
    return 2 if size <= 32 else 3


class PatchGAN(nn.Module):
    """The reference's NLayerDiscriminator: C64 (no norm) − C128 − C256 (stride 2) − C512 (stride 1) − 1 channel."""

    def __init__(self, in_channels: int, ndf: int, n_layers: int):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2**n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=2, padding=1), _norm(ndf * mult),
                       nn.LeakyReLU(0.2, True)]  # fmt: skip
        prev, mult = mult, min(2**n_layers, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=1, padding=1), _norm(ndf * mult),
                   nn.LeakyReLU(0.2, True), nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]  # fmt: skip
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class Translators(nn.Module):
    """Both directions: ``ab`` translates domain A to B (G), ``ba`` B to A (F)."""

    def ab(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def ba(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def both(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(ab(x), ba(x)): an image through both generators, as the identity loss asks for its own domain's."""
        return self.ab(x), self.ba(x)


class SeparateTranslators(Translators):
    """CycleGAN: two independent ResNet generators."""

    def __init__(self, channels_a: int, channels_b: int, ngf: int, n_blocks: int):
        super().__init__()
        self.g_ab = ResnetGenerator(channels_a, channels_b, ngf, n_blocks)
        self.f_ba = ResnetGenerator(channels_b, channels_a, ngf, n_blocks)

    def ab(self, x: torch.Tensor) -> torch.Tensor:
        return self.g_ab(x)

    def ba(self, x: torch.Tensor) -> torch.Tensor:
        return self.f_ba(x)


class SharedTranslators(Translators):
    """Paper 001 §6.1: one encoder (stem, downsamplings, ``encoder_blocks`` residual blocks) for both directions,
    a decoder per target domain (``decoder_blocks`` residual blocks, upsamplings, output layer)."""

    def __init__(self, channels_a: int, channels_b: int, ngf: int, encoder_blocks: int, decoder_blocks: int):
        super().__init__()
        self.in_channels = max(channels_a, channels_b)
        self.encoder = encoder(self.in_channels, ngf, encoder_blocks)
        self.decoder_b = decoder(channels_b, ngf, decoder_blocks)
        self.decoder_a = decoder(channels_a, ngf, decoder_blocks)

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.in_channels:  # a grey domain beside an RGB one: the same grey in every channel
            x = x.expand(-1, self.in_channels, -1, -1)
        return self.encoder(x)

    def ab(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder_b(self._encode(x))

    def ba(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder_a(self._encode(x))

    def both(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self._encode(x)  # encoded once for both decoders: where sharing saves compute, not only parameters
        return self.decoder_b(z), self.decoder_a(z)


class Critics(nn.Module):
    """D_B judges images of domain B (real B vs G(a)), D_A those of domain A (real A vs F(b))."""

    def __init__(self, channels_a: int, channels_b: int, ndf: int, size: int):
        super().__init__()
        self.d_a = PatchGAN(channels_a, ndf, patch_layers(size))
        self.d_b = PatchGAN(channels_b, ndf, patch_layers(size))


def init_weights(module: nn.Module) -> nn.Module:
    """N(0, 0.02) convolution weights, zero biases: the reference's init_weights(init_type='normal')."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(m.weight, 0.0, INIT_GAIN)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def build_translators(
    shape_a: tuple[int, ...], shape_b: tuple[int, ...], ngf: int, *, shared: bool, n_blocks: int = 6,
    encoder_blocks: int = 3, decoder_blocks: int = 3,
) -> tuple[Translators, Critics]:  # fmt: skip
    ca, cb = shape_a[0], shape_b[0]
    if shared:
        translators: Translators = SharedTranslators(ca, cb, ngf, encoder_blocks, decoder_blocks)
    else:
        translators = SeparateTranslators(ca, cb, ngf, n_blocks)
    critics = Critics(ca, cb, ngf, min(shape_a[-1], shape_b[-1]))
    return init_weights(translators), init_weights(critics)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
