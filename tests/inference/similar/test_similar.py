"""The similar-case index: exact k-nearest on hand-made features, and an index that follows the checkpoint hash."""

from __future__ import annotations

import numpy as np
import pytest
from _checkpoints import tiny_checkpoint

from xray_core.inference.similar import search as similar
from xray_core.inference.similar import store as similar_store
from xray_core.inference.similar.search import SimilarCasesUnavailable, load_index, query, summary
from xray_core.inference.similar.store import SimilarIndex
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import load_checkpoint


def _index(features: np.ndarray, labels: list[str]) -> SimilarIndex:
    n = len(features)
    return SimilarIndex(
        features=similar.normalise(features),
        files=np.array([f"f{i}.png" for i in range(n)]),
        labels=np.array(labels),
        sources=np.array(["s"] * n),
        age_groups=np.array(["adult"] * n),
        checkpoint_sha256="x",
        fingerprint="y",
        root="/data",
    )


def test_query_returns_the_k_nearest_by_cosine_nearest_first() -> None:
    angles = np.deg2rad([0, 10, 50, 90, 180, 20])  # unit vectors at these angles; lengths must not matter
    lengths = np.array([1, 5, 2, 0.3, 7, 9])
    features = np.stack([np.cos(angles), np.sin(angles)], axis=1) * lengths[:, None]
    index = _index(features, ["a", "b", "c", "d", "e", "f"])
    cases = query(index, np.array([3.0, 0.0]), k=3)
    assert [case.file for case in cases] == ["f0.png", "f1.png", "f5.png"]
    assert [case.distance for case in cases] == pytest.approx(
        [0.0, 1 - np.cos(np.deg2rad(10)), 1 - np.cos(np.deg2rad(20))], abs=1e-6
    )
    assert cases[0].to_dict() == {"file": "f0.png", "label": "a", "source": "s", "age_group": "adult", "distance": 0.0}
    assert cases[0].path == "/data/f0.png"


def test_query_agrees_with_brute_force_on_random_features() -> None:
    rng = np.random.default_rng(1)
    features = rng.normal(size=(500, 16)).astype(np.float32)
    index = _index(features, ["a"] * 500)
    probe = rng.normal(size=16)
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    expected = np.argsort(-(unit @ (probe / np.linalg.norm(probe))), kind="stable")[:7]
    assert [case.file for case in query(index, probe, k=7)] == [f"f{i}.png" for i in expected]


def test_query_with_k_beyond_the_index_returns_all_and_rejects_k_zero() -> None:
    index = _index(np.eye(3), ["a", "b", "c"])
    assert len(query(index, np.array([1.0, 0, 0]), k=10)) == 3
    with pytest.raises(ValueError, match="k must be"):
        query(index, np.array([1.0, 0, 0]), k=0)


def test_summary_counts_the_most_common_label_and_breaks_ties_by_nearness() -> None:
    index = _index(np.array([[1.0, 0], [0.9, 0.1], [0.8, 0.2], [0.7, 0.3]]), ["viral", "normal", "normal", "viral"])
    cases = query(index, np.array([1.0, 0.0]), k=4)
    assert summary(cases) == {"label": "viral", "count": 2, "k": 4}
    assert summary(cases[1:]) == {"label": "normal", "count": 2, "k": 3}
    assert summary([]) == {"label": None, "count": 0, "k": 0}


def test_index_follows_the_checkpoint_hash(tmp_path, monkeypatch, tiny_dataset) -> None:
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    first = load_checkpoint(tiny_checkpoint(tmp_path / "a.pt", "one"))
    second = load_checkpoint(tiny_checkpoint(tmp_path / "b.pt", "two", seed=1))
    assert first.sha256 != second.sha256
    builds: list[int] = []
    index = load_index(first, tiny_dataset, on_build=builds.append)
    assert builds == [48] and len(index) == 48 and index.checkpoint_sha256 == first.sha256
    again = load_index(first, tiny_dataset, on_build=builds.append)  # same checkpoint: reused from disk
    assert builds == [48]
    np.testing.assert_array_equal(again.features, index.features)
    other = load_index(second, tiny_dataset, on_build=builds.append)  # another checkpoint: its own index
    assert builds == [48, 48] and other.checkpoint_sha256 == second.sha256
    assert not np.allclose(other.features, index.features)
    load_index(first, tiny_dataset, on_build=builds.append)  # the first one's file is still there
    assert builds == [48, 48]
    load_index(first, tiny_dataset, rebuild=True, on_build=builds.append)  # explicit rebuild
    assert len(builds) == 3
    with pytest.raises(ValueError, match="another checkpoint"):
        similar.similar_cases(first, read_image(tiny_dataset / "images" / "000.png"), other)


def test_a_stale_index_is_rebuilt(tmp_path, monkeypatch, tiny_dataset) -> None:
    """A file under this checkpoint's name but for other weights, or for another training table, is rebuilt."""
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    loaded = load_checkpoint(tiny_checkpoint(tmp_path / "a.pt", "one"))
    builds: list[int] = []
    index = load_index(loaded, tiny_dataset, on_build=builds.append)
    index.checkpoint_sha256, index.features_key = "0" * 64, "other weights"
    similar_store.save_file(similar.index_path(loaded), index)
    load_index(loaded, tiny_dataset, on_build=builds.append)
    assert len(builds) == 2
    manifest = tiny_dataset / "manifest.csv"
    original = manifest.read_text()
    try:
        manifest.write_text(original.replace("images/000.png,normal", "images/000.png,viral"))
        rebuilt = load_index(loaded, tiny_dataset, on_build=builds.append)
        assert len(builds) == 3 and rebuilt.labels[0] == "viral"
    finally:
        manifest.write_text(original)


