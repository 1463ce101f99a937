import pytest
import torch

from xray_core.models.networks import (
    adapt_state_dict,
    build_model,
    cam_target_layers,
    freeze_stages,
    imagenet_init,
    load_init_weights,
    penultimate_features,
)


@pytest.mark.parametrize("arch,features", [("resnet18", 512), ("resnet34", 512), ("resnet50", 2048)])
def test_builders_give_four_logits_and_features(arch, features):
    model = build_model(arch, in_channels=1).eval()
    batch = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        pooled, logits = penultimate_features(model, batch)
        direct = model(batch)
    assert logits.shape == (2, 4) and pooled.shape == (2, features)
    torch.testing.assert_close(logits, direct)
    assert cam_target_layers(model)[0] is model.layer4[-1]


def test_three_channel_stem_and_unknown_arch():
    assert build_model("resnet18", in_channels=3).conv1.in_channels == 3
    with pytest.raises(ValueError, match="resnet18"):
        build_model("vgg11")


def test_rgb_weights_fit_grayscale_stem_and_head_is_dropped():
    rgb = build_model("resnet18", num_classes=1000, in_channels=3)
    gray = build_model("resnet18", in_channels=1)
    adapted = adapt_state_dict(rgb.state_dict(), gray)
    assert adapted["conv1.weight"].shape == (64, 1, 7, 7)
    torch.testing.assert_close(adapted["conv1.weight"], rgb.conv1.weight.sum(1, keepdim=True))
    assert "fc.weight" not in adapted


def test_load_init_weights_from_file(tmp_path):
    source = build_model("resnet18", num_classes=1000, in_channels=3)
    path = tmp_path / "imagenet_like.pth"
    torch.save({"state_dict": source.state_dict()}, path)
    model = build_model("resnet18")
    missing = load_init_weights(model, path)
    assert missing == ["fc.bias", "fc.weight"]
    torch.testing.assert_close(model.layer1[0].conv1.weight, source.layer1[0].conv1.weight)


def test_load_init_weights_rejects_foreign_files(tmp_path):
    bad = tmp_path / "bad.pt"
    torch.save({"x": torch.zeros(3)}, bad)
    with pytest.raises(ValueError, match="no tensor matches"):
        load_init_weights(build_model("resnet18"), bad)
    with pytest.raises(FileNotFoundError):
        load_init_weights(build_model("resnet18"), tmp_path / "missing.pt")


def test_imagenet_init_without_cache_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(FileNotFoundError, match="local torch cache"):
        imagenet_init(build_model("resnet18"), "resnet18")


def test_freeze_stages():
    model = build_model("resnet18")
    freeze_stages(model, 2)
    assert not model.conv1.weight.requires_grad and not model.layer1[0].conv1.weight.requires_grad
    assert model.layer2[0].conv1.weight.requires_grad and model.fc.weight.requires_grad
