"""Forged and damaged derived files for the integrity families of the reliability report.

What someone who can write a shared folder, or a careless copy, could leave behind: an ONNX graph whose metadata
names the shipped checkpoint (it calls every film normal with certainty), a similar-case index whose path, label
or feature columns were rewritten (with its content hash recomputed, as a deliberate rewriter would, or left
stale, as corruption leaves it), and ZIP archives with encrypted, corrupt or unknown-method members or more
members than an upload may declare. Made from fixed seeds; the ONNX graph and the index are written under the
temporary folders the caller gives.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from xray_core.evaluation.reliability.files import dicom, encode, film
from xray_core.inference.similar.store import load_file, save_file
from xray_core.io.uploads import MAX_ZIP_MEMBERS
from xray_core.models.pinned import file_sha256
from xray_core.models.signed import read_header


def forged_graph(path: Path, checkpoint: Path, **meta_changes: object) -> Path:
    """A tiny ONNX graph at ``path`` that calls every film normal with certainty, whose metadata names
    ``checkpoint`` (its file SHA-256 and a copy of its metadata without the refusal statistics) as an export's did
    when the engine trusted that metadata. Input and outputs have the shapes the engine expects. ``meta_changes``:
    further fields to overwrite in that copied metadata (e.g. ``temperature=40.0``)."""
    import onnx
    from onnx import TensorProto, helper

    header = read_header(checkpoint)
    meta = {**header["meta"], "ood": None, "input_stats": None, "temperature": 1.0, **meta_changes}
    prep, classes = meta["preprocessing"], meta["class_names"]
    width = np.shape((header["meta"].get("ood") or {}).get("means", np.zeros((1, 512))))[1]
    bias = np.array([50.0 if name == "normal" else 0.0 for name in classes], np.float32)
    channels = int(prep.get("in_channels", 1))
    initialisers = [
        helper.make_tensor("to_features", TensorProto.FLOAT, (channels, width), np.zeros(channels * width)),
        helper.make_tensor("to_logits", TensorProto.FLOAT, (channels, len(bias)), np.zeros(channels * len(bias))),
        helper.make_tensor("bias", TensorProto.FLOAT, (len(bias),), bias),
    ]
    nodes = [
        helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("MatMul", ["flat", "to_features"], ["features"]),
        helper.make_node("MatMul", ["flat", "to_logits"], ["raw"]),
        helper.make_node("Add", ["raw", "bias"], ["logits"]),
    ]
    side = int(prep.get("image_size", 224))
    graph = helper.make_graph(
        nodes,
        "forged",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", channels, side, side])],
        [
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", width]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", len(bias)]),
        ],
        initialisers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    info = {
        "format": "xray-core-onnx",
        "format_version": 1,
        "checkpoint": checkpoint.name,
        "checkpoint_file_sha256": file_sha256(checkpoint),
        "checkpoint_sha256": header["sha256"],
        "meta": meta,
    }
    entry = model.metadata_props.add()
    entry.key, entry.value = "xray_core", json.dumps(info)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _rewritten(file: Path, recompute: bool, **columns: np.ndarray) -> None:
    """Replace columns of the index ``file``; ``recompute``: also its content hash (a deliberate rewriter),
    otherwise the header is kept as it was (corruption)."""
    if recompute:
        save_file(file, replace(load_file(file), **columns))
        return
    with np.load(file, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    with open(file, "wb") as handle:  # np.savez on a path would append '.npz'
        np.savez(handle, **{**arrays, **columns})


def _read(file: Path, column: str) -> np.ndarray:
    with np.load(file, allow_pickle=False) as stored:
        return stored[column]


def _flipped(features: np.ndarray) -> np.ndarray:
    damaged = features.copy()
    damaged.reshape(-1).view(np.uint8)[::7] ^= 0x40
    return damaged


def index_tamperings(outside: Path) -> dict[str, Callable[[Path], None]]:
    """name -> a function that damages the index file it is given; ``outside`` is a folder outside the corpus."""

    def absolute(files: np.ndarray) -> np.ndarray:
        return np.array([os.path.abspath(outside / Path(f).name) for f in files], dtype=str)

    def parent(files: np.ndarray) -> np.ndarray:
        return np.array([f"../../{Path(f).name}" for f in files], dtype=str)

    return {
        "absolute paths (hash recomputed)": lambda f: _rewritten(f, True, files=absolute(_read(f, "files"))),
        "absolute paths (hash stale)": lambda f: _rewritten(f, False, files=absolute(_read(f, "files"))),
        "'../' paths (hash recomputed)": lambda f: _rewritten(f, True, files=parent(_read(f, "files"))),
        "labels rewritten (hash recomputed)": lambda f: _rewritten(f, True, labels=np.roll(_read(f, "labels"), 1)),
        "feature bytes flipped (hash stale)": lambda f: _rewritten(f, False, features=_flipped(_read(f, "features"))),
        "features a row short (hash recomputed)": lambda f: _rewritten(f, True, features=_read(f, "features")[1:]),
        "NaN features (hash recomputed)": lambda f: _rewritten(
            f, True, features=np.full_like(_read(f, "features"), np.nan)
        ),
        "file truncated": lambda f: f.write_bytes(f.read_bytes()[: f.stat().st_size // 2]),
    }


@dataclass(frozen=True)
class ZipProbe:
    """An uploaded archive: ``good`` members must be read, each ``bad`` one named in its own message; ``whole``:
    the archive must be refused in one message."""

    name: str
    data: bytes
    good: dict[str, bytes]
    bad: tuple[str, ...] = ()
    whole: bool = False


# signature, then the offsets of the flags, the name's length and the name in a local or central-directory header
_LOCAL, _CENTRAL = (b"PK\x03\x04", 6, 26, 30), (b"PK\x01\x02", 8, 28, 46)


def _header_at(data: bytes | bytearray, kind: tuple[bytes, int, int, int], member: str) -> int:
    """Offset of ``member``'s local (``_LOCAL``) or central-directory (``_CENTRAL``) header."""
    signature, _, length_at, name_at = kind
    name, at = member.encode(), data.find(signature)
    while at >= 0:
        length = struct.unpack_from("<H", data, at + length_at)[0]
        if data[at + name_at : at + name_at + length] == name:
            return at
        at = data.find(signature, at + 1)
    raise ValueError(f"no header for {member}")


