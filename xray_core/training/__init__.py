"""Training entry points: the run config, objectives against shortcuts, the loop, epoch selection, release."""

from xray_core.training.config import TrainConfig

__all__ = ["TrainConfig"]
