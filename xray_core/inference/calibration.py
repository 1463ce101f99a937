"""Temperature scaling (Guo et al., ICML 2017): the one calibrated softmax, its fitting and its error.

Every path that turns logits into probabilities (predict, explain, faithfulness targets, training-time
validation, evaluation, the ONNX engine) calls :func:`calibrated_softmax` or its numpy twin
:func:`apply_temperature`. torch and scikit-learn load inside the functions that need them, so the torch-free
ONNX engine shares the numpy twin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch


def calibrated_softmax(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``softmax(logits / T)`` over the last axis, computed in float64 and returned as float32 (differentiable)."""
    import torch

    return torch.softmax(logits.double() / temperature, dim=-1).float()


def fit_temperature(logits: np.ndarray, labels: np.ndarray, max_iter: int = 200) -> float:
    """The T > 0 minimising the NLL of ``softmax(logits / T)``; ``logits`` (N, K), ``labels`` (N,) ints."""
    import torch

    logits_t = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    labels_t = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)  # optimise log T so T stays positive
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits_t / log_t.exp(), labels_t)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(np.clip(log_t.exp().item(), 0.05, 20.0))


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """:func:`calibrated_softmax` for a numpy (N, K) array, in numpy (no torch); float64 rows summing to 1."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    exp = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def calibration(y_true: np.ndarray, y_prob: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Expected calibration error of the top-class confidence, its reliability bins, NLL and Brier score."""
    confidence = y_prob.max(axis=1)
    correct = (y_prob.argmax(axis=1) == np.asarray(y_true)).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            gap = abs(correct[members].mean() - confidence[members].mean())
            ece += members.mean() * gap
            table.append(
                {
                    "low": float(edges[b]),
                    "high": float(edges[b + 1]),
                    "count": int(members.sum()),
                    "confidence": float(confidence[members].mean()),
                    "accuracy": float(correct[members].mean()),
                }
            )
    labels = list(range(y_prob.shape[1]))
    onehot = np.eye(y_prob.shape[1])[np.asarray(y_true)]
    return {
        "ece": float(ece),
        "nll": float(_log_loss(y_true, np.clip(y_prob, 1e-12, 1), labels=labels)),
        "brier": float(np.mean(np.sum((y_prob - onehot) ** 2, axis=1))),
        "bins": table,
    }


def fit_temperature_worst_ece(
    sets: list[tuple[np.ndarray, np.ndarray]], n_classes: int, grid: np.ndarray | None = None
) -> float:
    """The T on a log grid (0.3-3) minimising the largest ECE over ``sets`` of (logits, LABELS indices).

    Rows with partial labels (index >= ``n_classes``) are left out: their top class has no single truth.
    Fitting against the worst set keeps the confidence honest on external films too, not only in-split.
    """
    grid = np.exp(np.linspace(np.log(0.3), np.log(3.0), 61)) if grid is None else grid
    kept = [(np.asarray(lg)[np.asarray(y) < n_classes], np.asarray(y)[np.asarray(y) < n_classes]) for lg, y in sets]
    kept = [(lg, y) for lg, y in kept if len(y)]
    worst = [max(calibration(y, apply_temperature(lg, t))["ece"] for lg, y in kept) for t in grid]
    return float(grid[int(np.argmin(worst))])


def _log_loss(*args: Any, **kwargs: Any) -> float:
    from sklearn.metrics import log_loss  # ~4 s to import: only when calibration is measured

    return log_loss(*args, **kwargs)
