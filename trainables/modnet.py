"""The ``modify`` task: ModNet (paper 004 §2.5), label-conditioned modification of an image by a delta image.

G(x, y_t) = combine(x, δ) with δ = U-Net(x, y_t) ∈ [-1, 1]; ``output_mode`` ``clip`` clamps x + δ to [-1, 1],
``renormalise`` maps each image's x + δ affinely onto [-1, 1] (its minimum to −1, its maximum to 1: §2.5.1's
"renormalize and shift"). The losses are eq. 2.2–2.7:

- adversarial (eq. 2.3/2.4): the logistic critic loss and the non-saturating generator loss, the same functions
  as the ``vanilla``/``dcgan`` objective (trainables.objectives.vanilla);
- classification (eq. 2.5): cross-entropy of a classifier on real images with their labels y and on generated
  images with the target labels y_t. The PDF's extraction of eq. 2.5 is garbled, so this follows the sentence
  after it: the classifier is trained on both terms ("encourage D to classify generated images with the target
  label y_t"), the generator on the second, when ``classify_fakes`` is true. The default, false, drops the fake
  term from the classifier's loss (it learns from real labels only): with it, the classifier learns to read
  whatever pattern G writes, and the independent classifier's target accuracy stayed near 0 (README, ModNet).
- modification penalty (eq. 2.6): λ · mean |G(y_t, x) − x| (a per-pixel mean, so λ does not scale with image size).

``variant`` picks the classifier (§2.5.1, Fig. 2.5): ``critic``: a class head on the critic (AC-GAN, Odena et
al.); ``classifier``: a separate network with its own optimiser; ``frozen``: a separate network pre-trained on
the real labels, then never updated (§2.5.2's interpretability mode: G learns what changes that classifier's
decision). Separate classifiers are pre-trained for ``pretrain_epochs`` epochs before the GAN trains.

Target labels during training are drawn uniformly among the labels other than the image's own. The scored
outputs modify a fixed, seeded set of training images, each towards a fixed target label ≠ its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from trainables.data import Dataset, as_float
from trainables.evaluate import METRICS, Evaluator, ModifyContext, Schedule, resolve_metrics
from trainables.features import build_extractor, feature_path
from trainables.nets.unet import ConvCritic, UNetModifier
from trainables.objectives.vanilla import logistic_critic_loss, logistic_generator_loss
from trainables.run_base import RunBase
from trainables.tasks import get_task
from trainables.train import EpochStats, rng_state, set_rng_state, training_subset

OUTPUT_MODES = ("clip", "renormalise")
VARIANTS = ("critic", "classifier", "frozen")
REFERENCE_MAX = 10_000  # training images the scored inputs and their nearest neighbours come from
PRETRAIN_SEED = 4321  # the separate classifier's pre-training stream (the scoring classifier uses another seed)
PRETRAIN_EPOCHS = 2  # the separate classifier's pre-training, when the config does not set pretrain_epochs


# -- the losses -----------------------------------------------------------------------------------


def apply_delta(x: torch.Tensor, delta: torch.Tensor, mode: str) -> torch.Tensor:
    """x + δ bounded to [-1, 1]: clamped (``clip``) or each image min-max mapped onto [-1, 1] (``renormalise``)."""
    s = x + delta
    if mode == "clip":
        return s.clamp(-1.0, 1.0)
    if mode == "renormalise":
        flat = s.flatten(1)
        low, high = flat.min(1).values, flat.max(1).values
        scale = (high - low).clamp_min(1e-6)  # a constant image maps to −1 instead of dividing by zero
        return ((flat - low[:, None]) / scale[:, None] * 2.0 - 1.0).view_as(s)
    raise ValueError(f"unknown output_mode {mode!r}; valid: {', '.join(OUTPUT_MODES)}")


def classifier_class_loss(
    logits_real: torch.Tensor,
    labels: torch.Tensor,
    logits_fake: torch.Tensor | None,
    targets: torch.Tensor | None,
    classify_fakes: bool,
) -> torch.Tensor:
    """Eq. 2.5 for the classifier: CE(C(x), y) [+ CE(C(G(y_t, x)), y_t) with ``classify_fakes``], batch means."""
    loss = F.cross_entropy(logits_real, labels)
    return loss + F.cross_entropy(logits_fake, targets) if classify_fakes else loss


def generator_class_loss(logits_fake: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Eq. 2.5's generated-image term, which the generator minimises: CE(C(G(y_t, x)), y_t)."""
    return F.cross_entropy(logits_fake, targets)