def test_a_training_film_finds_itself_first(tmp_path, monkeypatch, tiny_dataset) -> None:
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    loaded = load_checkpoint(tiny_checkpoint(tmp_path / "a.pt", "one"))
    index = load_index(loaded, tiny_dataset)
    cases = similar.similar_cases(loaded, read_image(tiny_dataset / index.files[5]), index, k=6)
    assert len(cases) == 6 and cases[0].file == index.files[5]
    assert cases[0].distance < 1e-3
    assert [c.distance for c in cases] == sorted(c.distance for c in cases)
    assert similar.thumbnail(cases[0], side=32).shape == (32, 27)  # 48 x 40 film, longer side 32, aspect kept


def test_a_missing_dataset_says_what_to_do(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    loaded = load_checkpoint(tiny_checkpoint(tmp_path / "a.pt", "one"))
    with pytest.raises(SimilarCasesUnavailable, match="XRAY_DATA_DIR"):
        load_index(loaded, tmp_path / "nowhere")


def test_new_metadata_on_the_same_weights_reuses_the_features(tmp_path, monkeypatch, tiny_dataset) -> None:
    """A refitted temperature or operating point changes the SHA-256 (new index file) but not the features."""
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    first = load_checkpoint(tiny_checkpoint(tmp_path / "a.pt", "one", seed=3))
    refit = load_checkpoint(tiny_checkpoint(tmp_path / "b.pt", "one-refit", seed=3))
    assert first.sha256 != refit.sha256
    builds: list[int] = []
    index = load_index(first, tiny_dataset, on_build=builds.append)
    again = load_index(refit, tiny_dataset, on_build=builds.append)
    assert builds == [48]  # copied, not recomputed
    assert again.checkpoint_sha256 == refit.sha256 and similar.index_path(refit).is_file()
    np.testing.assert_array_equal(again.features, index.features)
    assert similar.index_is_current(refit, tiny_dataset)


def test_rewritten_columns_are_never_shown(tmp_path, monkeypatch, tiny_dataset) -> None:
    """A cache file whose shown columns were rewritten (an absolute path outside the corpus, with a freshly
    computed content hash, as anyone who can write the cache could) is rebuilt from the training table."""
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    loaded = load_checkpoint(tiny_checkpoint(tmp_path / "a.pt", "one"))
    builds: list[int] = []
    index = load_index(loaded, tiny_dataset, on_build=builds.append)
    honest = index.files.copy()
    for forged in ("/etc/passwd", "../../outside.png", str(tiny_dataset / index.files[1])):
        index.files = np.array([forged, *honest[1:]])
        similar_store.save_file(similar.index_path(loaded), index)  # header, fingerprint and content hash agree
        assert not similar.index_is_current(loaded, tiny_dataset)
        again = load_index(loaded, tiny_dataset, on_build=builds.append)
        np.testing.assert_array_equal(again.files, honest)
    assert len(builds) == 4


def test_a_damaged_index_file_is_rebuilt(tmp_path, monkeypatch, tiny_dataset) -> None:
    monkeypatch.setenv("XRAY_CACHE_DIR", str(tmp_path / "cache"))
    loaded = load_checkpoint(tiny_checkpoint(tmp_path / "a.pt", "one"))
    builds: list[int] = []
    load_index(loaded, tiny_dataset, on_build=builds.append)
    file = similar.index_path(loaded)
    with np.load(file, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["features"] = arrays["features"].copy()
    arrays["features"][3, 0] += 0.5  # header untouched: only the content hash notices
    np.savez(file, **arrays)
    assert similar_store.load_file(file) is None
    load_index(loaded, tiny_dataset, on_build=builds.append)
    assert len(builds) == 2


@pytest.mark.parametrize(
    "damage",
    ["truncated", "a row short", "a row too many", "NaN", "float64", "short labels"],
)
def test_a_malformed_index_file_is_not_loaded(tmp_path, damage: str) -> None:
    """A truncated file, or features that are not one finite float32 row per film with the content hash recomputed
    (a rewriter can), loads as None (rebuilt), never as an index that mis-pairs films and distances or raises."""
    file, index = tmp_path / "similar.npz", _index(np.eye(4, 6), ["a", "b", "c", "d"])
    similar_store.save_file(file, index)
    assert similar_store.load_file(file) is not None
    features, labels = index.features, index.labels
    if damage == "truncated":
        file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])
    else:
        changed = {
            "a row short": {"features": features[1:]},
            "a row too many": {"features": np.vstack([features, features[:1]])},
            "NaN": {"features": np.where(features > 0, np.nan, features).astype(np.float32)},
            "float64": {"features": features.astype(np.float64)},
            "short labels": {"labels": labels[1:]},
        }[damage]
        similar_store.save_file(file, SimilarIndex(**{**index.__dict__, **changed}))
    assert similar_store.load_file(file) is None


@pytest.mark.parametrize("entry", ["/etc/passwd", "../secret.png", "images/../../secret.png", ""])
def test_query_refuses_an_entry_outside_the_data_folder(entry: str) -> None:
    index = _index(np.eye(2), ["a", "b"])
    index.files = np.array([entry, "images/ok.png"])
    with pytest.raises(ValueError, match="not a path inside the data folder"):
        query(index, np.array([1.0, 0.0]), k=2)
    assert [case.path for case in query(index, np.array([0.0, 1.0]), k=1)] == ["/data/images/ok.png"]
