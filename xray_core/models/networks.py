"""Network builders: torchvision ResNets with a 4-class head and a grayscale stem.

The Grad-CAM target layer is defined here, beside the builder, so that
explanations never guess where to hook.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torchvision import models

from xray_core.config import CLASS_NAMES

ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "resnet18": models.resnet18,
    "resnet34": models.resnet34,
    "resnet50": models.resnet50,
}


def build_model(arch: str = "resnet18", num_classes: int = len(CLASS_NAMES), in_channels: int = 1) -> nn.Module:
    """A torchvision ResNet (random init, ``weights=None``) with ``num_classes`` outputs.

    ``in_channels=1`` replaces the RGB stem with a grayscale one.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; expected one of {', '.join(ARCHITECTURES)}")
    model = ARCHITECTURES[arch](weights=None, num_classes=num_classes)
    if in_channels != 3:
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    return model


CAM_STAGES: tuple[str, ...] = ("layer3", "layer4")  # stages a CAM may hook (layer3: twice layer4's resolution)


def cam_target_layers(model: nn.Module, stage: str = "layer4") -> list[nn.Module]:
    """The layer a CAM hooks: the last block of ``stage`` (layer4: S/32 per side; layer3: S/16)."""
    if stage not in CAM_STAGES:
        raise ValueError(f"unknown CAM stage {stage!r}; expected one of {', '.join(CAM_STAGES)}")
    return [getattr(model, stage)[-1]]


def stages(model: nn.Module) -> list[nn.Module]:
    """The stem and four residual stages, in order, for freezing early stages when fine-tuning."""
    stem = nn.ModuleList([model.conv1, model.bn1])
    return [stem, model.layer1, model.layer2, model.layer3, model.layer4]


def freeze_stages(model: nn.Module, count: int) -> None:
    """Stop gradients through the first ``count`` stages (0 = train everything, 5 = all but the head)."""
    for stage in stages(model)[:count]:
        for parameter in stage.parameters():
            parameter.requires_grad_(False)


def penultimate_features(model: nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(features, logits) for a batch: the pooled 512/2048-d features before the head, and the head's output."""
    x = model.maxpool(model.relu(model.bn1(model.conv1(batch))))
    x = model.layer4(model.layer3(model.layer2(model.layer1(x))))
    features = torch.flatten(model.avgpool(x), 1)
    return features, model.fc(features)


def adapt_state_dict(state: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Fit foreign weights to ``model``: sum an RGB stem into a grayscale one, drop a mismatched head."""
    target = model.state_dict()
    adapted: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        key = key.removeprefix("module.").removeprefix("model.")
        if key not in target:
            continue
        expected = target[key].shape
        if key == "conv1.weight" and value.shape[1] != expected[1]:
            value = value.sum(dim=1, keepdim=True).repeat(1, expected[1], 1, 1) / expected[1]
        if value.shape == expected:
            adapted[key] = value
    return adapted


def load_init_weights(model: nn.Module, path: str | Path) -> list[str]:
    """Initialise ``model`` from a local weights file or project checkpoint; returns the keys left at random init.

    Accepts a plain ``state_dict``, a dict with ``state_dict``/``model`` inside, or a project checkpoint.
    The classification head is re-initialised when its shape differs (e.g. ImageNet's 1000 classes).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"initial weights not found: {path}")
    raw = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(raw, dict):
        for key in ("state_dict", "model", "weights"):
            if isinstance(raw.get(key), dict):
                raw = raw[key]
                break
    if not isinstance(raw, dict) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise ValueError(f"{path}: not a state_dict of tensors")
    adapted = adapt_state_dict(raw, model)
    if not adapted:
        raise ValueError(f"{path}: no tensor matches this architecture; is it a ResNet of the same depth?")
    model.load_state_dict(adapted, strict=False)
    return sorted(set(model.state_dict()) - set(adapted))


def imagenet_init(model: nn.Module, arch: str) -> None:
    """ImageNet weights via torchvision's weights API, only from the local torch cache (never downloads here)."""
    weights_enum = models.get_model_weights(arch).DEFAULT
    file_name = Path(weights_enum.url).name
    cached = Path(torch.hub.get_dir()) / "checkpoints" / file_name
    if not cached.is_file():
        raise FileNotFoundError(
            f"ImageNet weights for {arch} are not in the local torch cache ({cached}). "
            "Download them on a machine with internet access and copy them there, or pass --init PATH."
        )
    load_init_weights(model, cached)
