"""The score CLI reads sample files it cannot trust: sizes come from the .npy header and the zip directory and
are checked before anything is allocated; every bad file is one line, exit status 2, no traceback."""

from __future__ import annotations

import struct
import zipfile

import numpy as np

from trainables.metrics.__main__ import main


def _npy_header(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    """A version 1.0 .npy header claiming ``shape`` (no data follows unless the caller adds it)."""
    text = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}"
    text += " " * (63 - (10 + len(text)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()


def _bomb(path) -> None:
    """An .npz whose zip directory says its member inflates to 3.75 GiB (as a 15 MB zip of zeros does)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("samples.npy", _npy_header((1_000_000_000,)) + bytes(1000))
    data = bytearray(path.read_bytes())
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = struct.pack("<I", 0xF000_0000)
    path.write_bytes(bytes(data))


def test_hostile_sample_files_are_one_line_exit_2(tmp_path, capsys):
    np.savez(tmp_path / "empty_float.npz", samples=np.zeros((0, 1, 28, 28), dtype=np.float32))
    np.savez(tmp_path / "empty_uint8.npz", samples=np.zeros((0, 28, 28, 1), dtype=np.uint8))
    np.savez(tmp_path / "flat_empty.npz", samples=np.zeros((0,), dtype=np.float32))
    np.save(tmp_path / "wrong_shape.npy", np.zeros((20, 3), dtype=np.float32))
    with zipfile.ZipFile(tmp_path / "text_member.npz", "w") as z:
        z.writestr("samples.txt", "1 2 3")
    (tmp_path / "huge_header.npy").write_bytes(_npy_header((10**12, 1, 28, 28)) + bytes(64))
    (tmp_path / "short.npy").write_bytes(_npy_header((1000, 1, 28, 28)) + bytes(64))
    with zipfile.ZipFile(tmp_path / "huge_member.npz", "w") as z:
        z.writestr("samples.npy", _npy_header((10**12, 1, 28, 28)) + bytes(64))
    _bomb(tmp_path / "bomb.npz")
    (tmp_path / "pickle.npy").write_bytes(_npy_header((10,), "|O") + bytes(80))
    cases = [
        ("empty_float.npz", "holds 0 samples; at least 10 are needed"),
        ("empty_uint8.npz", "holds 0 samples; at least 10 are needed"),
        ("flat_empty.npz", "holds an array of shape (0,)"),
        ("wrong_shape.npy", "arrays of shape N×1×28×28 expected for this dataset, got 20×3"),
        ("text_member.npz", "member samples.txt is not a .npy array"),
        ("huge_header.npy", "claims 1000000000000×1×28×28 float32 = 2920627.6 GiB; at most 2 GiB"),
        ("short.npy", "holds fewer bytes: truncated"),
        ("huge_member.npz", "member samples.npy claims 1000000000000×1×28×28"),
        ("bomb.npz", "member samples.npy inflates to 3.8 GiB; at most 2 GiB"),
        ("pickle.npy", "holds Python objects"),
    ]
    failures = []
    for name, needle in cases:
        code = main(["score", "--samples", str(tmp_path / name), "--dataset", "mnist5k", "--metrics", "ddm"])
        captured = capsys.readouterr()
        lines = [ln for ln in captured.err.splitlines() if ln.strip()]
        if code != 2 or len(lines) != 1 or needle not in lines[0] or captured.out:
            failures.append(f"{name}: code {code}, {lines[-2:]}")
    assert not failures, "\n".join(failures)


def test_a_plain_npy_file_is_scored_like_an_npz(tmp_path, capsys):
    points = np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32)
    np.save(tmp_path / "points.npy", points)
    assert main(["score", "--samples", str(tmp_path / "points.npy"), "--dataset", "ring8", "--metrics", "ddm"]) == 0
    out = capsys.readouterr().out
    assert "n = 200" in out.splitlines()[0] and "ddm" in out
