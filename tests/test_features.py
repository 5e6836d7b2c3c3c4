"""Feature paths: Inception-v3 weight lookup and loading (random weights in a temp file), the uint8 boundary,
the classifier path's logits/penultimate features, and the path checks."""

from __future__ import annotations

import pytest
import torch
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

from trainables.classifier import SmallCNN
from trainables.features import RawFeatures, build_extractor, check_feature_kind, default_feature_kind, feature_path
from trainables.features.classifier import ClassifierFeatures
from trainables.features.inception import (
    ENV_VAR,
    HUB_FILES,
    InceptionFeatures,
    InceptionWeightsError,
    resolve_weights,
    to_uint8_rgb,
)


class _Unloaded(FeatureExtractorInceptionV3):
    """torch-fidelity's network left at its random initialisation (its constructor always loads weights)."""

    def load_state_dict(self, *args, **kwargs):
        return None


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    d = tmp_path_factory.mktemp("inception")
    torch.save({}, d / "empty.pth")
    torch.manual_seed(0)
    net = _Unloaded("random", ["2048"], feature_extractor_weights_path=str(d / "empty.pth"))
    torch.save(net.state_dict(), d / "random.pth")
    return d / "random.pth", net


def test_uint8_boundary_rounds_and_repeats_grey():
    x = torch.tensor([-1.0, -0.5, 0.0, 0.999, 1.0]).view(1, 1, 1, 5)
    out = to_uint8_rgb(x)
    assert out.dtype == torch.uint8 and out.shape == (1, 3, 1, 5)
    # round((x + 1)·127.5): 0, 63.75 → 64, 127.5 → 128 (half to even), 254.87 → 255, 255
    assert out[0, 0, 0].tolist() == [0, 64, 128, 255, 255] and torch.equal(out[:, 0], out[:, 2])
    rgb = torch.zeros(2, 3, 4, 4)
    assert to_uint8_rgb(rgb).shape == (2, 3, 4, 4)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        to_uint8_rgb(torch.zeros(1, 2, 4, 4))


def test_weights_lookup_order_explicit_then_env_then_hub(tmp_path, monkeypatch):
    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(InceptionWeightsError) as e:
        resolve_weights(None)
    message = str(e.value)
    assert "\n" not in message and ENV_VAR in message and HUB_FILES[0] in message
    assert str(hub / "checkpoints") in message
    (hub / "checkpoints").mkdir(parents=True)
    cached = hub / "checkpoints" / HUB_FILES[1]
    cached.write_bytes(b"x")
    assert resolve_weights(None) == cached
    env_file = tmp_path / "env.pth"
    env_file.write_bytes(b"x")
    monkeypatch.setenv(ENV_VAR, str(env_file))
    assert resolve_weights(None) == env_file
    explicit = tmp_path / "explicit.pth"
    explicit.write_bytes(b"x")
    assert resolve_weights(explicit) == explicit
    with pytest.raises(InceptionWeightsError, match="is not a file"):
        resolve_weights(tmp_path / "missing.pth")


def test_inception_path_loads_weights_from_a_file_and_embeds(random_weights):
    path, net = random_weights
    features = InceptionFeatures(path)
    assert features.path == "inception-v3" and features.weights == path
    loaded = features.model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in net.state_dict().items())  # the saved weights, not a re-init
    images = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    emb = features.embed(images)
    assert emb.logits.shape == (2, 1008) and emb.features.shape == (2, 2048) and emb.logits.dtype == torch.float64
    # The same as torch-fidelity's network fed the papers' uint8 RGB conversion of the images.
    ref = FeatureExtractorInceptionV3("ref", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(path))
    pool, unbiased = ref(to_uint8_rgb(images).contiguous())
    assert torch.allclose(emb.features, pool.double()) and torch.allclose(emb.logits, unbiased.double())


def test_inception_refuses_files_that_are_not_its_weights(tmp_path, random_weights):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InceptionWeightsError, match="not a readable weights file"):
        InceptionFeatures(junk)
    wrong = tmp_path / "wrong.pth"
    torch.save({"fc.weight": torch.zeros(3, 3)}, wrong)
    with pytest.raises(InceptionWeightsError, match="does not fit"):
        InceptionFeatures(wrong)


def test_classifier_path_gives_logits_and_penultimate_features():
    torch.manual_seed(0)
    model = SmallCNN(1, 10).eval()
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    emb = ClassifierFeatures(model, "mnist5k").embed(x)
    assert emb.features.shape == (5, 1024) and emb.logits.dtype == torch.float64
    assert torch.allclose(emb.logits, model.logits(x), atol=1e-6)
    assert torch.allclose(emb.logits, model.fc(emb.features.float()).double(), atol=1e-6)


def test_feature_path_names_and_checks():
    assert feature_path("classifier", "mnist5k") == "classifier:mnist5k" and feature_path("raw", "ring8") == "raw"
    assert default_feature_kind("mnist5k") == "classifier"
    assert default_feature_kind("mnist5k", "w.pth") == "inception-v3"
    assert default_feature_kind("ring8") == "raw" and isinstance(build_extractor("raw", "ring8"), RawFeatures)
    with pytest.raises(ValueError, match="points, not images"):
        check_feature_kind("classifier", "ring8")
    with pytest.raises(ValueError, match="for point datasets"):
        check_feature_kind("raw", "mnist5k")
