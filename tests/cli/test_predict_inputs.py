"""``predict`` with awkward arguments: a folder among files, a file given twice, a bad ``--out``, a table another
run is writing, DICOM headers that say "not a chest film", a deflate bomb: clear rows or messages, never a
traceback and never an aborted run."""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from xray_core.cli.main import main
from xray_core.evaluation.reliability.files import deflated_dicom, dicom, film
from xray_core.inference import folder


@pytest.fixture()
def films(tmp_path):
    root = tmp_path / "films"
    root.mkdir()
    for index in range(2):
        Image.fromarray((np.random.default_rng(index).random((80, 64)) * 255).astype("uint8")).save(
            root / f"{index}.png"
        )
    return root


def _predict(capsys, *argv: str) -> tuple[int, list[dict], str]:
    code = main(["predict", *argv, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else [], captured.err


def test_a_folder_among_files_is_one_error_row(tiny_checkpoint, films, capsys):
    first, second = films / "0.png", films / "1.png"
    code, rows, _ = _predict(capsys, str(first), str(films), str(second), "--checkpoint", str(tiny_checkpoint))
    assert code == 1 and [row["file"] for row in rows] == [str(first), str(films), str(second)]
    assert "label" in rows[0] and "label" in rows[2]
    assert rows[1]["error"].startswith(f"{films}: a folder among files") and "--out" in rows[1]["error"]


def test_a_file_given_twice_is_audited_with_its_own_hash_twice(tiny_checkpoint, films, tmp_path, monkeypatch, capsys):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("XRAY_AUDIT_LOG", str(log))
    film_path = films / "0.png"
    code, rows, _ = _predict(capsys, str(film_path), str(film_path), "--checkpoint", str(tiny_checkpoint))
    assert code == 0 and len(rows) == 2
    digests = [json.loads(line)["input_sha256"] for line in log.read_text().splitlines()]
    assert digests == [hashlib.sha256(film_path.read_bytes()).hexdigest()] * 2


@pytest.mark.parametrize("name, content", [("t.csv", None), ("t.parquet", b"file,label\n0.png,normal\n")])
def test_an_output_that_is_not_a_parquet_table_is_a_clear_message(
    tiny_checkpoint, films, tmp_path, capsys, name, content
):
    out = tmp_path / name
    if content is not None:
        out.write_bytes(content)
    code, _, err = _predict(capsys, str(films), "--out", str(out), "--checkpoint", str(tiny_checkpoint))
    assert code == 2 and err.startswith(f"error: {out}:") and "Traceback" not in err
    assert content is None or out.read_bytes() == content  # never overwritten


def test_a_second_run_on_a_table_being_written_is_refused(tiny_checkpoint, films, tmp_path, capsys):
    out = tmp_path / "t.parquet"
    argv = [str(films), "--out", str(out), "--checkpoint", str(tiny_checkpoint), "--workers", "0", "--no-progress"]
    with folder.output_lock(out):
        code, _, err = _predict(capsys, *argv)
    assert code == 2 and "another folder run is writing this table" in err and not out.exists()
    assert _predict(capsys, *argv)[0] == 0 and out.exists()


def _dx_frontal() -> bytes:
    ds = pydicom.dcmread(io.BytesIO(dicom(film(96, 80))))
    ds.Modality, ds.ViewPosition = "DX", "AP"
    return _saved(ds)


def test_dicom_headers_decide_before_scoring(tiny_checkpoint, tmp_path, capsys):
    files = {"dx.dcm": _dx_frontal(), "lateral.dcm": None, "bomb.dcm": deflated_dicom(film(96, 80), zeros=300 << 20)}
    ds = pydicom.dcmread(io.BytesIO(files["dx.dcm"]))
    ds.ViewPosition = "LL"
    files["lateral.dcm"] = _saved(ds)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    paths = [get_testdata_file("CT_small.dcm")] + [str(tmp_path / name) for name in files]
    code, rows, _ = _predict(capsys, *paths, "--checkpoint", str(tiny_checkpoint))
    assert code == 1
    ct, dx, lateral, bomb = rows
    assert "Modality CT" in ct["error"] and "label" in dx and "ViewPosition LL" in lateral["error"]
    assert "deflate bomb" in bomb["error"]


def _saved(ds: pydicom.Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