def other_labels(labels: torch.Tensor, num_classes: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A target label per image, uniform over the labels other than its own."""
    shift = torch.randint(1, num_classes, labels.shape, generator=generator, device=labels.device)
    return (labels + shift) % num_classes


# -- the scored outputs ---------------------------------------------------------------------------


def train_reference(data: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Training images (float, [-1, 1]) and labels, capped at ``REFERENCE_MAX`` by a fixed seeded subset."""
    x, y = data.train_x, data.train_y
    if len(x) > REFERENCE_MAX:
        keep = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:REFERENCE_MAX]
        x, y = x[keep], y[keep]
    return as_float(x), y


def scored_inputs(labels: torch.Tensor, num_classes: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(row in the reference, target label) of n distinct inputs: output i targets label i mod K, from the next
    image of a fixed shuffle whose own label differs, so the grid's columns read target 0, 1, 2, …"""
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(1)).tolist()
    own = labels.tolist()
    rows, targets = [], []
    for i in range(min(n, len(order))):
        target = i % num_classes
        j = next((j for j, r in enumerate(order) if own[r] != target), None)
        if j is None:
            break
        rows.append(order.pop(j))
        targets.append(target)
    return torch.tensor(rows, dtype=torch.long), torch.tensor(targets, dtype=torch.long)


@dataclass
class ModifyOutputs:
    inputs: torch.Tensor  # N × C × H × W in [-1, 1]: the images conditioned on
    labels: torch.Tensor  # their own labels
    targets: torch.Tensor  # the label each was asked to become
    input_index: torch.Tensor  # each input's row in train_reference(data)
    outputs: torch.Tensor  # G(y_t, x) in [-1, 1]

    def __len__(self) -> int:
        return len(self.outputs)


# -- training -------------------------------------------------------------------------------------


