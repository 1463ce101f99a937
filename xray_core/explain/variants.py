"""The map variants the localisation report compares: a CAM method hooked on one or more ResNet stages.

A light table (no torch, no pytorch-grad-cam), so the command-line parser can list the choices quickly.
"""

from __future__ import annotations

from dataclasses import dataclass

from xray_core.explain.methods import CAM_METHODS


@dataclass(frozen=True)
class MapVariant:
    """A CAM method (key of :data:`CAM_METHODS`) hooked on the last block of each named ResNet stage."""

    method: str
    layers: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.method}@{'+'.join(self.layers)}"

    @property
    def title(self) -> str:
        return f"{CAM_METHODS[self.method].title} @ {'+'.join(self.layers)}"

    @property
    def baseline(self) -> MapVariant:
        """RandomCAM on the same layers: random channel weights, same resolution (finer maps alone change ROAD)."""
        return MapVariant("randomcam", self.layers)


VARIANTS: dict[str, MapVariant] = {
    v.key: v
    for v in (
        MapVariant("gradcam", ("layer4",)),  # the default of explain() before this comparison
        MapVariant("gradcam", ("layer3",)),
        MapVariant("gradcam", ("layer3", "layer4")),
        MapVariant("gradcam++", ("layer4",)),
        MapVariant("layercam", ("layer4",)),
        MapVariant("layercam", ("layer3",)),
        MapVariant("layercam", ("layer3", "layer4")),
        MapVariant("eigencam", ("layer4",)),
        MapVariant("eigencam", ("layer3",)),
        MapVariant("gradcam", ("layer2",)),  # layer2: a map 8x finer than the input's side / 32 (LayerCAM's case)
        MapVariant("layercam", ("layer2",)),
        MapVariant("layercam", ("layer2", "layer3")),
        MapVariant("layercam", ("layer1",)),  # 40 x 40 at 160 px: LayerCAM's argument for shallow layers
        MapVariant("layercam", ("layer1", "layer2", "layer3")),
        MapVariant("hirescam", ("layer3",)),
        MapVariant("scorecam", ("layer3",)),  # no gradients: each channel's upsampled map masks the input
    )
}


__all__ = ["VARIANTS", "MapVariant"]
