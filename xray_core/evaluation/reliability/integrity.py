"""The integrity families of the reliability report: forged or damaged files the app must never trust.

* ``forged ONNX export``: graphs that name the checkpoint in their metadata, planted in a temporary
  ``XRAY_ONNX_DIR`` (one with a record of its own beside it). The engine must ignore each with a message naming
  it, and every film must get torch's prediction, refusal included.
* ``tampered similar-case index``: copies of a tiny index (a handful of generated films, not the corpus) with
  rewritten path or label columns and damaged feature arrays. Each must be rebuilt, and no case outside the data
  folder or from the rewritten columns shown.
* ``ZIP archives``: encrypted, corrupt and unknown-method members beside good films, and an archive with more
  members than an upload may declare. Each broken member gets its own message, the good films are still read,
  and the oversized archive is refused in one message.

Each probe is one input: refused or rebuilt as the check says (``input_errors``), a crash (anything raised), or
a failed check (``failed_checks``, with what went wrong in ``failures``). Files go to temporary folders;
``XRAY_CACHE_DIR`` and ``XRAY_ONNX_DIR`` point there while a family runs, so the user's caches are never touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from xray_core.evaluation.reliability.files import encode, film
from xray_core.evaluation.reliability.forgeries import ZipProbe, forged_graph, index_tamperings, zip_probes
from xray_core.evaluation.reliability.report import FamilyResult
from xray_core.inference.predict import Prediction, predict_batch
from xray_core.inference.similar.store import SimilarIndex
from xray_core.io.image import XrayImage
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import LoadedModel

FORGED_ONNX, TAMPERED_INDEX, ZIP_ARCHIVES = "forged ONNX export", "tampered similar-case index", "ZIP archives"
Probe = Callable[[], tuple[str | None, str]]  # () -> (what went wrong or None, a short note of what happened)


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Environment variables set for the block and restored after it."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_probe(result: FamilyResult, name: str, probe: Probe) -> None:
    """Count one probe: refused as it should be, a failed check, or a crash; never raises."""
    result.inputs += 1
    try:
        problem, note = probe()
    except Exception as error:  # the report exists to count these
        result.crashes += 1
        result.crash_examples.append(f"{name}: {type(error).__name__}: {str(error)[:160]}")
        return
    result.notable.append(f"{name}: {note[:140]}")
    if problem is None:
        result.input_errors += 1
    else:
        result.failed_checks += 1
        result.failures.append(f"{name}: {problem[:300]}")


def _films(seed: int) -> list[XrayImage]:
    """Two chest-like films and a noise image (which a trained model refuses), read as uploads are."""
    noise = np.random.default_rng(seed).integers(0, 256, (90, 90), dtype=np.uint8)
    images = {"film_a.png": film(128, 112, seed), "film_b.png": film(112, 128, seed + 1), "noise.png": noise}
    return [read_image(encode(pixels, "PNG"), name=name) for name, pixels in images.items()]


def _differences(expected: Sequence[Prediction], actual: Sequence[Prediction]) -> list[str]:
    """Films whose label, probabilities, refusal or decisions differ from torch's."""
    differences = []
    for want, got in zip(expected, actual, strict=True):
        same = np.allclose(list(got.probabilities.values()), list(want.probabilities.values()), atol=1e-5)
        codes = [d.code for d in got.decisions] == [d.code for d in want.decisions]
        if not (same and codes and got.label == want.label and got.refused == want.refused):
            differences.append(
                f"{want.name}: {got.label} {got.probabilities[got.label]:.1%} refused={got.refused}, "
                f"torch {want.label} {want.probabilities[want.label]:.1%} refused={want.refused}"
            )
    return differences


