"""The DINOv2 and CLIP feature paths: self-supervised / image-text ViTs, the features FD is now reported on.

- ``dinov2-vitb14`` / ``dinov2-vitl14``: DINOv2 (Oquab et al. 2023) ViT-B/14 (768-d) and ViT-L/14 (1,024-d), the
  class token after the final norm (what ``torch.hub.load("facebookresearch/dinov2", ...)`` returns, and what
  dgm-eval and torch-fidelity score). The architecture is timm's (``vit_*_patch14_dinov2``, a PyPI package: the
  hub's code would have to come from GitHub at run time); the weights are Meta's published
  ``dinov2_vit?14_pretrain.pth``. Input: 224 px, ImageNet mean/std.
- ``clip-vitl14``: OpenAI CLIP ViT-L/14's image tower (768-d projected embedding), the architecture torch-fidelity
  vendors (``torch_fidelity.feature_extractor_clip``); weights: OpenAI's ``ViT-L-14.pt`` (a TorchScript archive,
  read for its tensors only and never run) or a plain state dict. Input: 224 px, CLIP's own mean/std.

Loading builds the network on the meta device and assigns the file's tensors (no random initialisation of 300M
parameters first), strictly: a file of another architecture is one clear error. Weights are never downloaded.

DINOv2's published position embedding is for 518 px (37 × 37 patches); the hub's code interpolates it at every
forward to the input's 16 × 16 grid: bicubic, no anti-aliasing, ``scale_factor = (16 + 0.1) / 37`` (its
``interpolate_offset`` of 0.1). The same interpolation is applied once here, at load time, which gives the same
224-px forward pass.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass

import torch

from trainables.features.base import Embeddings, FeatureExtractor
from trainables.features.resize import resize, to_uint8_rgb
from trainables.features.weights import FeatureWeightsError, file_sha256, resolve_weights

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
DINOV2_URL = "https://dl.fbaipublicfiles.com/dinov2/{0}/{0}_pretrain.pth"
CLIP_URL = "https://openaipublic.azureedge.net/clip/models/b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt"  # noqa: E501


@dataclass(frozen=True)
class VitSpec:
    kind: str  # the feature path's name
    family: str  # "dinov2" | "clip"
    width: int
    depth: int
    dim: int  # feature dimension
    files: tuple[str, ...]  # published file names looked up in the hub cache
    source: str  # where the file is published
    size: int = 224
    patch: int = 14

    @property
    def mean_std(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return (IMAGENET_MEAN, IMAGENET_STD) if self.family == "dinov2" else (CLIP_MEAN, CLIP_STD)


def _dinov2(kind: str, hub: str, width: int, depth: int) -> VitSpec:
    return VitSpec(kind, "dinov2", width, depth, width, (f"{hub}_pretrain.pth",), DINOV2_URL.format(hub))


SPECS = {
    "dinov2-vitb14": _dinov2("dinov2-vitb14", "dinov2_vitb14", 768, 12),
    "dinov2-vitl14": _dinov2("dinov2-vitl14", "dinov2_vitl14", 1024, 24),
    # torch-fidelity caches it as clip-vit-l-14-<sha256>.pt; OpenAI's own package as ViT-L-14.pt.
    "clip-vitl14": VitSpec("clip-vitl14", "clip", 1024, 24, 768,
                           ("clip-vit-l-14-b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836.pt",
                            "ViT-L-14.pt"), CLIP_URL),
}  # fmt: skip


def build_network(spec: VitSpec) -> torch.nn.Module:
    """The architecture of ``spec`` with parameters on the meta device (no memory, no initialisation)."""
    with torch.device("meta"):
        if spec.family == "dinov2":
            import timm

            name = {768: "vit_base_patch14_dinov2", 1024: "vit_large_patch14_dinov2"}[spec.width]
            return timm.create_model(name, pretrained=False, img_size=spec.size, num_classes=0, depth=spec.depth)
        from torch_fidelity.feature_extractor_clip import CLIPVisual

        return CLIPVisual(spec.dim, spec.size, spec.depth, spec.width, spec.patch)


def _read_state(path) -> dict[str, torch.Tensor]:
    """Tensors of a weights file: a state dict (loaded weights-only), or a TorchScript archive's parameters."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            scripted = any(n.endswith("/constants.pkl") or "/code/" in n for n in z.namelist())
        if scripted:  # OpenAI's CLIP files: TorchScript's loader unpickles no Python objects; nothing is run
            return dict(torch.jit.load(str(path), map_location="cpu").state_dict())
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("model", "state_dict"):  # checkpoints that wrap the state dict
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise FeatureWeightsError(f"{path} holds no state dict")
    return state


