import json
import re

import pytest

from xray_core.cli.main import build_parser, main
from xray_core.models.checkpoint import load_checkpoint


@pytest.fixture()
def png(tmp_path):
    import numpy as np
    from PIL import Image

    path = tmp_path / "chest.png"
    Image.fromarray((np.random.default_rng(0).random((80, 64)) * 255).astype("uint8")).save(path)
    return path


def test_predict_json_has_file_label_probabilities(tiny_checkpoint, png, capsys):
    assert main(["predict", str(png), "--checkpoint", str(tiny_checkpoint), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0]["file"] == str(png)
    assert set(rows[0]["probabilities"]) == {"normal", "bacterial", "viral", "covid"}
    assert rows[0]["label"] in rows[0]["probabilities"]
    assert "refused" in rows[0] and "ood_score" in rows[0]


def test_predict_reports_bad_files_and_keeps_going(tiny_checkpoint, png, tmp_path, capsys):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    assert main(["predict", str(png), str(bad), "--checkpoint", str(tiny_checkpoint), "--json"]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert "label" in rows[0] and "notes.png" in rows[1]["error"]


def test_predict_table_and_missing_checkpoint(tiny_checkpoint, png, tmp_path, capsys):
    assert main(["predict", str(png), "--checkpoint", str(tiny_checkpoint)]) == 0
    assert "normal" in capsys.readouterr().out
    assert main(["predict", str(png), "--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert "not found" in capsys.readouterr().err


def test_every_command_has_help(capsys):
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"predict", "train", "evaluate", "placeholder"} <= set(commands)
    for name in commands:
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
    assert "--image-size" in capsys.readouterr().out


def test_placeholder_is_labelled_untrained(tmp_path):
    out = tmp_path / "placeholder.pt"
    assert main(["placeholder", str(out), "--image-size", "64"]) == 0
    loaded = load_checkpoint(out)
    assert not loaded.trained and "untrained" in loaded.version


def test_predict_writes_the_audit_log_when_enabled(tiny_checkpoint, png, tmp_path, monkeypatch, capsys):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("XRAY_AUDIT_LOG", str(log))
    assert main(["predict", str(png), "--checkpoint", str(tiny_checkpoint), "--json"]) == 0
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) == 1 and "chest.png" not in log.read_text()
    assert set(records[0]["probabilities"]) == {"normal", "bacterial", "viral", "covid"}


def test_missing_file_is_a_clear_error(tiny_checkpoint, tmp_path, capsys):
    assert main(["predict", str(tmp_path / "nope.png"), "--checkpoint", str(tiny_checkpoint), "--json"]) == 1
    assert re.search(r"nope\.png: cannot (open|read) the file", json.loads(capsys.readouterr().out)[0]["error"])
