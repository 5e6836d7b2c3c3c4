"""The ``translate`` task: unpaired image-to-image translation between the two domains of a ``pair`` dataset
(CycleGAN, Zhu et al. 2017; paper 001 §6, and its shared-encoder variant, §6.1).

One training step is the reference's (junyanz/pytorch-CycleGAN-and-pix2pix ``CycleGANModel.optimize_parameters``):
G: A→B and F: B→A take one Adam step on adversarial + cycle + identity losses with the critics frozen, then
D_A and D_B one step on real images vs. generated ones drawn through the history pools. One epoch is
max(|A|, |B|) / batch steps, as the reference's unaligned dataset; each domain is reshuffled whenever used up.

Scoring (``TranslateEvaluator``): the first n images of each domain's held-out test split (evenly spaced, so
every class is present) are translated and translated back. Per direction, A→B keys are plain and B→A keys end
in ``_ba`` (``trainables.evaluate.BA``): cycle_l1 compares the round trip with its source, translation_accuracy
asks the target domain's classifier for the source image's label, and the image metrics (IS, DDM, FID, …) embed
the translations with the target domain's features and compare them with the target's held-out test split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from trainables.data import Dataset, as_float
from trainables.evaluate import METRICS, EvalContext, Schedule, ba_key, check_metrics, default_metrics, task_keys
from trainables.features import Embeddings, FeatureExtractor, default_feature_kind, feature_path
from trainables.nets.cyclegan import build_translators
from trainables.objectives.base import Batch
from trainables.objectives.cyclegan import ImagePool
from trainables.pair_data import PairDataset, pair_at
from trainables.registry import get_method
from trainables.run_base import RunBase
from trainables.tasks import TaskEvaluator
from trainables.train import EpochStats, rng_state, set_rng_state, training_subset

REFERENCE_MAX = 10_000
GRID_COLUMNS = 8


def _pair(config: dict, data: Dataset) -> PairDataset:
    if not isinstance(data, PairDataset):
        raise ValueError(
            f"the translate task needs a two-domain dataset (kind pair); {data.info.name} is {data.info.kind}"
        )
    return pair_at(data, config.get("image_size"), config.get("data_root"))  # type: ignore[return-value]


def _order(n: int, total: int, device: torch.device) -> torch.Tensor:
    """``total`` indices into n samples: concatenated random permutations (a domain reshuffled when used up)."""
    reps = -(-total // n)
    return torch.cat([torch.randperm(n, device=device) for _ in range(reps)])[:total]


@dataclass
class Direction:
    source: torch.Tensor  # test images of the source domain
    labels: torch.Tensor | None
    translated: torch.Tensor  # in the target domain
    reconstructed: torch.Tensor  # translated back


@dataclass
class Translations:
    ab: Direction
    ba: Direction


class CycleGANRun(RunBase):
    def __init__(self, config: dict, data: Dataset, device: str | torch.device = "cpu"):
        super().__init__(config, device)  # resolves the config (the method's defaults included), seeds every stream
        cfg = values = self.config
        self.method = get_method(cfg["method"], cfg.get("method_path"))
        self.data = _pair(cfg, data)
        seed = self.trial.seed
        a, b = self.data.a, self.data.b
        shared = bool(self.method.net_options.get("shared_encoder"))
        self.generator, self.critics = build_translators(
            a.info.shape, b.info.shape, int(cfg["width"]), shared=shared, n_blocks=int(values.get("n_blocks", 6)),
            encoder_blocks=int(values.get("encoder_blocks", 3)), decoder_blocks=int(values.get("decoder_blocks", 3)),
        )  # fmt: skip
        self.generator.to(self.device)
        self.critics.to(self.device)
        self.objective = self.method.make_objective(cfg)
        self.opt_g = self.add_optimizer("opt_g", self.generator.parameters(), self.trial.lr_g)
        self.opt_d = self.add_optimizer("opt_d", self.critics.parameters(), self.trial.lr_d)
        pool = int(values.get("pool_size", 50))
        self.pool_a, self.pool_b = ImagePool(pool, seed), ImagePool(pool, seed + 1)
        limit = self.trial.train_limit
        self.train_a = training_subset(a.train_x, limit).to(self.device)
        self.train_b = training_subset(b.train_x, limit).to(self.device)
        # The reference asserts equal channels when λ_id > 0; grey ↔ RGB pairs train without the identity term.
        self.identity = self.objective.lambda_id > 0 and a.info.shape == b.info.shape
        self.epoch = 0

    # -- training ---------------------------------------------------------------------------------

    def train_epoch(self) -> EpochStats:
        self.generator.train()
        self.critics.train()
        bs = int(self.config["batch_size"])
        na, nb = len(self.train_a), len(self.train_b)
        steps = max(1, max(na, nb) // bs)
        ia, ib = _order(na, steps * bs, self.device), _order(nb, steps * bs, self.device)
        logs: dict[str, list[float]] = {}
        for s in range(steps):
            a = as_float(self.train_a[ia[s * bs : (s + 1) * bs]])
            b = as_float(self.train_b[ib[s * bs : (s + 1) * bs]])
            for k, v in self._step(a, b).items():
                logs.setdefault(k, []).append(v)
        self.epoch += 1
        means = {k: float(np.mean(v)) for k, v in logs.items()}
        return EpochStats(means.pop("loss_d"), means.pop("loss_g"), means)

    def _step(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, float]:
        obj, g, d = self.objective, self.generator, self.critics
        if self.identity:  # G(b) and F(a) too: with a shared encoder each image is encoded once for both
            (fake_b, f_a), (g_b, fake_a) = g.both(a), g.both(b)
        else:
            fake_b, fake_a = g.ab(a), g.ba(b)
        rec_a, rec_b = g.ba(fake_b), g.ab(fake_a)
        d.requires_grad_(False)  # the generators' step must not accumulate critic gradients
        gan, _ = obj.generator_loss(d.d_b, Batch(b, fake_b))
        gan_ba, _ = obj.generator_loss(d.d_a, Batch(a, fake_a))
        cycle = obj.cycle_loss(a, rec_a, b, rec_b)
        identity = obj.identity_loss(a, f_a, b, g_b) if self.identity else torch.zeros((), device=a.device)
        loss_g = gan + gan_ba + cycle + identity
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        d.requires_grad_(True)
        loss_d_b, info_b = obj.critic_loss(d.d_b, Batch(b, self.pool_b.query(fake_b.detach())))
        loss_d_a, _ = obj.critic_loss(d.d_a, Batch(a, self.pool_a.query(fake_a.detach())))
        self.opt_d.zero_grad(set_to_none=True)
        (loss_d_a + loss_d_b).backward()
        self.opt_d.step()
        losses = {"loss_d": loss_d_a + loss_d_b, "loss_g": loss_g, "loss_gan": gan + gan_ba, "loss_cycle": cycle,
                  "loss_identity": identity}  # fmt: skip
        return {
            **{k: float(v.detach()) for k, v in losses.items()},
            "f_real": info_b["f_real"],
            "f_fake": info_b["f_fake"],
        }

    # -- outputs ----------------------------------------------------------------------------------

    @torch.no_grad()
    def translate(self, x: torch.Tensor, direction: str, batch: int = 250) -> tuple[torch.Tensor, torch.Tensor]:
        """(translations, round trips) of images of the source domain of ``direction`` ("ab" or "ba"), eval mode."""
        there, back = (
            (self.generator.ab, self.generator.ba) if direction == "ab" else (self.generator.ba, self.generator.ab)
        )
        was_training = self.generator.training
        self.generator.eval()
        out, rec = [], []
        for i in range(0, len(x), batch):
            t = there(as_float(x[i : i + batch]).to(self.device))
            out.append(t.cpu())
            rec.append(back(t).cpu())
        self.generator.train(was_training)
        return torch.cat(out), torch.cat(rec)

    def sample(self, n: int) -> Translations:
        """Translations of (up to) n held-out test images per direction, evenly spaced through each test split."""

        def direction(source: Dataset, which: str) -> Direction:
            picks = training_subset(torch.arange(len(source.test_x)), n)
            x = as_float(source.test_x[picks])
            labels = source.test_y[picks] if source.test_y is not None else None
            return Direction(x, labels, *self.translate(x, which))

        return Translations(direction(self.data.a, "ab"), direction(self.data.b, "ba"))

    def grid(self, outputs: Translations) -> torch.Tensor:
        """Rows of 8: A inputs | their B translations | their reconstructions, then the same for B → A."""
        rows = []
        for d in (outputs.ab, outputs.ba):
            picks = training_subset(torch.arange(len(d.source)), GRID_COLUMNS)  # spread out: test sets can be sorted
            rows += [d.source[picks], d.translated[picks], d.reconstructed[picks]]
        channels = max(r.shape[1] for r in rows)
        return torch.cat([r.expand(-1, channels, -1, -1) for r in rows])

    def finite(self, outputs: Translations) -> bool:
        parts = (outputs.ab.translated, outputs.ab.reconstructed, outputs.ba.translated, outputs.ba.reconstructed)
        return all(bool(torch.isfinite(p).all()) for p in parts)

    # -- checkpointing ----------------------------------------------------------------------------

    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "generator": self.generator.state_dict(),  # both directions (and the shared encoder)
            "prior": {},  # no latent prior: generator.pt readers expect the key
            "critic": self.critics.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "pool_a": self.pool_a.state_dict(),
            "pool_b": self.pool_b.state_dict(),
            "rng": rng_state(),
            "ema": None,
        }

    def load_state_dict(self, state: dict) -> None:
        self.epoch = int(state["epoch"])
        self.generator.load_state_dict(state["generator"])
        self.critics.load_state_dict(state["critic"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.pool_a.load_state_dict(state["pool_a"])
        self.pool_b.load_state_dict(state["pool_b"])
        set_rng_state(state["rng"])
        self.apply_optimizer_hyperparameters()  # this trial's rates, not the (possibly copied) checkpoint's

    def sampling_state(self) -> dict:
        return {"generator": self.generator.state_dict(), "prior": {}}


# -- evaluation -----------------------------------------------------------------------------------


class _Signed(nn.Module):
    """A domain classifier that scores ``sign · x``: the MNIST classifier reads inverted MNIST as MNIST."""

    def __init__(self, model: nn.Module, sign: float):
        super().__init__()
        self.sign = float(sign)
        self.inner = model
        self.fc = model.fc

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.features(self.sign * x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


@dataclass
class DirectionContext(EvalContext):
    """An EvalContext of the target domain (its references, its features) for one direction's translations."""

    source: torch.Tensor | None = None  # ``labels`` (EvalContext) are the source images' labels
    reconstructed: torch.Tensor | None = None