def _patched(data: bytes, member: str, flags: int = 0, method: int | None = None, crc: int | None = None) -> bytes:
    """``data`` with ``member``'s local and central headers changed: ``flags`` or-ed in, method or CRC replaced."""
    out = bytearray(data)
    for kind in (_LOCAL, _CENTRAL):
        at, flag_at = _header_at(out, kind, member), kind[1]
        struct.pack_into("<H", out, at + flag_at, struct.unpack_from("<H", out, at + flag_at)[0] | flags)
        if method is not None:
            struct.pack_into("<H", out, at + flag_at + 2, method)
        if crc is not None:
            struct.pack_into("<I", out, at + flag_at + 8, crc)
    return bytes(out)


def _archive(members: dict[str, bytes], deflated: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content, zipfile.ZIP_DEFLATED if name in deflated else zipfile.ZIP_STORED)
    return buffer.getvalue()


def _corrupt_deflate(data: bytes, member: str) -> bytes:
    """The first byte of ``member``'s deflate stream set to a block type deflate does not have (0b11)."""
    at = _header_at(data, _LOCAL, member)
    start = at + 30 + struct.unpack_from("<H", data, at + 26)[0] + struct.unpack_from("<H", data, at + 28)[0]
    return data[:start] + b"\xff" + data[start + 1 :]


def zip_probes(seed: int = 0) -> list[ZipProbe]:
    """Archives each holding two good films beside broken members, and one with too many members."""
    good = {"films/a.png": encode(film(96, 80, seed), "PNG"), "films/b.dcm": dicom(film(80, 72, seed + 1))}
    broken = encode(film(64, 64, seed + 2), "PNG")
    probes = []
    for name, bad, damage in (
        ("encrypted_member.zip", "secret.png", lambda d: _patched(d, "secret.png", flags=0x1)),
        ("bad_crc.zip", "crc.png", lambda d: _patched(d, "crc.png", crc=0x12345678)),
        ("corrupt_deflate.zip", "corrupt.png", lambda d: _corrupt_deflate(d, "corrupt.png")),
        ("unknown_method.zip", "method99.png", lambda d: _patched(d, "method99.png", method=99)),
    ):
        probes.append(ZipProbe(name, damage(_archive({bad: broken, **good}, deflated=(bad,))), good, (bad,)))
    every = ("secret.png", "crc.png", "method99.png")
    data = _archive({**dict.fromkeys(every, broken), **good})
    data = _patched(_patched(_patched(data, "secret.png", flags=0x1), "crc.png", crc=1), "method99.png", method=99)
    probes.append(ZipProbe("three_broken_members.zip", data, good, every))
    many = {**good, **{f"notes/{index}.txt": b"" for index in range(MAX_ZIP_MEMBERS)}}
    probes.append(ZipProbe(f"{MAX_ZIP_MEMBERS + 2}_members.zip", _archive(many), {}, whole=True))
    return probes


__all__ = ["ZipProbe", "forged_graph", "index_tamperings", "zip_probes"]
