"""Training throughput (ours vs a naive torchvision loop, same run, same settings) and predict latency.

    .venv/bin/python bench/bench_train.py [--data ../shared/cxr] [--images 256] [--size 128]

Ours: images decoded once into a uint8 cache, vectorised batch augmentation, channels-last convolutions.
Naive: the textbook torchvision loop: decode + transform every image every step through a DataLoader.
Prints a table: images/s for both and the ratio; predict p50/p95 for one image and a batch; peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from xray_core.config import CLASS_NAMES, Preprocessing, default_checkpoint, default_data_dir
from xray_core.data.cache import decode_images
from xray_core.data.dataset import load_dataset
from xray_core.inference.predict import predict_batch, predict_image
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import load_checkpoint
from xray_core.models.networks import build_model
from xray_core.models.preprocessing import TrainAugment, normalize

BATCH = 32


class NaiveDataset(Dataset):
    def __init__(self, paths, labels, size):
        self.paths, self.labels = paths, labels
        self.transform = transforms.Compose(
            [
                transforms.Grayscale(),
                transforms.Resize((size, size)),
                transforms.RandomAffine(7, translate=(0.06, 0.06), scale=(0.9, 1.1)),
                transforms.ColorJitter(0.1, 0.1),
                transforms.ToTensor(),
                transforms.Normalize([0.5], [0.25]),
            ]
        )

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        return self.transform(Image.open(self.paths[index])), self.labels[index]


def _step(model, optimizer, images, labels):
    loss = torch.nn.functional.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def naive_throughput(paths, labels, size) -> float:
    torch.manual_seed(0)
    model, loader = (
        build_model("resnet18"),
        DataLoader(NaiveDataset(paths, labels, size), batch_size=BATCH, shuffle=True),
    )
    optimizer = torch.optim.AdamW(model.parameters())
    began = time.perf_counter()
    for images, batch_labels in loader:
        _step(model, optimizer, images, batch_labels)
    return len(paths) / (time.perf_counter() - began)


def our_throughput(paths, labels, size) -> tuple[float, float]:
    """(images/s including the one-off decode, images/s of the training steps alone)."""
    torch.manual_seed(0)
    began = time.perf_counter()
    pixels = torch.from_numpy(decode_images(paths, size, progress=False))
    decoded = time.perf_counter()
    model = build_model("resnet18").to(memory_format=torch.channels_last)
    optimizer, augment, prep = torch.optim.AdamW(model.parameters()), TrainAugment(), Preprocessing(image_size=size)
    labels = torch.as_tensor(labels)
    order = torch.randperm(len(paths))
    for start in range(0, len(paths), BATCH):
        index = order[start : start + BATCH]
        images = normalize(augment(pixels[index].unsqueeze(1).float() / 255), prep)
        _step(model, optimizer, images.contiguous(memory_format=torch.channels_last), labels[index])
    finished = time.perf_counter()
    return len(paths) / (finished - began), len(paths) / (finished - decoded)


def latency(checkpoint: Path, paths, repeats: int = 30) -> dict[str, float]:
    loaded = load_checkpoint(checkpoint) if checkpoint.is_file() else None
    if loaded is None:
        print(f"(no checkpoint at {checkpoint}; predict latency skipped)")
        return {}
    images = [read_image(p) for p in paths[:BATCH]]
    predict_image(loaded, images[0])  # warm-up
    single = []
    for i in range(repeats):
        began = time.perf_counter()
        predict_image(loaded, images[i % len(images)])
        single.append((time.perf_counter() - began) * 1000)
    batch = []
    for _ in range(5):
        began = time.perf_counter()
        predict_batch(loaded, images, batch_size=BATCH)
        batch.append((time.perf_counter() - began) * 1000)
    q = lambda xs, p: float(np.percentile(xs, p))  # noqa: E731
    return {
        "single_p50_ms": q(single, 50),
        "single_p95_ms": q(single, 95),
        f"batch{BATCH}_p50_ms": q(batch, 50),
        f"batch{BATCH}_p95_ms": q(batch, 95),
        f"batch{BATCH}_per_image_ms": statistics.median(batch) / BATCH,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(default_data_dir()))
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--checkpoint", default=str(default_checkpoint()))
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    table = load_dataset(args.data)
    table = table[table["split"] == "train"].sample(args.images, random_state=0)
    paths, labels = table["path"].tolist(), [CLASS_NAMES.index(x) for x in table["label"]]
    naive = naive_throughput(paths, labels, args.size)
    ours_total, ours_steps = our_throughput(paths, labels, args.size)
    rows = [
        ("train img/s, naive torchvision loop (1 epoch)", naive),
        ("train img/s, ours incl. one-off decode (1 epoch)", ours_total),
        ("train img/s, ours per later epoch (cache warm)", ours_steps),
        ("ratio ours/naive, 1 epoch", ours_total / naive),
        ("ratio ours/naive, later epochs", ours_steps / naive),
    ]
    rows += list(latency(Path(args.checkpoint), paths).items())
    rows.append(("peak RSS MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    print(
        f"\n{'measure':<52}{'value':>10}   ({args.images} images, {args.size}px, batch {BATCH}, "
        f"{torch.get_num_threads()} threads)"
    )
    for name, value in rows:
        print(f"{name:<52}{value:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
