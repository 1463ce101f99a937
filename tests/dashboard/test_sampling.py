"""Dataset rows for the sample picker and the gallery, and truth against prediction with partial labels."""

from __future__ import annotations

import pandas as pd

from dashboard.sampling import agrees, sample_rows


def test_sample_rows_filters_and_is_reproducible():
    table = pd.DataFrame(
        {
            "path": [f"{i}.png" for i in range(40)],
            "label": ["normal", "covid"] * 20,
            "split": ["train"] * 30 + ["test"] * 10,
        }
    )
    first = sample_rows(table, 5, seed=1, label=["covid"], split=["test"])
    assert len(first) == 5 and set(first["label"]) == {"covid"} and set(first["split"]) == {"test"}
    assert first.equals(sample_rows(table, 5, seed=1, label=["covid"], split=["test"]))
    assert sample_rows(table, 5, label=["viral"]).empty
    assert len(sample_rows(table, 100)) == 40


def test_a_partial_label_agrees_with_either_member():
    assert agrees("pneumonia", "bacterial") and agrees("pneumonia", "viral")
    assert not agrees("pneumonia", "normal") and not agrees("pneumonia", "covid")
    assert agrees("covid", "covid") and not agrees("viral", "bacterial")
