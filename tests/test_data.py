"""Datasets: embedded sets (digits, ring8) and real sets read from small files written here in the
torchvision on-disk formats; missing or malformed roots give one line naming the expected layout."""

from __future__ import annotations

import io
import math
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from trainables.data import DataError, as_float, check_data_root, dataset_info, load_dataset, ring_modes

REAL = ["mnist", "cifar10", "svhn", "celeba", "lsun_bedroom"]


def load(name: str, root: Path | None):
    load_dataset.cache_clear()  # the loader memoises per (name, root); tests reuse names
    return load_dataset(name, None if root is None else str(root))


# -- embedded sets -----------------------------------------------------------------------------------


def test_digits_are_sklearn_digits_upsampled_bilinearly_to_28px():
    from sklearn.datasets import load_digits

    d = load("digits", None)
    assert d.info.shape == (1, 28, 28) and d.info.num_classes == 10
    assert len(d.train_x) + len(d.test_x) == 1797 and d.train_x.dtype == torch.float32
    assert d.train_x.min() >= -1 and d.train_x.max() <= 1
    # Stratified 80/20: every class keeps its share in the test part.
    for c in range(10):
        total = int((d.train_y == c).sum() + (d.test_y == c).sum())
        assert abs(int((d.test_y == c).sum()) - 0.2 * total) <= 1
    # Cross-check the upsampling against PIL's bilinear resize of the same 8×8 image (pixel-centre convention).
    ours = torch.cat([d.train_x, d.test_x])[:, 0]
    for img in load_digits().images[:3].astype(np.float32) / 16.0:  # found by content: the split reorders
        ref = torch.from_numpy(np.asarray(Image.fromarray(img, mode="F").resize((28, 28), Image.BILINEAR)) * 2 - 1)
        assert (ours - ref).abs().amax(dim=(1, 2)).min() < 1e-5


