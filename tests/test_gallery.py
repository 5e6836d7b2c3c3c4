"""The finals' nearest-neighbour gallery: each generated image beside its 3 nearest training images in the features."""

from __future__ import annotations

import torch

from trainables.gallery import nearest_gallery, nearest_k


def test_gallery_rows_show_each_sample_and_its_nearest_training_images():
    g = torch.Generator().manual_seed(0)
    train = torch.rand(30, 1, 8, 8, generator=g) * 2 - 1
    gen = train[[3, 7]] + 0.001  # near-copies of training images 3 and 7
    feats = lambda x: x.flatten(1).double()  # noqa: E731
    idx = nearest_k(feats(gen), feats(train), k=3, tile=7)
    dense = torch.cdist(feats(gen), feats(train)).topk(3, largest=False).indices
    assert torch.equal(idx, dense) and idx[:, 0].tolist() == [3, 7]
    img = nearest_gallery(gen, feats(gen), train, feats(train))
    assert img.dtype.name == "uint8" and img.shape == (2 * 10 + 2, 4 * 10 + 2, 3)  # 2 rows × (generated + 3)
    # Row 0, column 1 (after 2 px padding, 10 px per tile) is training image 3, in [0, 255].
    tile = torch.from_numpy(img[2:10, 12:20, 0]).double()
    assert torch.allclose(tile, ((train[3, 0].double() + 1) / 2 * 255).round(), atol=1.0)
