"""One GAN training run, independent of Ray: build from a config, train an epoch, sample, checkpoint.

The loop follows paper 000's Algorithm 1 and is shared by every method: ``n_critic`` critic steps
(each on a fresh real minibatch), then one generator step (``g_steps``: two for paper 003's RFGAN
protocol) that also updates the latent prior's parameters (at their own learning rate η′) and adds
the prior's regulariser to the G loss.
One epoch = one pass of the critic over the training set, as in the Fisher GAN reference code. With ``augment``
(``trainables.augmentation``) every batch the objective sees, real and generated, is augmented first; sampling
is not.
"""

from __future__ import annotations

import copy
import math
import random
from dataclasses import dataclass, replace

import numpy as np
import torch

from trainables.augmentation import RealScores, build_augmentation
from trainables.conditioning import balanced_labels, grid_by_class, random_labels, trial_condition
from trainables.data import Dataset, as_float
from trainables.latents import build_prior
from trainables.nets import NetOptions, build_networks
from trainables.objectives.base import Batch
from trainables.protocols import resolve_g_steps
from trainables.registry import get_method
from trainables.run_base import RunBase
from trainables.trial_config import resolve


def rng_state() -> dict:
    """All RNG states as tensors and plain Python values, so ``torch.load(weights_only=True)`` reads them."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss)],
        "python": random.getstate(),
        # Per-GPU generator states (an empty list on CPU): a GPU trial resumes with the same random stream.
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(tuple(state["python"]) if not isinstance(state["python"], tuple) else state["python"])
    if state.get("cuda") and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def net_options(config: dict, num_classes: int = 0) -> NetOptions:
    """The networks a trial config asks for: its method's fixed options, its z and width, the ring nets' style
    (``mlp_style: metz``, the unrolled-GAN reference's point nets, offered for any method) and its class
    conditioning over ``num_classes`` labels (none when the trial is unconditional)."""
    cfg = resolve(config).values
    style = {"mlp_style": cfg["mlp_style"]} if cfg.get("mlp_style") else {}
    fixed = get_method(cfg["method"], cfg.get("method_path")).net_options
    condition = trial_condition(cfg)
    labels = {"condition": condition, "num_classes": int(num_classes)} if condition else {}
    return NetOptions(z_dim=int(cfg["z_dim"]), width=int(cfg["width"]), **{**fixed, **style, **labels})


def training_subset(x: torch.Tensor, limit: int | None) -> torch.Tensor:
    """At most ``limit`` samples, evenly spaced (stored sets can be sorted by class), for tiny smoke searches."""
    if not limit or limit >= len(x):
        return x
    return x[torch.linspace(0, len(x) - 1, int(limit)).long()]


@dataclass
class EpochStats:
    loss_d: float
    loss_g: float
    extra: dict

    def as_dict(self) -> dict:
        return {"loss_d": self.loss_d, "loss_g": self.loss_g, **self.extra}


class GANRun(RunBase):
    """Generation: z → sample, or (z, y) → sample of class y when the run is class-conditional (``generate``)."""

    def __init__(self, config: dict, data: Dataset, device: str | torch.device = "cpu"):
        super().__init__(config, device)  # resolves the config, seeds every stream
        cfg, trial = self.config, self.trial
        self.method = get_method(cfg["method"], cfg.get("method_path"))
        self.data = data
        self.condition = trial_condition(cfg)
        self.num_classes = data.info.num_classes if self.condition else 0
        if self.condition and (data.train_y is None or self.num_classes < 2):
            raise ValueError(f"--condition {self.condition} trains on class labels; dataset {data.info.name} has none")

        opts = net_options(cfg, self.num_classes)
        g, d = build_networks(data.info, opts, data)  # data: representative features pre-train on it
        # Image nets run channels-last (NHWC): oneDNN (CPU) and cuDNN tensor cores convolve NHWC without
        # reordering every activation (a bare 28 px step: 9 % faster on CPU). Values are the same; only strides change.
        self.memory_format = torch.channels_last if data.info.kind == "image" else torch.contiguous_format
        self.generator = g.to(self.device, memory_format=self.memory_format)
        self.critic = d.to(self.device, memory_format=self.memory_format)
        self.prior = build_prior(self.method.latent, opts.z_dim, cfg).to(self.device)
        self.objective = self.method.make_objective(cfg)

        kind = self.method.optimizer
        self.opt_g = self.add_optimizer("opt_g", self.generator.parameters(), trial.lr_g, kind)
        self.opt_d = self.add_optimizer("opt_d", self.critic.parameters(), trial.lr_d, kind)
        self.objective.bind(self.critic, self.opt_d)
        prior_params = list(self.prior.parameters())
        self.opt_prior = self.add_optimizer("opt_prior", prior_params, trial.lr_latent, kind) if prior_params else None
        self.train_x = training_subset(data.train_x, trial.train_limit).to(self.device)
        self.train_y = training_subset(data.train_y, trial.train_limit).to(self.device) if self.condition else None
        self.amp = trial.amp
        self.g_steps = resolve_g_steps(cfg)
        self.ema = GeneratorEMA(self.generator, self.prior, trial.ema)
        self.augmentation = build_augmentation(cfg, data.info.kind)  # training only: sampling never sees it

    # -- training ---------------------------------------------------------------------------------

    def autocast(self) -> torch.autocast:
        """Mixed precision (``--amp``): bfloat16 autocast of the forward passes and losses. bf16 keeps fp32's
        exponent range, so no loss scaler is needed; backward and optimiser steps stay outside, in fp32."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)

    def _fake(self, n: int, labels: torch.Tensor | None) -> torch.Tensor:
        z = self.prior.sample(n)
        return self.generator(z) if labels is None else self.generator(z, labels)

    def _fake_labels(self, n: int) -> torch.Tensor | None:
        """Uniform labels for a batch of fakes; None (and no random draw) when the run is unconditional."""
        return random_labels(n, self.num_classes, self.device) if self.condition else None

    def _augmented(self, batch: Batch) -> Batch:
        """What the objective sees: both halves augmented (``augment``), in the nets' memory format."""
        if not self.augmentation.enabled:
            return batch
        batch = self.augmentation.batch(batch)
        real, fake = (x.contiguous(memory_format=self.memory_format) for x in (batch.real, batch.fake))
        return replace(batch, real=real, fake=fake)

    def train_epoch(self) -> EpochStats:
        self.generator.train()
        self.critic.train()
        bs = self.trial.batch_size
        n = self.train_x.shape[0]
        perm = torch.randperm(n, device=self.device)
        n_batches = n // bs  # drop the ragged last batch: batch-norm statistics stay comparable
        d_losses, g_losses, logs = [], [], {}
        critic_steps = 0
        for b in range(n_batches):
            real = as_float(self.train_x[perm[b * bs : (b + 1) * bs]])  # real sets are stored as uint8
            real = real.contiguous(memory_format=self.memory_format)
            labels = self.train_y[perm[b * bs : (b + 1) * bs]] if self.condition else None
            fake_labels = self._fake_labels(bs)
            with torch.no_grad(), self.autocast():
                fake = self._fake(bs, fake_labels)
            with self.autocast():
                batch = self._augmented(Batch(real, fake, labels, fake_labels))
                with RealScores(self.critic, batch.real, batch.labels, on=self.augmentation.adaptive) as seen:
                    loss_d, info = self.objective.critic_loss(self.critic, batch)
                if self.augmentation.adaptive:  # ADA's r_t reads D(x_real) of this step, before the critic moves
                    self.augmentation.observe(seen.result())
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
            self.objective.after_critic_step(self.critic)
            d_losses.append(float(loss_d.detach()))
            for k, v in info.items():
                logs.setdefault(k, []).append(v)
            critic_steps += 1
            if critic_steps % self.objective.n_critic == 0:
                g_losses += [self._generator_step(real, labels, bs) for _ in range(self.g_steps)]
        if not g_losses:  # tiny datasets: always take at least one generator step per epoch
            g_losses.append(self._generator_step(real, labels, bs))
        self.epoch += 1
        extra = {k: float(np.mean(v)) for k, v in logs.items()}
        extra.update(self.objective.state_dict())
        extra.update(self.prior.stats())
        extra.update(self.augmentation.stats())
        return EpochStats(float(np.mean(d_losses)), float(np.mean(g_losses)), extra)

    def _generator_step(self, real: torch.Tensor, labels: torch.Tensor | None, bs: int) -> float:
        self.opt_g.zero_grad(set_to_none=True)
        if self.opt_prior is not None:
            self.opt_prior.zero_grad(set_to_none=True)
        fake_labels = self._fake_labels(bs)
        with self.autocast():
            batch = self._augmented(Batch(real, self._fake(bs, fake_labels), labels, fake_labels))
            loss_g, _ = self.objective.generator_loss(self.critic, batch)
            loss = loss_g + self.prior.regulariser().to(loss_g.device)
        loss.backward()
        self.opt_g.step()
        if self.opt_prior is not None:
            self.opt_prior.step()
        self.ema.update(self.generator, self.prior)
        return float(loss.detach())

    # -- sampling ---------------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, batch: int = 500) -> torch.Tensor:
        """n samples in eval mode (batch-norm running statistics), on the CPU, from the EMA generator when
        ``ema`` is on (what is scored, checkpointed for sampling and logged is then the averaged generator).
        A conditional run generates sample i for label i mod K (``sample_labels``)."""
        generator, prior = self.ema.models() if self.ema.enabled else (self.generator, self.prior)
        labels = self.sample_labels(n)
        was_training = generator.training
        generator.eval()
        out = []
        for i in range(0, n, batch):
            z = prior.sample(min(batch, n - i))
            y = None if labels is None else labels[i : i + len(z)].to(z.device)
            out.append((generator(z) if y is None else generator(z, y)).cpu())
        generator.train(was_training)
        return torch.cat(out)

    def sample_labels(self, n: int) -> torch.Tensor | None:
        """The labels ``sample(n)`` generates for (class-balanced), None when the run is unconditional."""
        return balanced_labels(n, self.num_classes) if self.condition else None

    def grid(self, outputs: torch.Tensor) -> torch.Tensor:
        """The first 64 samples, 8 per row; a conditional run's: one row per class."""
        if self.condition and outputs.ndim == 4:
            return grid_by_class(outputs, self.num_classes)
        return outputs[:64]

    def finite(self, outputs: torch.Tensor) -> bool:
        return bool(torch.isfinite(outputs).all())

    # -- checkpointing ----------------------------------------------------------------------------

    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "generator": self.generator.state_dict(),
            "critic": self.critic.state_dict(),
            "prior": self.prior.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "opt_prior": self.opt_prior.state_dict() if self.opt_prior else None,
            "objective": self.objective.state_dict(),
            "rng": rng_state(),
            "ema": self.ema.state_dict(),
            "augmentation": self.augmentation.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.epoch = int(state["epoch"])
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.prior.load_state_dict(state["prior"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.opt_prior is not None and state["opt_prior"] is not None:
            self.opt_prior.load_state_dict(state["opt_prior"])
        self.objective.load_state_dict(state["objective"])
        self.ema.load_state_dict(state.get("ema"))
        self.augmentation.load_state_dict(state.get("augmentation"))
        set_rng_state(state["rng"])
        self.apply_optimizer_hyperparameters()  # this trial's rates, not the (possibly copied) checkpoint's

    def sampling_state(self) -> dict:
        """The weights that make the scored samples: the EMA copies when ``ema`` is on, else the live ones."""
        generator, prior = self.ema.models() if self.ema.enabled else (self.generator, self.prior)
        return {"generator": generator.state_dict(), "prior": prior.state_dict()}


class GeneratorEMA:
    """Exponential moving average of the generator's (and a learnable latent prior's) weights, as ProGAN,
    BigGAN and StyleGAN evaluate: θ_ema ← d·θ_ema + (1 − d)·θ after every generator step.

    With d = 0.999 and a CPU budget of a few hundred generator steps, a plain average would still be mostly
    the random initial weights, so the decay warms up as TensorFlow's ``ExponentialMovingAverage`` does with
    ``num_updates``: d_t = min(d, (1 + t) / (10 + t)). Buffers (batch-norm running statistics) are copied
    from the live generator, as StyleGAN does. ``decay`` 0 turns it off and costs nothing.
    """

    def __init__(self, generator: torch.nn.Module, prior: torch.nn.Module, decay: float):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1) (got {decay}); 0 turns it off")
        self.decay, self.updates = decay, 0
        self.enabled = decay > 0
        self.generator = copy.deepcopy(generator).requires_grad_(False) if self.enabled else None
        self.prior = copy.deepcopy(prior).requires_grad_(False) if self.enabled else None

    def models(self) -> tuple[torch.nn.Module, torch.nn.Module]:
        return self.generator, self.prior

    @torch.no_grad()
    def update(self, generator: torch.nn.Module, prior: torch.nn.Module) -> None:
        if not self.enabled:
            return
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for ema_module, live in ((self.generator, generator), (self.prior, prior)):
            ema_params = [p for p in ema_module.parameters()]
            if ema_params:
                torch._foreach_lerp_(ema_params, [p.detach() for p in live.parameters()], 1.0 - d)
            for b_ema, b in zip(ema_module.buffers(), live.buffers(), strict=True):
                b_ema.copy_(b)

    def state_dict(self) -> dict | None:
        if not self.enabled:
            return None
        return {"generator": self.generator.state_dict(), "prior": self.prior.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict | None) -> None:
        if not self.enabled:
            return
        if state is None:
            raise ValueError("checkpoint has no EMA weights but this run averages the generator (ema > 0)")
        self.generator.load_state_dict(state["generator"])
        self.prior.load_state_dict(state["prior"])
        self.updates = int(state["updates"])


def is_finite(stats: EpochStats) -> bool:
    return all(math.isfinite(v) for v in (stats.loss_d, stats.loss_g))
