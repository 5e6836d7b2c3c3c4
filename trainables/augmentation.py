"""Limited-data augmentation of what the critic sees in training (``augment``: none, diffaug or ada).

- ``diffaug``: DiffAugment (Zhao et al. 2020; mit-han-lab/data-efficient-gans, ``DiffAugment_pytorch.py``), policy
  ``color,translation,cutout``: per sample, brightness + U[-0.5, 0.5), saturation × U[0, 2), contrast × U[0.5, 1.5)
  (about the image mean), an integer translation of up to 1/8 of each side with zero padding, and a zeroed square of
  half the side centred anywhere in the image (clipped at its border, as the reference's clamped indices do).
- ``ada``: adaptive discriminator augmentation (Karras et al. 2020; NVlabs/stylegan2-ada-pytorch). Each of the ops
  above is applied to each sample independently with probability p, and p follows the overfitting heuristic
  r_t = E[sign D(x_real)]: every ``ADA_INTERVAL`` critic steps, p += sign(r_t − target) · images / (kimg · 1000),
  clipped to [0, 1]. This is a reduced ADA pipeline: DiffAugment's five differentiable ops, not the reference's
  18 (no flips, 90° rotations, scaling, arbitrary rotation, anisotropy, fractional translation, luma flip, hue,
  image-space filtering, noise).

Images are in [-1, 1], as in the reference, so its constants carry over; padding and cutout write 0, mid-grey.
Every op is differentiable in its input, so G's gradient flows through the augmented fakes. The training step
(``trainables.train.GANRun``) augments both halves of a ``Batch`` before the objective sees it, so every critic
call of every objective (scores, gradient penalties, Fisher's constraint, class heads) sees augmented inputs, and
sampling and evaluation never do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from trainables.objectives.base import Batch

AUGMENTS = ("none", "diffaug", "ada")
TRANSLATION_RATIO = 0.125  # DiffAugment's rand_translation
CUTOUT_RATIO = 0.5  # DiffAugment's rand_cutout
ADA_TARGET = 0.6  # the reference's target for r_t
ADA_INTERVAL = 4  # critic steps between adjustments of p, as the reference's 4 minibatches
# The reference moves p by 1 per 500k real images (ada_kimg = 500) over runs of ~25M; our searches show a few
# thousand images per epoch (mnist5k: 4,000) for a handful of epochs, so p moves by 1 per 8,000 images here:
# 0 → 1 in two mnist5k epochs. A trial config may set ``ada_kimg`` and ``ada_target`` itself.
ADA_KIMG = 8.0

Draw = Callable[[int, torch.device], torch.Tensor]  # n uniform draws in [0, 1), one per sample


def uniform(n: int, device: torch.device) -> torch.Tensor:
    return torch.rand(n, device=device)


def _per_sample(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return v.to(x.dtype).view(-1, 1, 1, 1)


def brightness(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    return x + _per_sample(shift, x)


def saturation(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    # Scales each pixel's distance to its mean over channels; with one channel (MNIST) that distance is 0: identity.
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * _per_sample(factor, x) + mean


def contrast(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _per_sample(factor, x) + mean


def translate(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Moves sample i's content down by dy[i] and right by dx[i] whole pixels; what comes in is 0 (zero padding)."""
    n, c, h, w = x.shape
    rows = torch.arange(h, device=x.device) - dy.view(n, 1)  # the source row of every output row
    cols = torch.arange(w, device=x.device) - dx.view(n, 1)
    inside = ((rows >= 0) & (rows < h))[:, None, :, None] & ((cols >= 0) & (cols < w))[:, None, None, :]
    x = x.gather(2, rows.clamp(0, h - 1)[:, None, :, None].expand(n, c, h, w))
    x = x.gather(3, cols.clamp(0, w - 1)[:, None, None, :].expand(n, c, h, w))
    return x * inside.to(x.dtype)


