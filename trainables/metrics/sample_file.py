"""Reading a samples file without trusting it: the ``.npy`` header (shape, dtype) is read and checked before
any array memory is allocated, so a header that claims 10¹² samples, or a small zip that inflates to many
GiB, is one clear error instead of an out-of-memory kill. Nothing is unpickled."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

ARRAY_KEYS = ("samples", "x", "images")
MAX_BYTES = 2 * 1024**3  # 2 GiB: more than any sample set scored here (50,000 CIFAR images: 0.6 GB as float32)
MIN_SAMPLES = 10  # the Inception Score's 10 splits need at least one sample each


class SampleFileError(ValueError):
    """The file cannot be scored; the message is one user-facing line."""


def _read_npy(f: BinaryIO, size: int, where: str) -> np.ndarray:
    """One ``.npy`` stream of ``size`` bytes: header checked against the size before the data is read."""
    try:
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"format version {version[0]}.{version[1]} is not supported; save with numpy.save")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
    except (ValueError, OSError, EOFError) as e:
        raise SampleFileError(f"{where} is not a .npy array ({e})") from None
    if dtype.hasobject:
        raise SampleFileError(f"{where} holds Python objects; save plain uint8 or float arrays")
    count = int(np.prod(shape, dtype=object))
    nbytes = count * dtype.itemsize
    if nbytes > MAX_BYTES:
        raise SampleFileError(f"{where} claims {'×'.join(map(str, shape))} {dtype} = {nbytes / 1024**3:.1f} GiB; "
                              f"at most {MAX_BYTES / 1024**3:.0f} GiB are scored")  # fmt: skip
    if nbytes > size - f.tell():
        raise SampleFileError(f"{where} claims {'×'.join(map(str, shape))} {dtype} but holds fewer bytes: truncated")
    x = np.empty(count, dtype=dtype)  # the size is known to be within bounds and backed by the file
    view, got = memoryview(x).cast("B"), 0
    while got < nbytes and (n := f.readinto(view[got:])):
        got += n
    if got != nbytes:
        raise SampleFileError(f"{where} is truncated ({got:,} of {nbytes:,} bytes)")
    return x.reshape(shape[::-1]).transpose() if fortran else x.reshape(shape)


def read_samples(path: str | Path) -> np.ndarray:
    """The array of an ``.npz`` (one array, or one named like ``ARRAY_KEYS``) or of a ``.npy`` file."""
    p = Path(path)
    if not p.is_file():
        raise SampleFileError(f"--samples: {p} is not a file")
    if not zipfile.is_zipfile(p):
        with open(p, "rb") as f:
            x = _read_npy(f, p.stat().st_size, f"--samples: {p}")
    else:
        try:
            with zipfile.ZipFile(p) as z:
                members = {info.filename: info for info in z.infolist() if not info.is_dir()}
                names = {n.removesuffix(".npy"): n for n in members}
                key = next((k for k in ARRAY_KEYS if k in names), next(iter(names)) if len(names) == 1 else None)
                if key is None:
                    raise SampleFileError(f"--samples: {p} holds {sorted(names)}; name the array one of "
                                          f"{', '.join(ARRAY_KEYS)}")  # fmt: skip
                info = members[names[key]]
                where = f"--samples: {p} member {info.filename}"
                if not info.filename.endswith(".npy"):
                    raise SampleFileError(f"{where} is not a .npy array; save the file with numpy.savez")
                if info.file_size > MAX_BYTES + 65536:
                    raise SampleFileError(f"{where} inflates to {info.file_size / 1024**3:.1f} GiB; "
                                          f"at most {MAX_BYTES / 1024**3:.0f} GiB are scored")  # fmt: skip
                with z.open(info) as f:
                    x = _read_npy(f, info.file_size, where)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise SampleFileError(f"--samples: {p} is not a readable .npz ({type(e).__name__}: {e})") from None
    if x.ndim < 2:
        raise SampleFileError(f"--samples: {p} holds an array of shape {x.shape}; expected N samples × their shape")
    return x


def check_count(x: np.ndarray, path: str | Path) -> None:
    if x.shape[0] < MIN_SAMPLES:
        raise SampleFileError(f"--samples: {path} holds {x.shape[0]} samples; at least {MIN_SAMPLES} are needed")
