import json

import pytest
import torch
from _lung_corpus import write_lung_corpus

from xray_core.models.unet import read_segmenter
from xray_core.training.config import SegmenterConfig
from xray_core.training.segmenter import augment_pairs, dice_bce_loss, run


def test_dice_bce_loss_rewards_agreement():
    target = torch.zeros(2, 1, 8, 8)
    target[:, :, 2:6, 2:6] = 1
    good, bad = dice_bce_loss(20 * (2 * target - 1), target), dice_bce_loss(-20 * (2 * target - 1), target)
    assert good < 0.01 < 2 < bad


def test_augmentation_moves_film_and_mask_together():
    mask = torch.zeros(4, 1, 32, 32)
    mask[:, :, 8:24, 6:14] = 1
    generator = torch.Generator().manual_seed(0)
    films, masks = augment_pairs(mask.clone(), mask.clone(), 1.0, generator)
    assert films.shape == masks.shape == mask.shape and masks.min() >= 0 and masks.max() <= 1
    assert (films > 0.5).ne(masks > 0.5).float().mean() < 0.02  # same warp; only edge pixels may differ
    assert 0.7 < float(masks.sum() / mask.sum()) < 1.4  # scale ±10 %: area changes by at most ~21 %
    same = augment_pairs(mask, mask, 0.0, generator)
    assert torch.equal(same[0], mask) and torch.equal(same[1], mask)


def test_config_validates_widths_and_size():
    assert SegmenterConfig(channels="4, 8,16").widths() == (4, 8, 16)
    with pytest.raises(ValueError, match="multiple of 16"):
        SegmenterConfig(image_size=40).preprocessing()
    with pytest.raises(ValueError, match="comma-separated integers"):
        SegmenterConfig(channels="4;8").widths()


def test_smoke_training_writes_a_verified_resumable_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    write_lung_corpus(tmp_path / "cxr")
    cfg = SegmenterConfig(
        data=str(tmp_path / "cxr"), out=str(tmp_path / "run"), image_size=32, channels="4,8", epochs=1, batch_size=4
    )
    path = run(cfg, show=False)
    loaded = read_segmenter(path)
    assert loaded.meta.kind == "lung-segmenter" and loaded.meta.trained and loaded.meta.channels == (4, 8)
    assert loaded.meta.train_config["epochs"] == 1 and loaded.meta.preprocessing.image_size == 32
    assert {"val", "external"} <= set(loaded.meta.metrics) and loaded.meta.metrics["external"]["n"] == 3
    assert len(loaded.meta.training["history"]) == 1
    assert json.loads((tmp_path / "run" / "config.json").read_text())["channels"] == "4,8"
    resumed = read_segmenter(run(SegmenterConfig(**{**cfg.to_dict(), "epochs": 2, "resume": True}), show=False))
    assert [h["epoch"] for h in resumed.meta.training["history"]] == [1, 2]
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 2
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["state"]["epoch"] == 2