def test_ring8_has_eight_modes_of_std_0_1_on_a_radius_2_circle():
    centres, std = ring_modes("ring8")
    assert centres.shape == (8, 2) and centres.dtype == torch.float64 and std == 0.1
    assert torch.allclose(centres.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64))
    # Equally spaced: neighbours are a chord of 2π/8 apart, 2·r·sin(π/8).
    gaps = (centres - centres.roll(1, 0)).norm(dim=1)
    assert torch.allclose(gaps, torch.full((8,), 4 * math.sin(math.pi / 8), dtype=torch.float64))

    d = load("ring8", None)
    assert d.info.kind == "points" and d.info.shape == (2,) and d.info.num_classes == 0 and d.train_y is None
    assert d.train_x.shape == (16_000, 2) and d.test_x.shape == (4_000, 2)
    for x in (d.train_x, d.test_x):
        x = x.double()
        nearest = torch.cdist(x, centres).argmin(1)
        assert torch.equal(nearest.bincount(minlength=8), torch.full((8,), len(x) // 8))  # balanced modes
        for k in range(8):
            offsets = x[nearest == k] - centres[k]
            assert offsets.mean(0).abs().max() < 0.015  # centred on the mode (3 standard errors at n=500)
            assert abs(float(offsets.std()) - 0.1) < 0.007  # σ 0.1 per coordinate
    again = load("ring8", None)
    assert torch.equal(again.train_x, d.train_x)  # fixed seed
    with pytest.raises(DataError, match="not a Gaussian ring"):
        ring_modes("mnist5k")


def test_as_float_maps_uint8_to_unit_range_and_passes_floats_through():
    x = torch.tensor([0, 127, 255], dtype=torch.uint8)
    assert torch.allclose(as_float(x), torch.tensor([-1.0, 127 / 127.5 - 1, 1.0]))
    f = torch.randn(3)
    assert as_float(f) is f


# -- writers of the torchvision on-disk formats -----------------------------------------------------


def write_idx(path: Path, array: np.ndarray) -> None:
    header = (0x0800 + array.ndim).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def make_mnist(root: Path, n_train: int = 12, n_test: int = 4) -> tuple[np.ndarray, np.ndarray]:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    tx, vx = (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) for n in (n_train, n_test))
    write_idx(raw / "train-images-idx3-ubyte", tx)
    write_idx(raw / "train-labels-idx1-ubyte", np.arange(n_train) % 10)
    write_idx(raw / "t10k-images-idx3-ubyte", vx)
    write_idx(raw / "t10k-labels-idx1-ubyte", np.arange(n_test) % 10)
    return tx, vx


def make_cifar10(root: Path, per_batch: int = 4) -> None:
    """Pixel (n, c, h, w) of batch b holds (b·per_batch + n + 7c + h + w) mod 256: layout errors show."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    n, c, h, w = np.meshgrid(np.arange(per_batch), np.arange(3), np.arange(32), np.arange(32), indexing="ij")
    for b, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        data = ((b * per_batch + n + 7 * c + h + w) % 256).astype(np.uint8).reshape(per_batch, 3072)
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, "labels": [(b + i) % 10 for i in range(per_batch)], "batch_label": name}, f)


def make_svhn(root: Path) -> np.ndarray:
    from scipy.io import savemat

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, (32, 32, 3, 6), dtype=np.uint8)  # H×W×C×N as in the .mat files
    savemat(root / "train_32x32.mat", {"X": X, "y": np.array([[10], [1], [2], [3], [9], [10]], dtype=np.uint8)})
    savemat(root / "test_32x32.mat", {"X": X[..., :2], "y": np.array([[10], [5]], dtype=np.uint8)})
    return X


def framed(w: int, h: int, inner: int, colour: tuple[int, int, int]) -> Image.Image:
    """A black w×h image with a centred inner×inner square of ``colour``."""
    img = Image.new("RGB", (w, h))
    left, top = (w - inner) // 2, (h - inner) // 2
    img.paste(Image.new("RGB", (inner, inner), colour), (left, top))
    return img


def make_celeba(root: Path, parts: list[int]) -> None:
    folder = root / "celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    lines = []
    for i, part in enumerate(parts):
        name = f"{i + 1:06d}.jpg"
        # CelebA's aligned size; PNG content under the .jpg name keeps pixels exact (PIL reads by content).
        framed(178, 218, 108, (10 * i, 200, 255 - i)).save(folder / name, format="PNG")
        lines.append(f"{name} {part}")
    (root / "celeba" / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")


def make_lsun(root: Path, n: int) -> None:
    import lmdb

    env = lmdb.open(str(root / "bedroom_train_lmdb"), map_size=1 << 26)
    with env.begin(write=True) as txn:
        for i in range(n):
            buf = io.BytesIO()
            framed(90 + i, 70, 70, (i, 100, 200)).save(buf, format="WEBP", lossless=True)
            txn.put(f"{i:040x}".encode(), buf.getvalue())
    env.close()


# -- real sets ---------------------------------------------------------------------------------------


def test_mnist_reads_idx_files_as_uint8_train_and_float_test(tmp_path):
    tx, vx = make_mnist(tmp_path)
    d = load("mnist", tmp_path)
    assert d.info.shape == (1, 28, 28) and not d.info.embedded
    assert d.train_x.dtype == torch.uint8 and torch.equal(d.train_x[:, 0], torch.from_numpy(tx))
    assert torch.allclose(d.test_x[:, 0], torch.from_numpy(vx.astype(np.float32) / 127.5 - 1))
    assert d.train_y.tolist() == [i % 10 for i in range(12)] and d.test_y.tolist() == [0, 1, 2, 3]


def test_cifar10_reads_the_pickled_batches_in_channel_row_column_order(tmp_path):
    make_cifar10(tmp_path)
    d = load("cifar10", tmp_path)
    assert d.train_x.shape == (20, 3, 32, 32) and d.test_x.shape == (4, 3, 32, 32)
    c, h, w = 2, 5, 30  # image 9 is image 1 of the third batch
    assert int(d.train_x[9, c, h, w]) == (2 * 4 + 1 + 7 * c + h + w) % 256
    assert d.train_y[:6].tolist() == [0, 1, 2, 3, 1, 2]
    assert torch.allclose(d.test_x[3, 1, 0, 0], torch.tensor((20 + 3 + 7) / 127.5 - 1))


def test_svhn_transposes_hwcn_and_maps_label_10_to_digit_0(tmp_path):
    X = make_svhn(tmp_path)
    d = load("svhn", tmp_path)
    assert d.train_x.shape == (6, 3, 32, 32)
    assert int(d.train_x[4, 2, 7, 19]) == int(X[7, 19, 2, 4])
    assert d.train_y.tolist() == [0, 1, 2, 3, 9, 0] and d.test_y.tolist() == [0, 5]


def test_celeba_uses_the_official_partitions_and_a_central_108px_crop(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_TUNER_CACHE", str(tmp_path / "cache"))
    make_celeba(tmp_path, parts=[0, 0, 1, 2, 0, 2])
    d = load("celeba", tmp_path)
    assert d.info.num_classes == 0 and d.train_y is None
    assert d.train_x.shape == (3, 3, 64, 64) and d.test_x.shape == (2, 3, 64, 64)
    # The crop is exactly the coloured square: no black border survives the resize.
    first = d.train_x[0].reshape(3, -1)
    assert (first == torch.tensor([0, 200, 255], dtype=torch.uint8)[:, None]).all()
    assert torch.allclose(d.test_x[1].reshape(3, -1)[:, 0], torch.tensor([50, 200, 250]) / 127.5 - 1)
    # Decoded once into the cache and memory-mapped from it afterwards.
    assert len(list((tmp_path / "cache" / "data").glob("celeba-*/train_x.npy"))) == 1
    assert torch.equal(load("celeba", tmp_path).train_x, d.train_x)


def test_lsun_bedroom_reads_lmdb_centre_crops_and_holds_out_a_random_tenth(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_TUNER_CACHE", str(tmp_path / "cache"))
    make_lsun(tmp_path, 20)
    d = load("lsun_bedroom", tmp_path)
    assert d.train_x.shape == (18, 3, 64, 64) and d.test_x.shape == (2, 3, 64, 64)
    reds = d.train_x[:, 0].flatten().tolist() + ((d.test_x[:, 0] + 1) * 127.5).round().flatten().tolist()
    assert sorted(set(reds)) == list(range(20))  # every image exactly once, centre square only (no black)
    assert len(reds) == 20 * 64 * 64 and all(reds.count(r) == 64 * 64 for r in range(20))
    assert (d.train_x[:, 1] == 100).all() and (d.train_x[:, 2] == 200).all()


@pytest.mark.parametrize("name", REAL)
def test_missing_root_is_one_line_naming_the_layout(name, tmp_path):
    layout = dataset_info(name).layout
    for root in (None, tmp_path / "nowhere", tmp_path):
        with pytest.raises(DataError) as e:
            load(name, root)
        assert "\n" not in str(e.value) and layout in str(e.value)
        with pytest.raises(DataError):
            check_data_root(name, None if root is None else str(root))


def test_malformed_files_are_one_line_naming_the_layout(tmp_path):
    make_mnist(tmp_path)
    (tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x01" + bytes(8))
    with pytest.raises(DataError, match=r"not a 3-D uint8 IDX file.*expected <root>/MNIST/raw") as e:
        load("mnist", tmp_path)
    assert "\n" not in str(e.value)

    make_cifar10(tmp_path / "c")
    (tmp_path / "c" / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match=r"cannot read cifar10.*cifar-10-batches-py") as e:
        load("cifar10", tmp_path / "c")
    assert "\n" not in str(e.value)


def test_search_cli_refuses_a_bad_data_root_with_one_line_and_exit_2(tmp_path, capsys):
    from tuner.search import main

    common = ["fisher", "--storage", str(tmp_path / "ray"), "--mlflow-uri", f"sqlite:///{tmp_path / 'm.db'}"]
    make_cifar10(tmp_path / "ok")
    (tmp_path / "ok" / "cifar-10-batches-py" / "test_batch").write_bytes(b"\x80\x04truncated")
    for extra in (
        ["--dataset", "cifar10"],
        ["--dataset", "cifar10", "--data-root", str(tmp_path / "nowhere")],
        ["--dataset", "cifar10", "--data-root", str(tmp_path / "ok")],
        ["--dataset", "imagenet"],
    ):
        load_dataset.cache_clear()
        assert main([*common, *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err, err
    assert not (tmp_path / "ray").exists() and not (tmp_path / "m.db").exists()


# -- the loop and the classifier on uint8 real data ------------------------------------------------


def test_training_and_classifier_convert_uint8_batches(tmp_path, monkeypatch):
    from trainables.classifier import train_classifier
    from trainables.train import GANRun

    monkeypatch.setenv("GAN_TUNER_CACHE", str(tmp_path / "cache"))
    make_cifar10(tmp_path, per_batch=16)
    data = load("cifar10", tmp_path)
    assert data.train_x.dtype == torch.uint8
    run = GANRun({"method": "fisher", "dataset": "cifar10", "rho": 1e-6, "width": 4, "batch_size": 16}, data)
    stats = run.train_epoch()
    assert math.isfinite(stats.loss_d) and run.sample(4).shape == (4, 3, 32, 32)
    model, accuracy = train_classifier(data, epochs=1, batch=32)
    assert model.logits(data.train_x).shape == (80, 10) and 0 <= accuracy <= 1
    # The uint8 path scores exactly what the float path does.
    assert torch.allclose(model.logits(data.train_x[:8]), model.logits(as_float(data.train_x[:8])))


def test_cifar10_refuses_a_pickle_that_would_run_code(tmp_path):
    """A planted batch naming any callable besides numpy's array reconstruction is refused, not executed."""
    make_cifar10(tmp_path)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with open(tmp_path / "cifar-10-batches-py" / "data_batch_2", "wb") as f:
        pickle.dump({"data": Exploit(), "labels": [0]}, f)
    with pytest.raises(DataError, match=r"cannot read cifar10.*refusing to load .*system"):
        load("cifar10", tmp_path)
    assert not marker.exists()


def test_cifar10_reads_python2_protocol_pickles(tmp_path):
    """The official batches are protocol-2 pickles written by Python 2 numpy (numpy.core.multiarray)."""
    make_cifar10(tmp_path)
    expected = load("cifar10", tmp_path)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        path = tmp_path / "cifar-10-batches-py" / name
        with open(path, "rb") as f:
            batch = pickle.load(f)
        # Python 2's numpy named its reconstructor numpy.core.multiarray (numpy 2 keeps a shim there).
        path.write_bytes(pickle.dumps(batch, protocol=2).replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    got = load("cifar10", tmp_path)
    assert torch.equal(got.train_x, expected.train_x) and torch.equal(got.test_x, expected.test_x)