class ModNetRun(RunBase):
    """One ModNet training run: an epoch is one pass over the (limited) training set, one G step per critic step."""

    def __init__(self, config: dict, data: Dataset, device: str | torch.device = "cpu"):
        super().__init__({"pretrain_epochs": PRETRAIN_EPOCHS, **config}, device)  # seeds every stream
        cfg = self.config
        if data.train_y is None or data.info.num_classes < 2:
            raise ValueError(f"modnet conditions on class labels; dataset {data.info.name} has none")
        if cfg["output_mode"] not in OUTPUT_MODES or cfg["variant"] not in VARIANTS:
            raise ValueError(f"output_mode ∈ {OUTPUT_MODES}, variant ∈ {VARIANTS} (got {cfg['output_mode']!r}, "
                             f"{cfg['variant']!r})")  # fmt: skip
        self.data = data
        self.num_classes = k = data.info.num_classes
        self.variant, self.mode = cfg["variant"], cfg["output_mode"]
        channels, width = data.info.shape[0], self.trial.width
        self.generator = UNetModifier(channels, k, width).to(self.device)
        self.critic = ConvCritic(channels, k, width).to(self.device)
        self.classifier = None if self.variant == "critic" else ConvCritic(channels, k, width, False).to(self.device)
        self.opt_g = self.add_optimizer("opt_g", self.generator.parameters(), self.trial.lr_g)
        self.opt_d = self.add_optimizer("opt_d", self.critic.parameters(), self.trial.lr_d)
        self.opt_c = None
        if self.variant == "classifier":
            self.opt_c = self.add_optimizer("opt_c", self.classifier.parameters(), self.trial.lr_d)
        if self.variant == "frozen":
            self.classifier.requires_grad_(False)  # no optimiser either: its weights cannot change
        limit = self.trial.train_limit
        self.train_x = training_subset(data.train_x, limit).to(self.device)
        self.train_y = training_subset(data.train_y, limit).to(self.device)
        self.pretrained = self.classifier is None or int(cfg["pretrain_epochs"]) == 0
        self.epoch = 0

    def pretrain_classifier(self) -> None:
        """Fit the separate classifier to the real labels (Adam 1e-3) on its own seeded RNG stream."""
        net, epochs, bs = self.classifier, int(self.config["pretrain_epochs"]), int(self.config["batch_size"])
        net.requires_grad_(True).train()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        g = torch.Generator().manual_seed(PRETRAIN_SEED)
        for _ in range(epochs):
            perm = torch.randperm(len(self.train_x), generator=g).to(self.device)
            for i in range(0, len(perm), bs):
                idx = perm[i : i + bs]
                loss = F.cross_entropy(net(as_float(self.train_x[idx]))[1], self.train_y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        opt.zero_grad(set_to_none=True)  # no stale gradient left on a network that is frozen from here on
        net.requires_grad_(self.variant != "frozen")
        self.pretrained = True

    def modify(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return apply_delta(x, self.generator(x, targets), self.mode)

    def _class_logits(self, x: torch.Tensor, critic_out: tuple) -> torch.Tensor:
        """What eq. 2.5's classifier says about x: the critic's class head, or the separate classifier."""
        return critic_out[1] if self.classifier is None else self.classifier(x)[1]

    def train_epoch(self) -> EpochStats:
        if not self.pretrained:
            self.pretrain_classifier()
        cfg = self.config
        bs, w_cls, w_l1 = int(cfg["batch_size"]), float(cfg["cls_weight"]), float(cfg["l1_weight"])
        fakes_too = bool(cfg["classify_fakes"])
        self.generator.train()
        self.critic.train()
        if self.variant == "classifier":
            self.classifier.train()
        n = len(self.train_x)
        perm = torch.randperm(n, device=self.device)
        logs: dict[str, list[float]] = {}
        for b in range(max(1, n // bs)):  # the ragged last batch is dropped, as in the generate task
            idx = perm[b * bs : (b + 1) * bs]
            x, y = as_float(self.train_x[idx]), self.train_y[idx]
            t = other_labels(y, self.num_classes)
            with torch.no_grad():
                fake = self.modify(x, t)
            # Critic (and the AC-GAN class head): eq. 2.4 + the classifier's eq. 2.5.
            real_out, fake_out = self.critic(x), self.critic(fake)
            loss_d = logistic_critic_loss(real_out[0], fake_out[0])
            if self.classifier is None:
                loss_d = loss_d + w_cls * classifier_class_loss(real_out[1], y, fake_out[1], t, fakes_too)
            self._step(self.opt_d, loss_d)
            if self.opt_c is not None:  # the separate, trained classifier
                loss_c = classifier_class_loss(self.classifier(x)[1], y, self.classifier(fake)[1], t, fakes_too)
                self._step(self.opt_c, loss_c)
                logs.setdefault("loss_c", []).append(float(loss_c.detach()))
            # Generator: eq. 2.3 + its eq. 2.5 term + λ · eq. 2.6.
            out = self.modify(x, t)
            out_critic = self.critic(out)
            logits = self._class_logits(out, out_critic)
            adv, cls, l1 = (
                logistic_generator_loss(out_critic[0], True),
                generator_class_loss(logits, t),
                (out - x).abs().mean(),
            )
            loss_g = adv + w_cls * cls + w_l1 * l1
            self._step(self.opt_g, loss_g)
            d_real, d_fake = torch.sigmoid(real_out[0]).mean(), torch.sigmoid(fake_out[0]).mean()
            hits = (logits.argmax(1) == t).float().mean()  # against the classifier G trains with, not the scorer
            named = {"loss_d": loss_d, "loss_g": loss_g, "g_class_loss": cls, "g_l1": l1, "d_real": d_real,
                     "d_fake": d_fake, "g_target_acc": hits}  # fmt: skip
            for key, value in named.items():
                logs.setdefault(key, []).append(float(value.detach()))
        self.epoch += 1
        extra = {k: float(np.mean(v)) for k, v in logs.items() if k not in ("loss_d", "loss_g")}
        return EpochStats(float(np.mean(logs["loss_d"])), float(np.mean(logs["loss_g"])), extra)

    @staticmethod
    def _step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    # -- outputs ----------------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, batch: int = 500) -> ModifyOutputs:
        """n fixed training images, each modified towards its fixed target label, in eval mode, on the CPU."""
        ref_x, ref_y = train_reference(self.data)
        rows, targets = scored_inputs(ref_y, self.num_classes, n)
        inputs = ref_x[rows]
        was_training = self.generator.training
        self.generator.eval()
        out = [
            self.modify(inputs[i : i + batch].to(self.device), targets[i : i + batch].to(self.device)).cpu()
            for i in range(0, len(rows), batch)
        ]
        self.generator.train(was_training)
        return ModifyOutputs(inputs, ref_y[rows], targets, rows, torch.cat(out))

    def grid(self, outputs: ModifyOutputs) -> torch.Tensor:
        """Rows of 8: inputs, the change (output − input, halved so that grey is none), outputs; twice. Column j
        of the first three rows targets label j, of the last three label (8 + j) mod K."""
        rows = []
        for start in range(0, min(len(outputs), 16), 8):
            x, o = outputs.inputs[start : start + 8], outputs.outputs[start : start + 8]
            rows += [x, (o - x) / 2, o]
        return torch.cat(rows)

    def finite(self, outputs: ModifyOutputs) -> bool:
        return bool(torch.isfinite(outputs.outputs).all())

    # -- checkpointing ----------------------------------------------------------------------------

    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "generator": self.generator.state_dict(),
            "critic": self.critic.state_dict(),
            "classifier": self.classifier.state_dict() if self.classifier is not None else None,
            "pretrained": self.pretrained,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "opt_c": self.opt_c.state_dict() if self.opt_c is not None else None,
            "rng": rng_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.epoch = int(state["epoch"])
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        if self.classifier is not None:
            self.classifier.load_state_dict(state["classifier"])
        self.pretrained = bool(state["pretrained"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.opt_c is not None:
            self.opt_c.load_state_dict(state["opt_c"])
        set_rng_state(state["rng"])
        self.apply_optimizer_hyperparameters()  # this trial's rates, not the (possibly copied) checkpoint's

    def sampling_state(self) -> dict:
        return {"generator": self.generator.state_dict()}


# -- scoring --------------------------------------------------------------------------------------


class ModifyEvaluator(Evaluator):
    """The selected ``modify`` metrics on a run's ``ModifyOutputs``; IS and DDM score the modified images."""

    def __init__(self, data: Dataset, embedder, metrics=None, *, samples: dict[str, int] | None = None,
                 every: dict[str, int] | None = None):  # fmt: skip
        chosen = metrics or get_task("modify").default_metrics
        super().__init__(data, embedder, chosen, samples=samples, every=every, task="modify")
        self._train_reference: torch.Tensor | None = None

    def train_reference(self) -> torch.Tensor:
        if self._train_reference is None:
            self._train_reference = train_reference(self.data)[0]
        return self._train_reference

    def __call__(self, outputs: ModifyOutputs, epoch: int | None = None, final: bool = False) -> dict[str, float]:
        due = self.due(epoch, final)
        counts = self.schedule.counts(due, len(outputs))
        # The scored classes are the targets; the extractor is the dataset's classifier (evaluator_from_config).
        ctx = ModifyContext(self.data, outputs.outputs, self.extractor, self.reference, self.real_x,
                            Schedule.n_embed(counts), labels=outputs.targets, real_y=self.real_y,
                            inputs=outputs.inputs, input_index=outputs.input_index,
                            train_reference=self.train_reference)  # fmt: skip
        out: dict[str, float] = {}
        for name in due:
            out.update(METRICS[name].fn(ctx, counts[name]))
        return out


def evaluator_from_config(config: dict, data: Dataset, device: str | torch.device = "cpu") -> ModifyEvaluator:
    """Scores with the dataset's own classifier (``classifier:<dataset>``, whatever ``features`` says): target
    accuracy needs the dataset's classes, and it is a network no generator ever trains against."""
    extractor = build_extractor("classifier", data.info.name, data_root=config.get("data_root"), device=device)
    default_n = int(config.get("eval_samples", 1000))
    metrics = config.get("metrics") or get_task("modify").default_metrics
    given = {resolve_metrics([k])[0]: int(v) for k, v in (config.get("metric_samples") or {}).items()}
    samples = {m: given.get(m, default_n) for m in resolve_metrics(metrics)}
    ev = ModifyEvaluator(data, extractor, metrics, samples=samples, every=config.get("metric_every") or {})
    ev.feature_path = feature_path("classifier", data.info.name)
    return ev
