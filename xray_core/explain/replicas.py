"""Private, hooked copies of a shared model for Grad-CAM, lent to one thread at a time.

Besides the target layer's output, a replica records the head's input before and after the global pool: the
pooled features (out-of-distribution score) and the spatial map the pool averages (the map's evidence).

pytorch-grad-cam registers forward hooks on the model it is given and calls ``model.eval()``; two CAM objects on
one module would append each other's activations, and a concurrent ``predict_batch`` on a hooked module would feed
its batch into the CAM's lists. So the shared model is never hooked: each explanation borrows a private deep copy
(a *replica*) from a small pool, used by one thread at a time. A lock around the ``with CAM(...)`` block would
serialise explanations and still let plain predictions run through the hooks. Copying ResNet-18 costs ~0.2 s and
~45 MB once per concurrently-used replica (idle ones are kept, at most :data:`MAX_IDLE_REPLICAS` per model); the
pool, rather than a ``threading.local``, also serves Streamlit, which runs every script rerun in a new thread. A
replica is rebuilt when the shared weights change in place.

Speed. The replica's parameters do not require gradients; a hook turns the target layer's output into a gradient
leaf, so the backward pass stops there (head only) instead of running through the whole network.
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import torch
from torch import nn

from xray_core.models.networks import cam_target_layers

MAX_IDLE_REPLICAS = 4  # idle model copies kept per shared model


@dataclass(eq=False)
class Replica:
    """A private copy of a shared model, hooked to record the target layer's output and the head's input."""

    model: nn.Module
    target_layers: list[nn.Module]
    version: int
    leaves: list[torch.Tensor] = field(default_factory=list)  # first target-layer output of the current pass
    features: list[torch.Tensor] = field(default_factory=list)  # first penultimate features of the pass
    head_maps: list[torch.Tensor] = field(default_factory=list)  # first N x C x h x w input of the global pool

    def reset(self) -> None:
        self.leaves.clear()
        self.features.clear()
        self.head_maps.clear()


def _weights_version(model: nn.Module) -> int:
    """Grows whenever a parameter or buffer is modified in place (e.g. load_state_dict, a training step)."""
    return sum(t._version for t in chain(model.parameters(), model.buffers()))


def _make_replica(model: nn.Module, version: int, stage: str) -> Replica:
    clone = copy.deepcopy(model).eval().requires_grad_(False)
    layers = cam_target_layers(clone, stage)
    if len(layers) != 1:
        raise ValueError(f"explain expects one CAM target layer, cam_target_layers gave {len(layers)}")
    replica = Replica(clone, layers, version)

    def leaf(module: nn.Module, args: Any, output: torch.Tensor) -> torch.Tensor:
        output = output.detach().requires_grad_(True)  # gradients stop here: only the head is back-propagated
        if not replica.leaves:
            replica.leaves.append(output)
        return output

    def head_input(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        if not replica.features:
            replica.features.append(args[0].detach())

    def pooled_map(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        if not replica.head_maps:
            replica.head_maps.append(args[0].detach())

    layers[0].register_forward_hook(leaf)
    if isinstance(getattr(clone, "fc", None), nn.Module):
        clone.fc.register_forward_pre_hook(head_input)
    if isinstance(getattr(clone, "avgpool", None), nn.Module):
        clone.avgpool.register_forward_pre_hook(pooled_map)
    return replica


_POOL_LOCK = threading.Lock()
_POOL: weakref.WeakKeyDictionary[nn.Module, dict[str, list[Replica]]] = weakref.WeakKeyDictionary()


@contextmanager
def borrow_replica(model: nn.Module, stage: str = "layer4") -> Iterator[Replica]:
    """Lend a replica of ``model`` hooked at ``stage`` to this call only; it returns to the pool unless it failed."""
    version = _weights_version(model)
    with _POOL_LOCK:
        idle = _POOL.setdefault(model, {}).setdefault(stage, [])
        replica = idle.pop() if idle else None
    if replica is None or replica.version != version:
        replica = _make_replica(model, version, stage)
    replica.reset()
    yield replica  # on an exception the replica is dropped: a failing method may have left it modified
    replica.reset()
    with _POOL_LOCK:
        idle = _POOL.setdefault(model, {}).setdefault(stage, [])
        if len(idle) < MAX_IDLE_REPLICAS:
            idle.append(replica)


__all__ = ["MAX_IDLE_REPLICAS", "Replica", "borrow_replica"]