class _Target:
    """One target domain's features and held-out references, embedded once per trial."""

    def __init__(self, data: Dataset, extractor: FeatureExtractor | None):
        self.data, self.extractor = data, extractor
        self._real: dict[str, tuple[torch.Tensor, torch.Tensor | None]] = {}
        self._reference: dict[str, Embeddings] = {}

    def _split(self, which: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        if which not in self._real:
            d = self.data
            x, y = {"test": (d.test_x, d.test_y), "train": (d.train_x, d.train_y)}[which]
            if len(x) > REFERENCE_MAX:
                keep = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:REFERENCE_MAX]
                x, y = x[keep], (y[keep] if y is not None else None)
            self._real[which] = (as_float(x), y)
        return self._real[which]

    def real_x(self, which: str) -> torch.Tensor:
        return self._split(which)[0]

    def real_y(self, which: str) -> torch.Tensor | None:
        return self._split(which)[1]

    def reference(self, which: str) -> Embeddings:
        if which not in self._reference:
            if self.extractor is None:
                raise ValueError(f"the selected metrics need a feature extractor; none for {self.data.info.name}")
            self._reference[which] = self.extractor.embed(self.real_x(which))
        return self._reference[which]


class TranslateEvaluator(TaskEvaluator):
    def __init__(self, config: dict, data: Dataset, device: str | torch.device = "cpu"):
        pair = _pair(config, data)
        name = pair.info.name
        metrics = check_metrics(config.get("metrics") or default_metrics(name, "translate"), name, "translate")
        kind = config.get("features") or default_feature_kind(name, config.get("inception_weights"))
        self.feature_path = feature_path(kind, name)
        self.schedule = Schedule(metrics, config.get("metric_samples"), config.get("metric_every"))
        self.metrics = self.schedule.metrics
        self.default_n = int(config.get("eval_samples", 1000))
        needs_features = any("embeddings" in METRICS[m].needs for m in self.metrics)
        needs_scorer = any("labels" in METRICS[m].needs for m in self.metrics)
        self.targets: dict[str, _Target] = {}
        self.scorers: dict[str, FeatureExtractor | None] = {}
        for direction, target, scorer in (("ab", pair.b, pair.scorers[1]), ("ba", pair.a, pair.scorers[0])):
            classifier = _classifier(scorer, device) if scorer and (needs_scorer or kind == "classifier") else None
            extractor = None
            if needs_features:
                extractor = classifier if kind == "classifier" else _inception(config, device)
            self.targets[direction] = _Target(target, extractor)
            self.scorers[direction] = classifier

    def due(self, epoch: int | None = None, final: bool = False) -> list[str]:
        return self.schedule.due(epoch, final)

    def samples_needed(self, epoch: int | None = None, final: bool = False, available: int = 1000) -> int:
        return self.schedule.samples_needed(epoch, final, available)

    def worst(self) -> dict[str, float]:
        keys = (task_keys(METRICS[m], "translate") for m in self.metrics)
        return {k: w for ks in keys for k, (_, w) in ks.items() if w is not None}

    def __call__(self, outputs: Translations, epoch: int | None = None, final: bool = False) -> dict[str, float]:
        due = self.due(epoch, final)
        out: dict[str, float] = {}
        for direction, d in (("ab", outputs.ab), ("ba", outputs.ba)):
            target = self.targets[direction]
            counts = {m: min(self.schedule.samples.get(m, self.default_n), len(d.translated)) for m in due}
            ctx = DirectionContext(target.data, d.translated, target.extractor, target.reference, target.real_x,
                                   Schedule.n_embed(counts), labels=d.labels, real_y=target.real_y,
                                   scorer=self.scorers[direction], source=d.source,
                                   reconstructed=d.reconstructed)  # fmt: skip
            for name in due:
                values = METRICS[name].fn(ctx, counts[name])
                out.update(values if direction == "ab" else {ba_key(k): v for k, v in values.items()})
        if "translation_accuracy" in out:
            out["translation_accuracy_mean"] = (out["translation_accuracy"] + out[ba_key("translation_accuracy")]) / 2
        return out


def _classifier(scorer: tuple[str, float], device: str | torch.device) -> FeatureExtractor:
    from trainables.classifier import load_classifier
    from trainables.features.classifier import ClassifierFeatures

    dataset, sign = scorer
    model, _ = load_classifier(dataset)
    return ClassifierFeatures(model if sign == 1.0 else _Signed(model, sign), dataset, device=device)


def _inception(config: dict, device: str | torch.device) -> FeatureExtractor:
    from trainables.features.inception import InceptionFeatures

    return InceptionFeatures(config.get("inception_weights"), device=device)


def evaluator_from_config(config: dict, data: Dataset, device: str | torch.device = "cpu") -> TranslateEvaluator:
    return TranslateEvaluator(config, data, device)