def _dinov2_state(state: dict, spec: VitSpec) -> dict[str, torch.Tensor]:
    state = {k: v for k, v in state.items() if k != "mask_token"}  # masked-image training only
    pos = state.get("pos_embed")
    grid = spec.size // spec.patch
    if pos is not None and pos.shape[1] != grid * grid + 1:
        m = round((pos.shape[1] - 1) ** 0.5)
        patches = pos[:, 1:].float().reshape(1, m, m, -1).permute(0, 3, 1, 2)
        scale = (grid + 0.1) / m
        patches = torch.nn.functional.interpolate(patches, scale_factor=(scale, scale), mode="bicubic",
                                                  antialias=False)  # fmt: skip
        state["pos_embed"] = torch.cat([pos[:, :1].float(), patches.permute(0, 2, 3, 1).reshape(1, grid * grid, -1)], 1)
    return state


def load_network(spec: VitSpec, path: str | os.PathLike) -> torch.nn.Module:
    """The network of ``spec`` with the tensors of ``path`` (strict: every parameter, right shapes)."""
    try:
        state = _read_state(path)
    except FeatureWeightsError:
        raise
    except Exception as e:
        raise FeatureWeightsError(f"{path} is not a readable weights file ({type(e).__name__}); "
                                  f"use {spec.files[0]} from {spec.source}") from e  # fmt: skip
    if spec.family == "dinov2":
        state = _dinov2_state(state, spec)
    else:  # the image tower only: the text tower's tensors are not needed
        state = {k: v for k, v in state.items() if k.startswith("visual.")}
    model = build_network(spec)
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True, assign=True)
    except RuntimeError as e:
        first = str(e).splitlines()[0] + " " + (str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else "")
        raise FeatureWeightsError(f"{path} does not fit {spec.kind} ({first[:300]}); use {spec.files[0]}") from e
    return model.eval().requires_grad_(False)


class VitFeatures(FeatureExtractor):
    """DINOv2 / CLIP features: uint8 images, resized (``clean`` or ``legacy``), normalised, one forward pass."""

    def __init__(self, kind: str, weights: str | os.PathLike | None = None, *, resizer: str = "clean",
                 device: str | torch.device = "cpu", batch: int = 32, spec: VitSpec | None = None):  # fmt: skip
        self.spec = spec or SPECS[kind]
        self.path, self.resizer = kind, resizer
        self.weights = resolve_weights(f"{kind}", self.spec.files, weights, "--feature-weights", self.spec.source)
        self.weights_sha256 = file_sha256(self.weights)
        self.model = load_network(self.spec, self.weights).to(device)
        self.device, self.batch = device, batch
        mean, std = self.spec.mean_std
        self._mean = torch.tensor(mean).view(1, 3, 1, 1) * 255
        self._std = torch.tensor(std).view(1, 3, 1, 1) * 255

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """Samples in [-1, 1] (or uint8) → the network's normalised float32 input."""
        return (resize(to_uint8_rgb(x), self.spec.size, self.resizer) - self._mean) / self._std

    @torch.no_grad()
    def embed(self, x: torch.Tensor) -> Embeddings:
        feats = []
        for i in range(0, len(x), self.batch):
            inp = self.preprocess(x[i : i + self.batch]).to(self.device)
            out = self.model(inp) if self.spec.family == "dinov2" else self.model.visual(inp)
            feats.append(out.double().cpu())
        f = torch.cat(feats) if feats else torch.empty(0, self.spec.dim, dtype=torch.float64)
        return Embeddings(torch.empty(len(f), 0, dtype=torch.float64), f)  # no class logits on these paths