def _forged_export_ignored(
    loaded: LoadedModel,
    checkpoint: Path,
    folder: Path,
    names: str,
    environment: dict[str, str],
    films: list[XrayImage],
) -> tuple[str | None, str]:
    """Load the engine of ``checkpoint`` (a copy of ``loaded``'s file) with ``folder`` as ``XRAY_ONNX_DIR`` and score
    ``films`` as ``predict`` does (torch when the engine says why it cannot); the refusal must name ``names``, and
    every film get torch's prediction."""
    from xray_core.inference.onnx.engine import load_onnx
    from xray_core.inference.onnx.records import OnnxUnavailable

    expected = predict_batch(loaded, films)
    with _environment(XRAY_ONNX_DIR=str(folder), **environment):
        try:
            engine = load_onnx(checkpoint)
        except OnnxUnavailable as why:
            differences = _differences(expected, predict_batch(loaded, films))
            if why.quiet or names not in str(why):
                return f"refused without naming {names!r}: {why}", str(why)
            return ("; ".join(differences) or None), str(why)
        differences = _differences(expected, engine.predict_batch(films))
    return f"the ONNX engine ran it; {'; '.join(differences) or 'same predictions'}", "used by the engine"


def _forgeries(checkpoint: Path, root: Path) -> list[tuple[str, Path, str, dict[str, str]]]:
    """(name, export folder, what the refusal must name, environment) of each forged export under ``root``."""
    from xray_core.inference.onnx.engine import export_path
    from xray_core.inference.onnx.records import record_export
    from xray_core.models.pinned import file_sha256

    sha = file_sha256(checkpoint)
    named = forged_graph(export_path(checkpoint, sha, root / "named"), checkpoint)
    truncated = export_path(checkpoint, sha, root / "truncated")
    truncated.parent.mkdir()
    truncated.write_bytes(named.read_bytes()[: named.stat().st_size // 2])
    vouched = forged_graph(export_path(checkpoint, sha, root / "shared"), checkpoint)
    shared = vouched.parent
    with _environment(XRAY_CACHE_DIR=str(shared)):  # a record written by whoever can write the export folder
        record_export(checkpoint, sha, file_sha256(vouched), vouched)
    return [
        ("graph naming the checkpoint", named.parent, named.name, {}),
        ("truncated graph", truncated.parent, truncated.name, {}),
        ("graph with a record in its own folder", shared, "holds the records", {"XRAY_CACHE_DIR": str(shared)}),
    ]


def forged_onnx_family(loaded: LoadedModel, seed: int = 0) -> FamilyResult:
    """Forged ONNX exports of ``loaded``'s checkpoint file: each ignored, every film scored as torch scores it."""
    result = FamilyResult(FORGED_ONNX, integrity=True)
    try:
        import onnx  # noqa: F401 (forging a graph needs it; the engine itself needs only onnxruntime)
    except ImportError:
        result.notable.append("not probed: the onnx package is not installed")
        return result
    if not loaded.path or not Path(loaded.path).is_file():
        result.notable.append("not probed: the model was not loaded from a file")
        return result
    films = _films(seed)
    with tempfile.TemporaryDirectory(prefix="xray-forged-onnx-") as root:
        # a copy: the forgeries stay keyed to the file probed even if the original is replaced meanwhile
        checkpoint = Path(shutil.copy2(loaded.path, Path(root) / Path(loaded.path).name))
        for name, folder, names, environment in _forgeries(checkpoint, Path(root)):
            probe = partial(_forged_export_ignored, loaded, checkpoint, folder, names, environment, films)
            _run_probe(result, name, probe)
    return result


def _tiny_corpus(root: Path, seed: int, count: int = 6) -> Path:
    """A manifest corpus of ``count`` generated training films under ``root``."""
    (root / "images").mkdir(parents=True)
    rows = ["file,label,split,patient_id,source,age_group"]
    for index in range(count):
        (root / "images" / f"{index}.png").write_bytes(encode(film(128, 112, seed + index), "PNG"))
        label = ("normal", "bacterial", "viral", "covid")[index % 4]
        rows.append(f"images/{index}.png,{label},train,p{index},generated,{('adult', 'pediatric')[index % 2]}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


def _index_rebuilt(loaded: LoadedModel, data: Path, genuine: SimilarIndex, image: XrayImage) -> tuple[str | None, str]:
    """Load the index over ``data`` after it was tampered with: it must equal the genuine one, and every case
    shown must be a film inside ``data``."""
    from xray_core.inference.similar.search import load_index, similar_cases

    built = []
    shown = load_index(loaded, data, on_build=built.append)
    cases = similar_cases(loaded, image, shown, k=len(genuine))
    outside = [case.file for case in cases if not Path(case.path).resolve().is_relative_to(data.resolve())]
    problems = [f"shows {len(outside)} cases outside the data folder ({outside[0]})"] if outside else []
    if not built:
        problems.append("the tampered file was used as stored")
    same_features = shown.features.shape == genuine.features.shape and np.allclose(
        shown.features, genuine.features, atol=1e-5
    )
    for column in ("files", "labels", "sources", "age_groups"):
        if not np.array_equal(getattr(shown, column), getattr(genuine, column)):
            problems.append(f"its {column} column was used")
    if not same_features:
        problems.append("its feature array was used")
    return ("; ".join(problems) or None), ("rebuilt" if built else "used as stored")


def tampered_index_family(loaded: LoadedModel, seed: int = 0) -> FamilyResult:
    """Tampered copies of a tiny similar-case index of ``loaded``: each rebuilt, nothing outside the corpus shown."""
    from xray_core.inference.similar.search import load_index
    from xray_core.inference.similar.store import index_path

    result = FamilyResult(TAMPERED_INDEX, integrity=True)
    with tempfile.TemporaryDirectory(prefix="xray-similar-") as root, _environment(XRAY_CACHE_DIR=f"{root}/cache"):
        data = _tiny_corpus(Path(root) / "data", seed)
        genuine, file = load_index(loaded, data), index_path(loaded)
        original, image = file.read_bytes(), read_image(encode(film(128, 112, seed + 99), "PNG"), name="query.png")
        for name, tamper in index_tamperings(Path(root) / "outside").items():
            file.write_bytes(original)
            tamper(file)
            _run_probe(result, name, partial(_index_rebuilt, loaded, data, genuine, image))
    return result


def _zip_handled(probe: ZipProbe) -> tuple[str | None, str]:
    """Expand ``probe`` as the Batch page does and hold it to what the probe says."""
    from xray_core.io.uploads import MAX_ZIP_MESSAGES, expand_uploads

    expanded = expand_uploads([(probe.name, probe.data)])
    read, messages = dict(expanded.files), expanded.skipped
    note = f"{len(read)} films read; " + " | ".join(messages)
    if probe.whole:
        clear = len(messages) == 1 and messages[0].startswith(f"{probe.name}:") and "limit" in messages[0]
        return (None if clear and not read else f"not refused in one message ({len(messages)} messages)"), note
    problems = [f"good member {m} not read" for m, data in probe.good.items() if read.get(f"{probe.name}/{m}") != data]
    for member in probe.bad:
        own = [message for message in messages if message.startswith(f"{probe.name}/{member}:")]
        if len(own) != 1 or f"{probe.name}/{member}" in read:
            problems.append(f"broken member {member}: {len(own)} messages, {'read' if own else 'not named'}")
    if len(messages) > MAX_ZIP_MESSAGES + 1:
        problems.append(f"{len(messages)} messages")
    return ("; ".join(problems) or None), note


def zip_family(seed: int = 0) -> FamilyResult:
    """Broken and oversized upload archives through ``expand_uploads``."""
    result = FamilyResult(ZIP_ARCHIVES, integrity=True)
    for probe in zip_probes(seed):
        _run_probe(result, probe.name, partial(_zip_handled, probe))
    return result


def integrity_families(loaded: LoadedModel, seed: int = 0) -> list[tuple[str, Callable[[], FamilyResult]]]:
    """(family, run) of each integrity family, in report order."""
    return [
        (FORGED_ONNX, partial(forged_onnx_family, loaded, seed)),
        (TAMPERED_INDEX, partial(tampered_index_family, loaded, seed)),
        (ZIP_ARCHIVES, partial(zip_family, seed)),
    ]


__all__ = [
    "FORGED_ONNX",
    "TAMPERED_INDEX",
    "ZIP_ARCHIVES",
    "forged_onnx_family",
    "integrity_families",
    "tampered_index_family",
    "zip_family",
]