def cutout(x: torch.Tensor, cy: torch.Tensor, cx: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Zeroes the size[0] × size[1] rectangle whose centre is (cy[i], cx[i]) (top-left at centre − size // 2, as the
    reference), clipped to the image: a full quarter of the pixels when it lies inside, less at the border."""
    n, _, h, w = x.shape
    top, left = (cy - size[0] // 2).view(n, 1), (cx - size[1] // 2).view(n, 1)
    rows, cols = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
    in_rows, in_cols = (rows >= top) & (rows < top + size[0]), (cols >= left) & (cols < left + size[1])
    hole = in_rows[:, None, :, None] & in_cols[:, None, None, :]
    return x * (~hole).to(x.dtype)


OPS = {"brightness": brightness, "saturation": saturation, "contrast": contrast, "translate": translate,
       "cutout": cutout}  # fmt: skip


class Augmentation:
    """The critic's input augmentation of one run, and ADA's p with the statistics that move it (checkpointed).

    ``draw`` gives the per-sample uniform draws and ``pool`` sums ADA's sign statistics: the data-parallel
    trainable replaces both so every rank draws its slice of the global batch's parameters and all ranks share p.
    """

    def __init__(self, kind: str = "none", *, target: float = ADA_TARGET, kimg: float = ADA_KIMG,
                 interval: int = ADA_INTERVAL, draw: Draw = uniform):  # fmt: skip
        if kind not in AUGMENTS:
            raise ValueError(f"augment must be one of {', '.join(AUGMENTS)} (got {kind!r})")
        if not 0.0 <= target <= 1.0 or kimg <= 0 or interval < 1:
            raise ValueError(f"ADA needs a target in [0, 1], kimg > 0, interval ≥ 1 (got {target}, {kimg}, {interval})")
        self.kind, self.target, self.kimg, self.interval = kind, float(target), float(kimg), int(interval)
        self.draw = draw
        self.pool: Callable[[float, int], tuple[float, int]] = lambda signs, count: (signs, count)
        self.p = 0.0 if self.adaptive else 1.0  # ADA starts unaugmented (the reference's augment_p = 0)
        self.r_t: float | None = None  # the last measured heuristic
        self._signs, self._count, self._steps = 0.0, 0, 0

    @property
    def enabled(self) -> bool:
        return self.kind != "none"

    @property
    def adaptive(self) -> bool:
        return self.kind == "ada"

    # -- the augmentation ---------------------------------------------------------------------------------------

    def _ints(self, n: int, k: int, device: torch.device) -> torch.Tensor:
        """n integers uniform in [0, k) (clamped: u · k can round up to k in float32)."""
        return (self.draw(n, device) * k).long().clamp_max(k - 1)

    def draw_params(self, x: torch.Tensor) -> dict[str, tuple]:
        """Per-sample parameters of every op, in the order applied, with ADA's per-op, per-sample mask last
        (``None``: every sample; diffaug)."""
        n, c, h, w = x.shape
        dev = x.device

        def keep() -> torch.Tensor | None:
            return self.draw(n, dev) < self.p if self.adaptive else None

        params: dict[str, tuple] = {"brightness": (self.draw(n, dev) - 0.5, keep())}
        if c > 1:  # saturation is the identity on one channel: skipped
            params["saturation"] = (self.draw(n, dev) * 2, keep())
        params["contrast"] = (self.draw(n, dev) + 0.5, keep())
        sh, sw = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
        params["translate"] = (self._ints(n, 2 * sh + 1, dev) - sh, self._ints(n, 2 * sw + 1, dev) - sw, keep())
        size = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
        # Centres in [0, h + 1 − size % 2), the reference's offsets: an even square may stick out by half its side.
        cy, cx = self._ints(n, h + 1 - size[0] % 2, dev), self._ints(n, w + 1 - size[1] % 2, dev)
        params["cutout"] = (cy, cx, size, keep())
        return params

    @staticmethod
    def apply(x: torch.Tensor, params: dict[str, tuple]) -> torch.Tensor:
        for name, (*args, keep) in params.items():
            y = OPS[name](x, *args)
            x = y if keep is None else torch.where(keep.view(-1, 1, 1, 1), y, x)
        return x

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` augmented: every op on every sample (diffaug), each op on each sample with probability p (ada)."""
        if not self.enabled or self.p == 0.0:  # off, or ADA at p = 0: the identity, and no random draws
            return x
        return self.apply(x, self.draw_params(x))

    def batch(self, batch: Batch) -> Batch:
        """Real and generated halves augmented alike (fresh draws for each); the fakes keep G's graph."""
        if not self.enabled:
            return batch
        return replace(batch, real=self(batch.real), fake=self(batch.fake))

    # -- ADA's controller -----------------------------------------------------------------------------------------

    def observe(self, real_scores: torch.Tensor) -> None:
        """One critic step's raw scores on its (augmented) real batch; every ``interval`` steps p moves."""
        if not self.adaptive:
            return
        self._signs += float(torch.sign(real_scores.detach().float()).sum())
        self._count += real_scores.numel()
        self._steps += 1
        if self._steps % self.interval == 0:
            signs, count = self.pool(self._signs, self._count)
            self._signs, self._count = 0.0, 0
            if count:
                self.r_t = signs / count
                step = float(np.sign(self.r_t - self.target)) * count / (self.kimg * 1000)
                # The reference clips at 0 only; p is a probability, so here at 1 too.
                self.p = min(max(self.p + step, 0.0), 1.0)

    def stats(self) -> dict[str, float]:
        """Epoch metrics: ADA's p, and the last r_t once one was measured."""
        if not self.adaptive:
            return {}
        return {"ada_p": self.p, **({"ada_rt": self.r_t} if self.r_t is not None else {})}

    def state_dict(self) -> dict | None:
        if not self.adaptive:
            return None
        return {"p": self.p, "r_t": self.r_t, "signs": self._signs, "count": self._count, "steps": self._steps}

    def load_state_dict(self, state: dict | None) -> None:
        """A checkpoint without ADA state (a plain run's, e.g. a PBT donor's) leaves p where it starts."""
        if not self.adaptive or state is None:
            return
        self.p, self.r_t = float(state["p"]), None if state["r_t"] is None else float(state["r_t"])
        self._signs, self._count, self._steps = float(state["signs"]), int(state["count"]), int(state["steps"])


class RealScores:
    """The critic's raw scores on the real batch, for ADA's r_t, read by a forward hook from the objective's own
    ``critic(batch.real, …)`` call: no extra forward pass. An objective that never calls the critic's forward on
    the real batch (SAN reads ``features`` and ``head`` itself) costs one extra no-grad forward pass, run on copies
    of the critic's buffers so batch-norm and spectral-norm statistics are not touched."""

    def __init__(self, critic: nn.Module, real: torch.Tensor, labels: torch.Tensor | None, on: bool = True):
        self.critic, self.real, self.labels, self.on = critic, real, labels, on
        self.scores: torch.Tensor | None = None
        self._handle = None

    def _hook(self, module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        if self.scores is None and args and args[0] is self.real:
            self.scores = output.detach()

    def __enter__(self) -> RealScores:
        if self.on:
            self._handle = self.critic.register_forward_hook(self._hook)
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.remove()

    def result(self) -> torch.Tensor:
        if self.scores is None:
            buffers = {name: b.clone() for name, b in self.critic.named_buffers()}
            inputs = (self.real,) if self.labels is None else (self.real, self.labels)
            with torch.no_grad():
                self.scores = functional_call(self.critic, buffers, inputs)
        return self.scores


def build_augmentation(config: dict, data_kind: str) -> Augmentation:
    """A run's augmentation from its resolved config values (``augment`` and the optional ADA overrides)."""
    kind = str(config.get("augment") or "none")
    if kind != "none" and data_kind != "image":
        raise ValueError(f"augment {kind} augments images; dataset {config.get('dataset')} holds {data_kind} data")
    return Augmentation(
        kind, target=float(config.get("ada_target", ADA_TARGET)), kimg=float(config.get("ada_kimg", ADA_KIMG))
    )
