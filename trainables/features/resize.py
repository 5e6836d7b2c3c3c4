"""How images reach a feature network's input size: the resizer is part of the feature path's identity.

- ``clean`` — clean-fid's (Parmar et al. 2022, "On aliased resizing and surprising subtleties in GAN evaluation"):
  the image quantised to uint8 first (as a saved PNG would be), then each channel resized on its own by PIL's
  bicubic filter in float ('F' mode images), clipped to [0, 255]. PIL's filter widens with the scale factor, so
  downsampling is anti-aliased. The default of the DINOv2 and CLIP paths.
- ``legacy`` — torch-fidelity's TF1-compatible bilinear resize (no anti-aliasing), the resize of published
  TF-Inception FIDs; the default of the Inception-v3 path, whose numbers are compared with older papers.

Both take uint8 N×3×H×W and return float32 N×3×S×S in [0, 255].
"""

from __future__ import annotations

import numpy as np
import torch

RESIZERS = ("clean", "legacy")


def to_uint8_rgb(x: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] (or uint8 already) → uint8 N×3×H×W, grey repeated to three channels."""
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"a feature network needs N×C×H×W images with 1 or 3 channels, got {tuple(x.shape)}")
    if x.dtype != torch.uint8:
        x = torch.round((x.detach().to(torch.float64) + 1.0) * 127.5).clamp_(0, 255).to(torch.uint8)
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def _clean(x: torch.Tensor, size: int) -> torch.Tensor:
    from PIL import Image

    out = np.empty((len(x), 3, size, size), dtype=np.float32)
    arr = x.cpu().numpy().astype(np.float32)
    for i in range(len(arr)):
        for c in range(3):
            img = Image.fromarray(arr[i, c]).resize((size, size), resample=Image.Resampling.BICUBIC)
            out[i, c] = np.asarray(img)
    return torch.from_numpy(out.clip(0, 255))


def resize(x: torch.Tensor, size: int, resizer: str) -> torch.Tensor:
    """uint8 N×3×H×W → float32 N×3×size×size in [0, 255] with the named resizer."""
    if x.dtype != torch.uint8:
        raise ValueError(f"resize expects uint8 images, got {x.dtype}")
    if resizer == "clean":
        return _clean(x, size)
    if resizer == "legacy":
        from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

        return interpolate_bilinear_2d_like_tensorflow1x(x.float(), size=(size, size), align_corners=False)
    raise ValueError(f"unknown resizer {resizer!r}; valid: {', '.join(RESIZERS)}")
