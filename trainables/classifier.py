"""The domain classifier whose logits feed the embedded-default metrics.

Paper 004 §3.2.1 embeds samples with the logits of a classifier trained on the dataset itself
(a small CNN for MNIST); the Inception Score here uses its softmax the same way. It is trained once
per dataset on the train part, evaluated on the held-out test part, and cached on disk
(``$GAN_TUNER_CACHE`` or ``~/.cache/gan-tuner``) with its accuracy, so every trial scores with the
same frozen network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import torch
from filelock import FileLock
from torch import nn

from trainables.cache import cache_dir
from trainables.data import Dataset, as_float, data_fingerprint, load_dataset

ARCH_VERSION = 1  # bump when the architecture or training recipe changes: invalidates caches
TRAIN_SEED = 1234


class SmallCNN(nn.Module):
    """4 conv layers + a fully connected layer, Xavier-initialised (paper 004's MNIST embedder)."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1),
            nn.ReLU(True),
            nn.Conv2d(32, 32, 3, padding=1),
            nn.ReLU(True),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(True),
            nn.Conv2d(64, 64, 3, padding=1),
            nn.ReLU(True),
            nn.AdaptiveMaxPool2d(4),
            nn.Flatten(),
            nn.Dropout(0.3),
        )
        self.fc = nn.Linear(64 * 16, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))

    @torch.no_grad()
    def logits(self, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
        self.eval()
        dev = next(self.parameters()).device
        # as_float per batch: real training sets are stored as uint8.
        return torch.cat([self(as_float(x[i : i + batch]).to(dev)).double().cpu() for i in range(0, len(x), batch)])


def _augment(x: torch.Tensor) -> torch.Tensor:
    """Random shifts of up to 2 px: cheap augmentation that lifts held-out accuracy on 4k images."""
    pad = nn.functional.pad(x, (2, 2, 2, 2), value=-1.0)
    dx, dy = torch.randint(0, 5, (2,))
    return pad[:, :, dy : dy + x.shape[2], dx : dx + x.shape[3]]


def train_classifier(
    data: Dataset, epochs: int = 12, batch: int = 128, progress: Callable[[str], None] | None = None
) -> tuple[SmallCNN, float]:
    if data.train_y is None or data.info.num_classes == 0:
        raise ValueError(f"dataset {data.info.name} has no labels: no classifier-based metrics for it")
    # Its own RNG stream: training it on a cache miss must not change the caller's (a trial's) random state.
    with torch.random.fork_rng(devices=[]):
        return _train_classifier(data, epochs, batch, progress)


def _train_classifier(
    data: Dataset, epochs: int, batch: int, progress: Callable[[str], None] | None
) -> tuple[SmallCNN, float]:
    g = torch.Generator().manual_seed(TRAIN_SEED)
    torch.manual_seed(TRAIN_SEED)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # real sets are slow on a CPU
    model = SmallCNN(data.info.shape[0], data.info.num_classes).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    x, y = data.train_x, data.train_y
    start = time.time()
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch):
            idx = perm[i : i + batch]
            loss = nn.functional.cross_entropy(model(_augment(as_float(x[idx]).to(dev))), y[idx].to(dev))
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        if progress:
            progress(f"  scoring classifier: epoch {epoch}/{epochs} ({time.time() - start:.0f} s)")
    accuracy = float((model.logits(data.test_x).argmax(1) == data.test_y).double().mean())
    return model.cpu(), accuracy


def classifier_path(data: Dataset) -> Path:
    """Keyed by the training data itself, not just the name: two --data-root copies of a dataset that
    differ get their own classifier instead of silently sharing the first one trained."""
    return cache_dir() / f"classifier-{data.info.name}-{data_fingerprint(data.train_x)}-v{ARCH_VERSION}.pt"


def load_classifier(
    dataset: str, data_root: str | None = None, progress: Callable[[str], None] | None = None
) -> tuple[SmallCNN, float]:
    """The cached classifier for ``dataset`` (trained and cached on first use, reporting each epoch to
    ``progress``) and its test accuracy."""
    data = load_dataset(dataset, data_root)
    path = classifier_path(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):  # concurrent trials must not train it twice
        if not path.exists():
            if progress:
                progress(f"training the scoring classifier for {dataset} once (cached in {path.parent})")
            model, acc = train_classifier(data, progress=progress)
            tmp = path.with_suffix(".tmp")
            torch.save({"state_dict": model.state_dict(), "accuracy": acc}, tmp)
            tmp.replace(path)  # atomic: a crash never leaves a half-written cache
            path.with_suffix(".json").write_text(json.dumps({"dataset": dataset, "test_accuracy": acc}))
        blob = torch.load(path, map_location="cpu", weights_only=True)
    model = SmallCNN(data.info.shape[0], data.info.num_classes)
    model.load_state_dict(blob["state_dict"])
    model.eval()
    return model, float(blob["accuracy"])


CAS_STEPS, CAS_BATCH, CAS_SEED = 100, 64, 2019  # the Classification Accuracy Score's classifier budget


def fit_on_samples(
    x: torch.Tensor, y: torch.Tensor, num_classes: int, steps: int = CAS_STEPS, batch: int = CAS_BATCH
) -> SmallCNN:
    """A fresh SmallCNN trained on (x, y) alone for ``steps`` Adam(1e-3) steps, on its own seeded stream: the
    classifier of the Classification Accuracy Score (Ravuri & Vinyals 2019), trained on generated samples.
    The same architecture and recipe as the scoring classifier, without its augmentation, at a fixed budget so
    scores of different generators compare."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(CAS_SEED)
        g = torch.Generator().manual_seed(CAS_SEED)
        model = SmallCNN(x.shape[1], num_classes)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        for _ in range(steps):
            idx = torch.randint(0, len(x), (min(batch, len(x)),), generator=g)
            loss = nn.functional.cross_entropy(model(as_float(x[idx])), y[idx].long())
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()
