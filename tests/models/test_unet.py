import numpy as np
import pytest
import torch

from xray_core.config import Preprocessing
from xray_core.models.unet import (
    DEFAULT_CHANNELS,
    SegmenterError,
    SegmenterMeta,
    UNet,
    count_parameters,
    read_segmenter,
    save_segmenter,
)


@pytest.mark.parametrize(("channels", "size"), [((4, 8), 16), ((4, 8, 16), 32), (DEFAULT_CHANNELS, 64)])
def test_output_is_one_logit_per_input_pixel(channels, size):
    model = UNet(1, channels).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 1, size, size + model.divisor))
    assert out.shape == (2, 1, size, size + model.divisor) and out.dtype == torch.float32


def test_sides_must_be_multiples_of_the_poolings():
    model = UNet(1, (4, 8, 16))
    assert model.divisor == 4
    with pytest.raises(ValueError, match="multiples of 4"):
        model(torch.randn(1, 1, 30, 32))
    with pytest.raises(ValueError, match="two positive widths"):
        UNet(1, (8,))


def test_default_size_is_compact(tmp_path):
    model = UNet()
    assert 300_000 <= count_parameters(model) <= 2_000_000
    save_segmenter(tmp_path / "seg.pt", model, SegmenterMeta(Preprocessing(image_size=128)))
    assert (tmp_path / "seg.pt").stat().st_size <= 10 * 2**20


def _saved(tmp_path, **meta):
    torch.manual_seed(0)
    model = UNet(1, (4, 8)).eval()
    path = tmp_path / "seg.pt"
    sha = save_segmenter(path, model, SegmenterMeta(Preprocessing(image_size=16), channels=(4, 8), **meta))
    return model, path, sha


def test_checkpoint_round_trip_is_plain_data_and_verified(tmp_path):
    model, path, sha = _saved(tmp_path, threshold=0.4, metrics={"val": {"dice_mean": 0.9}})
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == "xray-core-segmenter" and payload["kind"] == "lung-segmenter"
    assert payload["meta"]["channels"] == [4, 8] and payload["meta"]["preprocessing"]["image_size"] == 16
    assert set(payload["meta"]["libraries"]) >= {"torch", "torchvision"}
    loaded = read_segmenter(path)
    assert loaded.sha256 == sha and loaded.threshold == 0.4 and loaded.meta.metrics["val"]["dice_mean"] == 0.9
    x = torch.randn(1, 1, 16, 16)
    with torch.no_grad():
        np.testing.assert_allclose(loaded.model(x).numpy(), model(x).numpy(), atol=1e-6)
    assert loaded.identity()["kind"] == "lung-segmenter" and not loaded.model.training


def test_altered_metadata_or_weights_are_refused(tmp_path):
    _, path, _ = _saved(tmp_path)
    payload = torch.load(path, weights_only=True)
    payload["meta"]["threshold"] = 0.1
    torch.save(payload, path)
    with pytest.raises(SegmenterError, match="SHA-256"):
        read_segmenter(path)
    _, path, _ = _saved(tmp_path)
    payload = torch.load(path, weights_only=True)
    next(iter(payload["state_dict"].values())).add_(1.0)
    torch.save(payload, path)
    with pytest.raises(SegmenterError, match="corrupted or was altered"):
        read_segmenter(path)


def test_foreign_missing_and_broken_files_say_what_to_do(tmp_path, tiny_checkpoint):
    with pytest.raises(SegmenterError, match="train-segmenter"):
        read_segmenter(tmp_path / "none.pt")
    with pytest.raises(SegmenterError, match="not a lung-segmenter"):
        read_segmenter(tiny_checkpoint)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SegmenterError, match="not a readable checkpoint"):
        read_segmenter(tmp_path / "junk.pt")
