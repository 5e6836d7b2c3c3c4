"""Two-domain image datasets (kind ``pair``) for unpaired translation: domain A and domain B, each with its own
train / test split, shape and (for the embedded pairs) labels.

Embedded, nothing downloaded:

- ``mnist5k-digits``: A = the 5,000 MNIST digits (28 px), B = scikit-learn's 1,797 8×8 digits upsampled to 28 px;
  two styles of the same ten classes, each scored by its own domain classifier (those of ``mnist5k``/``digits``).
- ``mnist5k-inverted``: A = MNIST, B = the same digits with inverted intensities (−x in [-1, 1]): a trivially
  translatable pair for tests; B is scored by the MNIST classifier applied to −x.

Real pairs from ``--data-root`` in the CycleGAN datasets' layout (junyanz/pytorch-CycleGAN-and-pix2pix):
``<root>/NAME/{trainA,trainB,testA,testB}/*.jpg|png``, RGB, centre-cropped to a square and resized to the
image size (64 px unless the trial config's ``image_size`` says otherwise). They have no labels.

A ``PairDataset`` is a ``Dataset`` whose own fields are domain A's (so code that only counts training samples
works unchanged) plus ``a`` and ``b``, the two domains as plain ``Dataset`` values.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from trainables.dataset_types import _REGISTRY, DataError, Dataset, DatasetInfo, register
from trainables.real_data import _REQUIRED, _centre_square, _decode_all, check_layout

PAIR_IMAGE_SIZE = 64  # real pairs' default size: the CPU-sized end of the 64–256 px the reference trains at
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
SPLITS = ("trainA", "trainB", "testA", "testB")


@dataclass
class PairDataset(Dataset):
    a: Dataset | None = None  # domain A (its info names the domain and its shape)
    b: Dataset | None = None
    # Per domain: (labelled image dataset whose cached classifier scores it, sign the images are multiplied by
    # before scoring); None where the domain has no labels.
    scorers: tuple[tuple[str, float] | None, tuple[str, float] | None] = (None, None)

    def domain(self, which: str) -> Dataset:
        return {"a": self.a, "b": self.b}[which]


def _pair(info: DatasetInfo, a: Dataset, b: Dataset, scorers=(None, None)) -> PairDataset:
    return PairDataset(info, a.train_x, a.train_y, a.test_x, a.test_y, a=a, b=b, scorers=scorers)


def _embedded(name: str) -> Dataset:
    """An embedded image set by name, through the dataset table (``trainables.data`` registers them)."""
    return _REGISTRY[name][1](None)


def _domain_info(info: DatasetInfo, part: str, source: DatasetInfo, what: str) -> DatasetInfo:
    return replace(source, name=f"{info.name}:{part}", description=what, kind="image")


MNIST_DIGITS = DatasetInfo(
    name="mnist5k-digits",
    description="two domains of the same ten digits: A = the 5,000 MNIST digits, B = scikit-learn's 1,797 8×8 "
    "digits upsampled to 28 px (both 28×28 grey, labelled, 80/20 splits per domain)",
    kind="pair",
    shape=(1, 28, 28),
    num_classes=10,
    embedded=True,
)


@register(MNIST_DIGITS)
def _load_mnist_digits(data_root: str | None) -> PairDataset:
    a, b = _embedded("mnist5k"), _embedded("digits")
    a = replace(a, info=_domain_info(MNIST_DIGITS, "A", a.info, "MNIST digits"))
    b = replace(b, info=_domain_info(MNIST_DIGITS, "B", b.info, "scikit-learn digits upsampled to 28 px"))
    return _pair(MNIST_DIGITS, a, b, (("mnist5k", 1.0), ("digits", 1.0)))


MNIST_INVERTED = DatasetInfo(
    name="mnist5k-inverted",
    description="MNIST ↔ MNIST with inverted intensities (a trivially translatable pair for tests; "
    "28×28 grey, labelled, the mnist5k split in both domains)",
    kind="pair",
    shape=(1, 28, 28),
    num_classes=10,
    embedded=True,
)


@register(MNIST_INVERTED)
def _load_mnist_inverted(data_root: str | None) -> PairDataset:
    a = _embedded("mnist5k")
    a = replace(a, info=_domain_info(MNIST_INVERTED, "A", a.info, "MNIST digits"))
    b = replace(a, info=_domain_info(MNIST_INVERTED, "B", a.info, "MNIST digits, inverted"),
                train_x=-a.train_x, test_x=-a.test_x)  # fmt: skip
    return _pair(MNIST_INVERTED, a, b, (("mnist5k", 1.0), ("mnist5k", -1.0)))


# -- real pairs: the CycleGAN datasets' layout ------------------------------------------------------

REAL_PAIRS = {  # the ones paper 001 §7.1 trains on, and the reference's best-known pair
    "monet2photo": "Monet paintings ↔ landscape photos",
    "summer2winter_yosemite": "Yosemite in summer ↔ in winter",
    "horse2zebra": "horses ↔ zebras (ImageNet)",
}


def pair_layout(name: str) -> str:
    return f"<root>/{name}/{{trainA,trainB,testA,testB}}/*.jpg|png (the CycleGAN datasets' layout)"


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _read_folder(folder: Path, size: int) -> np.ndarray:
    files = _image_files(folder)
    if not files:
        raise DataError(f"{folder} holds no .jpg/.png images")
    crop = _centre_square(None)
    return _decode_all(lambda i: Image.open(files[i]), len(files), size, crop)


@functools.lru_cache(maxsize=4)
def load_real_pair(name: str, data_root: str | None, size: int = PAIR_IMAGE_SIZE) -> PairDataset:
    """A real pair at ``size`` px (memoised per process); one-line DataError for a wrong layout or file."""
    info = dataset_info_at(name, size)
    root = check_layout(info, data_root)
    try:
        arrays = {split: _read_folder(root / name / split, size) for split in SPLITS}
    except DataError:
        raise
    except Exception as e:  # an undecodable file
        detail = " ".join(f"{type(e).__name__}: {e}".split())
        raise DataError(f"--data-root {root}: cannot read {name} ({detail}); expected {info.layout}") from e

    def domain(part: str) -> Dataset:
        train, test = arrays[f"train{part}"], arrays[f"test{part}"]
        test_x = torch.from_numpy(test.astype(np.float32) / 127.5 - 1.0)
        return Dataset(_domain_info(info, part, info, f"{name} domain {part}"), torch.from_numpy(train), None,
                       test_x, None)  # fmt: skip

    return _pair(info, domain("A"), domain("B"))


def dataset_info_at(name: str, size: int) -> DatasetInfo:
    info = _REGISTRY[name][0]
    return replace(info, shape=(info.shape[0], size, size))


def _register_real(name: str, what: str) -> None:
    info = DatasetInfo(
        name=name,
        description=f"{what}, unpaired, from --data-root (RGB, centre square resized to {PAIR_IMAGE_SIZE} px "
        "by default; no labels: no translation_accuracy)",
        kind="pair",
        shape=(3, PAIR_IMAGE_SIZE, PAIR_IMAGE_SIZE),
        num_classes=0,
        embedded=False,
        layout=pair_layout(name),
    )
    _REQUIRED[name] = tuple(f"{name}/{split}" for split in SPLITS)
    register(info)(lambda data_root: load_real_pair(name, data_root))


for _name, _what in REAL_PAIRS.items():
    _register_real(_name, _what)


def pair_at(data: Dataset, image_size: int | None, data_root: str | None) -> Dataset:
    """The pair at the trial's image size: real pairs are decoded again at ``image_size`` when it differs."""
    if not image_size or data.info.embedded or data.info.shape[-1] == int(image_size):
        return data
    return load_real_pair(data.info.name, data_root, int(image_size))
