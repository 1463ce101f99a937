import numpy as np
import pytest
import torch
from pytorch_grad_cam import HiResCAM
from pytorch_grad_cam.utils.image import scale_cam_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from xray_core.config import CLASS_NAMES, LABELS
from xray_core.models.networks import build_model
from xray_core.training.attention import LayerTap, hirescam, lung_attention_step, outside_share, target_scores


def _halves(n: int = 2, size: int = 16) -> torch.Tensor:
    lungs = torch.zeros(n, size, size)
    lungs[:, :, : size // 2] = 1.0  # left half is "lung"
    return lungs


def test_outside_share_on_hand_made_maps() -> None:
    lungs = _halves(size=16)
    left, right = torch.zeros(2, 4, 4), torch.zeros(2, 4, 4)
    left[:, :, :1] = 1.0  # first column of 4: well inside the left half after upsampling
    right[:, :, 3:] = 1.0
    assert outside_share(left, lungs).tolist() == pytest.approx([0.0, 0.0], abs=1e-6)
    assert outside_share(right, lungs).tolist() == pytest.approx([1.0, 1.0], abs=1e-6)
    quarter = torch.zeros(1, 16, 16)
    quarter[:, :8, :8] = 1.0
    assert outside_share(torch.ones(1, 4, 4), quarter).item() == pytest.approx(0.75, abs=1e-6)
    assert outside_share(torch.zeros(1, 4, 4), quarter).item() == 0.0


def test_target_scores_pick_the_label_or_the_favoured_member() -> None:
    logits = torch.tensor([[0.1, 2.0, 3.0, 0.5], [4.0, 1.0, 0.2, 9.0]])
    labels = torch.tensor([LABELS.index("normal"), LABELS.index("pneumonia")])
    scores = target_scores(logits, labels).tolist()
    assert scores[0] == pytest.approx(logits[0, CLASS_NAMES.index("normal")].item())
    members = [CLASS_NAMES.index("bacterial"), CLASS_NAMES.index("viral")]
    assert scores[1] == pytest.approx(logits[1, members].max().item())


def test_training_map_is_the_shipped_hirescam() -> None:
    torch.manual_seed(0)
    model = build_model("resnet18", in_channels=1).eval()
    inputs = torch.randn(1, 1, 64, 64)
    index = CLASS_NAMES.index("viral")
    with HiResCAM(model=model, target_layers=[model.layer3[-1]]) as cam:
        library = cam(input_tensor=inputs, targets=[ClassifierOutputTarget(index)])[0]
    tap = LayerTap(model.layer3)
    logits = model(inputs)
    ours = hirescam(tap.output, target_scores(logits, torch.tensor([LABELS.index("viral")])))
    tap.remove()
    ours_scaled = scale_cam_image(scale_cam_image(ours.detach().numpy(), (64, 64)))[0]  # the library's two passes
    assert np.allclose(ours_scaled, library, atol=1e-4)


def test_the_penalty_moves_the_map_into_the_lungs() -> None:
    torch.manual_seed(0)
    model = build_model("resnet18", in_channels=1)
    inputs, labels, lungs = torch.randn(4, 1, 64, 64), torch.tensor([0, 1, 2, 3]), _halves(4, 64)
    tap = LayerTap(model.layer3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    shares = []
    for _ in range(15):
        _, share = lung_attention_step(model, tap, inputs, labels, lungs)
        optimizer.zero_grad()
        share.mean().backward()
        optimizer.step()
        shares.append(share.mean().item())
    tap.remove()
    assert shares[-1] < 0.5 * shares[0]
    assert all(param.grad is not None for param in model.layer3.parameters())
