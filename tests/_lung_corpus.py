"""A small lung-segmentation corpus on disk, laid out like the real one, for the segmenter's training and scoring."""

from __future__ import annotations

import numpy as np
from PIL import Image


def write_lung_corpus(root, counts=(("train", 8), ("val", 4)), external=3):
    """``root/lungs`` and ``root/external`` like the real corpus: 40x48 films, two dark 'lungs' per mask."""
    rng = np.random.default_rng(0)
    for section, splits in (("lungs", counts), ("external", (("external", external),))):
        (root / section / "images").mkdir(parents=True)
        (root / section / "masks").mkdir()
        header = "file,mask,split,age_group" if section == "lungs" else "file,label,split,age_group,lung_mask"
        rows = [header]
        for split, count in splits:
            for index in range(count):
                name = f"{split}{index}"
                mask = np.zeros((40, 48), np.uint8)
                top = int(rng.integers(4, 10))
                mask[top : top + 24, 6:20] = mask[top : top + 24, 28:42] = 255
                film = np.clip(rng.normal(170, 20, mask.shape) - 0.4 * mask, 0, 255).astype(np.uint8)
                Image.fromarray(film).save(root / section / "images" / f"{name}.png")
                Image.fromarray(mask).save(root / section / "masks" / f"{name}.png")
                files = f"images/{name}.png,masks/{name}.png"
                rows.append(
                    f"{files},{split},pediatric"
                    if section == "lungs"
                    else f"images/{name}.png,viral,external,pediatric,masks/{name}.png"
                )
        (root / section / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root
