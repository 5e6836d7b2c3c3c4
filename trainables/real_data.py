"""Real image datasets, read from ``--data-root`` in the on-disk layouts torchvision's ``download=True`` writes.

The files are parsed here rather than through torchvision's dataset classes: those verify the MD5 sums
of the full official archives, so they refuse any other file (including the small ones the tests
write) and their remedy is to download. Nothing here ever downloads.

Train images stay uint8 (``trainables.data.as_float`` converts a batch); test sets are capped at
10,000 images (the usual FID reference size) and stored as float32. CelebA and LSUN are JPEG/WebP
files that take minutes to decode, so their decoded arrays are cached once under ``$GAN_TUNER_CACHE``
and memory-mapped copy-on-write: concurrent trials share the pages instead of each holding a copy.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from filelock import FileLock
from PIL import Image

from trainables.cache import cache_dir
from trainables.dataset_types import SPLIT_SEED, DataError, Dataset, DatasetInfo, register, to_unit_range

TEST_CAP = 10_000
LSUN_TRAIN = 500_000  # paper 003 §4.2 draws 500 k LSUN bedroom images at random
CELEBA_CROP = 108  # central crop before resizing to 64 px, as carpedm20/DCGAN-tensorflow (paper 003's reference code)
CACHE_VERSION = 1  # bump when the decoding (crop, resize) changes: invalidates decoded caches

Arrays = tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None]  # train x, y, test x, y
Reader = Callable[[Path], Arrays]
_REQUIRED: dict[str, tuple[str, ...]] = {}  # paths under the root that must exist, per dataset


def check_layout(info: DatasetInfo, data_root: str | os.PathLike | None) -> Path:
    """The root as a Path if the expected files are there; otherwise one line naming the expected layout."""
    expects = f"{info.name} expects {info.layout}"
    if data_root is None:
        raise DataError(f"dataset {info.name} needs --data-root (it is never downloaded); {expects}")
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise DataError(f"--data-root {root} is not a folder; {expects}")
    missing = [p for p in _REQUIRED[info.name] if not (root / p).exists()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DataError(f"--data-root {root}: {missing[0]}{more} not found; {expects}")
    return root


def _real(info: DatasetInfo, required: tuple[str, ...], cache_decoded: bool = False) -> Callable[[Reader], Reader]:
    """Register a reader of ``<root>`` → uint8 arrays; loading checks the layout and wraps parse errors."""

    def deco(reader: Reader) -> Reader:
        _REQUIRED[info.name] = required

        @register(info)
        def load(data_root: str | None) -> Dataset:
            root = check_layout(info, data_root)
            try:
                arrays = _decoded_cache(info, root, reader) if cache_decoded else reader(root)
                return _finish(info, *arrays)
            except DataError:
                raise
            except Exception as e:  # truncated pickle, bad magic number, undecodable image, ...
                detail = " ".join(f"{type(e).__name__}: {e}".split())  # one line
                msg = f"--data-root {root}: cannot read {info.name} ({detail}); expected {info.layout}"
                raise DataError(msg) from e

        return reader

    return deco


def _finish(info: DatasetInfo, tx: np.ndarray, ty: np.ndarray | None, vx: np.ndarray, vy: np.ndarray | None) -> Dataset:
    for part, x in (("train", tx), ("test", vx)):
        if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != info.shape or len(x) == 0:
            got = f"{part} images have shape {tuple(x.shape)} ({x.dtype})"
            raise DataError(f"{info.name}: {got}, expected N×{info.shape} uint8; is the --data-root layout right?")
    for part, y, x in (("train", ty, tx), ("test", vy, vx)):
        if y is not None and (len(y) != len(x) or y.min() < 0 or y.max() >= info.num_classes):
            raise DataError(f"{info.name}: {part} labels do not match the images (or leave 0..{info.num_classes - 1})")
    if len(vx) > TEST_CAP:  # a seeded subset: the reference set must not change between runs
        keep = np.sort(np.random.default_rng(SPLIT_SEED).choice(len(vx), TEST_CAP, replace=False))
        vx, vy = vx[keep], (vy[keep] if vy is not None else None)

    def labels(y: np.ndarray | None) -> torch.Tensor | None:
        return None if y is None else torch.from_numpy(np.asarray(y, dtype=np.int64))

    return Dataset(info, torch.from_numpy(tx), labels(ty), to_unit_range(np.asarray(vx)), labels(vy))


# -- decoded-array cache (CelebA, LSUN) -------------------------------------------------------------


def _decoded_cache(info: DatasetInfo, root: Path, reader: Reader) -> Arrays:

    stamp = "|".join(f"{p}:{(root / p).stat().st_mtime_ns}" for p in _REQUIRED[info.name])
    key = hashlib.sha1(f"{root.resolve()}|{stamp}|v{CACHE_VERSION}".encode()).hexdigest()[:16]
    folder = cache_dir() / "data" / f"{info.name}-{key}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):  # one process decodes; the others wait and map the result
        if not folder.exists():
            tmp = folder.with_name(folder.name + ".tmp")
            tmp.mkdir(exist_ok=True)
            tx, _, vx, _ = reader(root)
            np.save(tmp / "train_x.npy", tx)
            np.save(tmp / "test_x.npy", vx)
            tmp.replace(folder)  # atomic: a crash never leaves a half-written cache
    # Copy-on-write mapping: writable (torch.from_numpy accepts it) yet shared with other processes.
    return np.load(folder / "train_x.npy", mmap_mode="c"), None, np.load(folder / "test_x.npy"), None


def _decode_all(load: Callable[[int], Image.Image], n: int, size: int, crop: Callable[[Image.Image], Image.Image]):
    """Decode n images into an N×3×size×size uint8 array with a thread pool (PIL releases the GIL)."""
    out = np.empty((n, 3, size, size), dtype=np.uint8)

    def one(i: int) -> None:
        img = crop(load(i).convert("RGB")).resize((size, size), Image.BICUBIC)
        out[i] = np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)

    with ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 1)) as pool:
        list(pool.map(one, range(n), chunksize=256))
    return out


def _centre_square(side: int | None) -> Callable[[Image.Image], Image.Image]:
    """Central square crop of ``side`` px (None: the short side), never larger than the image."""

    def crop(img: Image.Image) -> Image.Image:
        w, h = img.size
        s = min(w, h) if side is None else min(side, w, h)
        left, top = (w - s) // 2, (h - s) // 2
        return img.crop((left, top, left + s, top + s))

    return crop


# -- the datasets ------------------------------------------------------------------------------------


def _idx(path: Path, ndim: int) -> np.ndarray:
    """An IDX file (LeCun's MNIST format): magic 0x0000 08 <ndim>, big-endian dims, uint8 data."""
    raw = path.read_bytes()
    magic = int.from_bytes(raw[:4], "big")
    if magic != 0x0800 + ndim:
        raise ValueError(f"{path.name} is not a {ndim}-D uint8 IDX file (magic {magic:#010x})")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path.name} holds {data.size} bytes for dims {dims}: truncated")
    return data.reshape(dims).copy()


MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@_real(
    DatasetInfo(
        name="mnist",
        description="MNIST, 60,000 train / 10,000 test (28×28 grey), from --data-root",
        kind="image",
        shape=(1, 28, 28),
        num_classes=10,
        embedded=False,
        layout="<root>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte (torchvision MNIST format, unzipped)",
    ),
    required=tuple(f"MNIST/raw/{f}" for f in MNIST_FILES),
)
def _read_mnist(root: Path) -> Arrays:
    tx, ty, vx, vy = (_idx(root / "MNIST" / "raw" / f, 3 if "images" in f else 1) for f in MNIST_FILES)
    return tx[:, None], ty, vx[:, None], vy


CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
# What a CIFAR-10 batch pickle may reference: numpy's array reconstruction and nothing else. A pickle
# can name any callable; an unrestricted load of a file planted in --data-root would run code.
_CIFAR_GLOBALS = {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric")
    for name in ("_reconstruct", "scalar", "_frombuffer")
} | {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}  # _codecs: bytes in protocol-2 pickles


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _CIFAR_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: a CIFAR-10 batch holds only arrays")
        return super().find_class(module, name)


def _cifar_batches(folder: Path, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for name in names:
        with open(folder / name, "rb") as f:
            batch = _ArrayOnlyUnpickler(f, encoding="latin1").load()  # the official files are Python 2 pickles
        xs.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch["labels"], dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


@_real(
    DatasetInfo(
        name="cifar10",
        description="CIFAR-10, 50,000 train / 10,000 test (32×32 colour), from --data-root",
        kind="image",
        shape=(3, 32, 32),
        num_classes=10,
        embedded=False,
        layout="<root>/cifar-10-batches-py/{data_batch_1..5,test_batch} (torchvision CIFAR10 format)",
    ),
    required=tuple(f"cifar-10-batches-py/{f}" for f in (*CIFAR_TRAIN, "test_batch")),
)
def _read_cifar10(root: Path) -> Arrays:
    folder = root / "cifar-10-batches-py"
    return (*_cifar_batches(folder, CIFAR_TRAIN), *_cifar_batches(folder, ("test_batch",)))


def _svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from scipy.io import loadmat

    mat = loadmat(path)
    x = np.ascontiguousarray(np.transpose(mat["X"], (3, 2, 0, 1)))  # H×W×C×N → N×C×H×W
    y = mat["y"].astype(np.int64).reshape(-1)
    y[y == 10] = 0  # the .mat files label the digit 0 as 10
    return x, y


@_real(
    DatasetInfo(
        name="svhn",
        description="SVHN cropped digits, 73,257 train / 26,032 test (32×32 colour), from --data-root",
        kind="image",
        shape=(3, 32, 32),
        num_classes=10,
        embedded=False,
        layout="<root>/{train,test}_32x32.mat (torchvision SVHN format)",
    ),
    required=("train_32x32.mat", "test_32x32.mat"),
)
def _read_svhn(root: Path) -> Arrays:
    return (*_svhn_mat(root / "train_32x32.mat"), *_svhn_mat(root / "test_32x32.mat"))


@_real(
    DatasetInfo(
        name="celeba",
        description="CelebA aligned faces, official train / test partitions, central 108 px crop resized to "
        "64×64 (no labels: no classifier metrics), from --data-root",
        kind="image",
        shape=(3, 64, 64),
        num_classes=0,
        embedded=False,
        layout="<root>/celeba/img_align_celeba/*.jpg and <root>/celeba/list_eval_partition.txt "
        "(torchvision CelebA format)",
    ),
    required=("celeba/img_align_celeba", "celeba/list_eval_partition.txt"),
    cache_decoded=True,
)
def _read_celeba(root: Path) -> Arrays:
    folder = root / "celeba"
    parts: dict[str, list[str]] = {"0": [], "2": []}  # 0 train, 1 validation (unused), 2 test
    for line in (folder / "list_eval_partition.txt").read_text().split("\n"):
        if line.strip():
            name, part = line.split()
            parts.setdefault(part, []).append(name)
    crop = _centre_square(CELEBA_CROP)

    def decode(names: list[str]) -> np.ndarray:
        return _decode_all(lambda i: Image.open(folder / "img_align_celeba" / names[i]), len(names), 64, crop)

    return decode(parts["0"]), None, decode(parts["2"]), None


@_real(
    DatasetInfo(
        name="lsun_bedroom",
        description="LSUN bedrooms: 500 k train + 10 k test drawn at random (paper 003 §4.2), short side "
        "resized to 64 then centre-cropped (no labels: no classifier metrics), from --data-root",
        kind="image",
        shape=(3, 64, 64),
        num_classes=0,
        embedded=False,
        layout="<root>/bedroom_train_lmdb/ (torchvision LSUN format; needs the lmdb package)",
    ),
    required=("bedroom_train_lmdb",),
    cache_decoded=True,
)
def _read_lsun_bedroom(root: Path) -> Arrays:
    try:
        import lmdb
    except ImportError as e:
        raise DataError("lsun_bedroom is stored as LMDB: install the lmdb package (pip install lmdb)") from e
    env = lmdb.open(str(root / "bedroom_train_lmdb"), readonly=True, lock=False, readahead=False, meminit=False)
    try:
        with env.begin(write=False) as txn:
            keys = list(txn.cursor().iternext(keys=True, values=False))
        n_test = min(TEST_CAP, max(1, round(0.1 * len(keys))))
        perm = np.random.default_rng(SPLIT_SEED).permutation(len(keys))
        test_keys = [keys[i] for i in perm[:n_test]]
        train_keys = [keys[i] for i in perm[n_test : n_test + LSUN_TRAIN]]
        crop = _centre_square(None)

        def decode(ks: list[bytes]) -> np.ndarray:
            def load(i: int) -> Image.Image:
                with env.begin(write=False) as txn:
                    return Image.open(io.BytesIO(txn.get(ks[i])))

            return _decode_all(load, len(ks), 64, crop)

        return decode(train_keys), None, decode(test_keys), None
    finally:
        env.close()
