"""Temperature scaling (Guo et al., ICML 2017): one scalar T fitted on validation logits."""

from __future__ import annotations

import numpy as np
import torch

from xray_core.evaluation.metrics import calibration


def fit_temperature(logits: np.ndarray, labels: np.ndarray, max_iter: int = 200) -> float:
    """The T > 0 minimising the NLL of ``softmax(logits / T)``; ``logits`` (N, K), ``labels`` (N,) ints."""
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
    """Calibrated probabilities ``softmax(logits / T)``, (N, K) float64 rows summing to 1."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature_worst_ece(sets: list[tuple[np.ndarray, np.ndarray]], n_classes: int,
                              grid: np.ndarray | None = None) -> float:
    """The T on a log grid (0.3-3) minimising the largest ECE over ``sets`` of (logits, LABELS indices).

    Rows with partial labels (index >= ``n_classes``) are left out: their top class has no single truth.
    Fitting against the worst set keeps the confidence honest on external films too, not only in-split.
    """
    grid = np.exp(np.linspace(np.log(0.3), np.log(3.0), 61)) if grid is None else grid
    kept = [(np.asarray(lg)[np.asarray(y) < n_classes], np.asarray(y)[np.asarray(y) < n_classes]) for lg, y in sets]
    kept = [(lg, y) for lg, y in kept if len(y)]
    worst = [max(calibration(y, apply_temperature(lg, t))["ece"] for lg, y in kept) for t in grid]
    return float(grid[int(np.argmin(worst))])
