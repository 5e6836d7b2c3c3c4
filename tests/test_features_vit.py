"""DINOv2 and CLIP feature paths, loaded from randomly initialised weights of the published architectures saved to a
temp file (nothing is downloaded): file formats, strict shapes, preprocessing and normalisation, the resizers.

DINOv2 ViT-B/14 runs at its full size; the ViT-L/14 paths (300M parameters each) are checked on the meta device
for their shapes and loaded with two of their 24 blocks, so the loading code runs on every published format.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from trainables.features import build_extractor
from trainables.features.resize import resize
from trainables.features.vit import CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD, SPECS, VitFeatures, build_network
from trainables.features.weights import FeatureWeightsError


def _random_state(model: torch.nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(v.shape, generator=g) * 0.02 for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def dinov2_b(tmp_path_factory):
    """A DINOv2 ViT-B/14 file as Meta publishes it: 518-px position embedding (37 × 37 + 1) and the mask token."""
    state = _random_state(build_network(SPECS["dinov2-vitb14"]))
    state["pos_embed"] = torch.randn(1, 37 * 37 + 1, 768, generator=torch.Generator().manual_seed(1)) * 0.02
    state["mask_token"] = torch.zeros(1, 768)
    path = tmp_path_factory.mktemp("dinov2") / "dinov2_vitb14_pretrain.pth"
    torch.save(state, path)
    return path, state


@pytest.fixture(scope="module")
def dinov2_ex(dinov2_b):
    return build_extractor("dinov2-vitb14", "mnist5k", feature_weights=str(dinov2_b[0]))


def test_vit_l_paths_have_the_published_architectures():
    dino, clip = build_network(SPECS["dinov2-vitl14"]), build_network(SPECS["clip-vitl14"])
    # Published counts less the parts not used at 224 px: DINOv2-L 304.4M with its 1,370-token position embedding
    # and mask token; CLIP ViT-L/14's image tower 304.0M.
    assert sum(p.numel() for p in dino.parameters()) == 303_227_904
    assert sum(p.numel() for p in clip.parameters()) == 303_966_208
    assert dino.pos_embed.shape == (1, 257, 1024) and clip.visual.proj.shape == (1024, 768)
    assert SPECS["dinov2-vitl14"].dim == 1024 and SPECS["clip-vitl14"].dim == 768


def test_dinov2_b_loads_meta_s_file_format_and_embeds(dinov2_b, dinov2_ex):
    state, ex = dinov2_b[1], dinov2_ex
    assert ex.identity()["feature_path"] == "dinov2-vitb14" and ex.resizer == "clean"
    assert len(ex.identity()["feature_weights_sha256"]) == 64
    loaded = ex.model.state_dict()
    assert torch.equal(loaded["blocks.11.mlp.fc2.weight"], state["blocks.11.mlp.fc2.weight"])
    assert torch.equal(loaded["pos_embed"][:, 0], state["pos_embed"][:, 0])  # the class token's own embedding
    assert loaded["pos_embed"].shape == (1, 257, 768)
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    e = ex.embed(x)
    assert e.features.shape == (2, 768) and e.features.dtype == torch.float64 and e.logits.shape == (2, 0)
    assert (e.features[0] - e.features[1]).abs().max() > 1e-6  # two images, two embeddings


def _normalised(ex: VitFeatures, grey: float) -> torch.Tensor:
    return ex.preprocess(torch.full((1, 1, 28, 28), grey))


def test_preprocessing_is_each_path_s_own_mean_and_std_at_224_px(dinov2_ex):
    out = _normalised(dinov2_ex, 0.0)  # grey 0 → uint8 128 (half to even), constant through any resize
    assert out.shape == (1, 3, 224, 224)
    want = torch.tensor([(128 / 255 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)])
    assert torch.allclose(out[0, :, 100, 100], want.float(), atol=1e-6)
    assert torch.allclose(out.std((2, 3)), torch.zeros(1, 3), atol=1e-5)  # a constant image stays constant
    clip = VitFeatures.__new__(VitFeatures)  # the same preprocessing with CLIP's statistics
    clip.spec, clip.resizer = SPECS["clip-vitl14"], "clean"
    clip._mean, clip._std = (torch.tensor(v).view(1, 3, 1, 1) * 255 for v in (CLIP_MEAN, CLIP_STD))
    want = torch.tensor([(128 / 255 - m) / s for m, s in zip(CLIP_MEAN, CLIP_STD, strict=True)])
    assert torch.allclose(_normalised(clip, 0.0)[0, :, 7, 7], want.float(), atol=1e-6)


def test_clean_resize_is_pil_bicubic_and_differs_from_legacy():
    from PIL import Image

    x = (torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 255).to(torch.uint8)
    img = Image.fromarray(x[0, 1].numpy().astype("float32")).resize((64, 64), Image.Resampling.BICUBIC)
    assert torch.allclose(resize(x, 64, "clean")[0, 1], torch.from_numpy(np.array(img)).clamp(0, 255))
    assert (resize(x, 64, "clean") - resize(x, 64, "legacy")).abs().mean() > 1.0  # the resizer changes the input
    with pytest.raises(ValueError, match="unknown resizer"):
        resize(x, 64, "nearest")


def test_clip_loads_openai_s_state_dict_keys_and_drops_the_text_tower(tmp_path):
    spec = dataclasses.replace(SPECS["clip-vitl14"], depth=2)  # ViT-L/14 widths, 2 of 24 blocks
    state = {f"visual.{k}": v for k, v in _random_state(build_network(spec).visual).items()}
    state |= {"text_projection": torch.zeros(768, 768), "transformer.resblocks.0.ln_1.weight": torch.ones(768),
              "logit_scale": torch.tensor(4.6)}  # fmt: skip
    path = tmp_path / "ViT-L-14.pt"
    torch.save({k: v.half() for k, v in state.items()}, path)  # OpenAI's tensors are fp16
    ex = VitFeatures("clip-vitl14", path, spec=spec)
    e = ex.embed(torch.rand(1, 3, 32, 32) * 2 - 1)
    assert e.features.shape == (1, 768) and torch.isfinite(e.features).all()
    assert next(ex.model.parameters()).dtype == torch.float32


def test_wrong_or_missing_weights_are_one_line(tmp_path, dinov2_b, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(FeatureWeightsError) as e:
        VitFeatures("dinov2-vitl14")
    msg = str(e.value)
    assert "\n" not in msg and "dinov2_vitl14_pretrain.pth" in msg and str(tmp_path / "hub" / "checkpoints") in msg
    with pytest.raises(FeatureWeightsError, match="does not fit dinov2-vitl14"):  # a ViT-B file for the ViT-L path
        VitFeatures("dinov2-vitl14", dinov2_b[0])
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(FeatureWeightsError, match="not a readable weights file"):
        VitFeatures("clip-vitl14", junk)


def test_search_config_records_the_feature_identity_of_search_and_finals(dinov2_b):
    import hashlib

    from tuner.cli import build_parser, trial_config, validate_metrics

    path = str(dinov2_b[0])
    args = build_parser().parse_args(["fisher", "--features", "dinov2-vitb14", "--feature-weights", path,
                                      "--final-features", "dinov2-vitb14", "--final-feature-weights", path,
                                      "--resizer", "legacy"])  # fmt: skip
    validate_metrics(args)
    config = trial_config(args)
    sha = hashlib.sha256(dinov2_b[0].read_bytes()).hexdigest()
    assert config["metrics"] == ["fid", "fd_inf", "kid"]  # no class logits on this path: feature metrics
    assert (config["feature_path"], config["feature_weights_sha256"], config["resizer"]) == (
        "dinov2-vitb14",
        sha,
        "legacy",
    )
    assert config["final_features"]["feature_weights_sha256"] == sha and config["reference_cache"] is True
