"""The Inception-v3 feature path: torch-fidelity's TF-ported network, the one published IS/FID use.

Weights are looked up, in order, at the explicit path (``--inception-weights``), the file named by
``$GAN_TUNER_INCEPTION_WEIGHTS``, and the torch hub cache (``torch.hub.get_dir()/checkpoints``,
under torch-fidelity's file name or pytorch-fid's, both converted from the same 2015-12-05 TF
graph). They are never downloaded: a missing file is one clear error saying where to put it.

Samples cross the boundary as the papers' images do: round((x + 1)·127.5) as uint8, grey repeated to
three channels; the network resizes to 299 px itself (TF1-compatible bilinear: resizer ``legacy``, the default).
With ``clean`` the images are resized to 299 px by clean-fid's PIL bicubic first and rounded back to uint8, as
torch-fidelity's network takes uint8 only (clean-fid feeds the unrounded floats: up to ½ grey level apart); the
network's own resize is then the identity.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from trainables.features.base import Embeddings, FeatureExtractor
from trainables.features.resize import resize, to_uint8_rgb
from trainables.features.weights import file_sha256

__all__ = ["InceptionFeatures", "InceptionWeightsError", "check_weights", "load_inception", "resolve_weights",
           "to_uint8_rgb"]  # fmt: skip
SIZE = 299

ENV_VAR = "GAN_TUNER_INCEPTION_WEIGHTS"
HUB_FILES = ("weights-inception-2015-12-05-6726825d.pth", "pt_inception-2015-12-05-6726825d.pth")
FEATURES = ["2048", "logits_unbiased"]


class InceptionWeightsError(ValueError):
    """One-line, user-facing problem with the Inception-v3 weights."""


def hub_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def resolve_weights(explicit: str | os.PathLike | None = None) -> Path:
    """The weights file to use: explicit path → $GAN_TUNER_INCEPTION_WEIGHTS → torch hub cache."""
    for source, value in (("--inception-weights", explicit), (f"${ENV_VAR}", os.environ.get(ENV_VAR))):
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise InceptionWeightsError(f"{source}: {path} is not a file; point it at {HUB_FILES[0]}")
            return path
    for name in HUB_FILES:
        if (hub_dir() / name).is_file():
            return hub_dir() / name
    raise InceptionWeightsError(
        f"Inception-v3 weights not found (nothing is downloaded): pass --inception-weights FILE, set ${ENV_VAR}, "
        f"or copy torch-fidelity's {HUB_FILES[0]} into {hub_dir()}/"
    )


def check_weights(path: str | os.PathLike) -> None:
    """``InceptionWeightsError`` unless ``path`` holds Inception-v3 tensors (loaded weights-only: torch-fidelity's
    own load unpickles freely, so anything but tensors is refused here first)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise InceptionWeightsError(f"{path} is not a readable weights file ({type(e).__name__}); "
                                    f"use torch-fidelity's {HUB_FILES[0]}") from e  # fmt: skip
    if not isinstance(state, dict) or "fc.weight" not in state:
        raise InceptionWeightsError(f"{path} is not an Inception-v3 state dict; use torch-fidelity's {HUB_FILES[0]}")


def load_inception(path: str | os.PathLike, device: str | torch.device = "cpu") -> torch.nn.Module:
    """torch-fidelity's FeatureExtractorInceptionV3 with the weights at ``path``."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    check_weights(path)
    try:
        model = FeatureExtractorInceptionV3("inception-v3-compat", FEATURES, feature_extractor_weights_path=str(path))
    except RuntimeError as e:  # load_state_dict: missing / unexpected keys or wrong shapes
        first = str(e).splitlines()[0]
        raise InceptionWeightsError(f"{path} does not fit torch-fidelity's Inception-v3 ({first})") from e
    return model.to(device)


class InceptionFeatures(FeatureExtractor):
    path = "inception-v3"

    def __init__(self, weights: str | os.PathLike | None = None, *, device: str | torch.device = "cpu",
                 batch: int = 50, resizer: str = "legacy"):  # fmt: skip
        self.weights = resolve_weights(weights)
        self.weights_sha256, self.resizer = file_sha256(self.weights), resizer
        self.model = load_inception(self.weights, device)
        self.device, self.batch = device, batch

    @torch.no_grad()
    def embed(self, x: torch.Tensor) -> Embeddings:
        pool, logits = [], []
        for i in range(0, len(x), self.batch):
            images = to_uint8_rgb(x[i : i + self.batch])
            if self.resizer == "clean":
                images = resize(images, SIZE, "clean").round_().to(torch.uint8)
            f, lg = self.model(images.contiguous().to(self.device))
            pool.append(f.double().cpu())
            logits.append(lg.double().cpu())
        return Embeddings(torch.cat(logits), torch.cat(pool))
