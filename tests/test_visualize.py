"""Notebook displays outside a kernel: what visualize() returns, the cards, the JSON tree."""

from __future__ import annotations

import pytest

from zen_core import save_artifact
from zen_core.errors import IntegrityError
from zen_core.visualize import json_tree


def test_a_dict_is_its_own_json_visualization_without_a_new_file():
    av = save_artifact({"accuracy": 0.9, "labels": ["a", "b"]}, "report")
    assert av.visualizations == {}  # nothing extra was stored ...
    assert set(av.files) == {"data.json"}
    assert av.visualize() == {f"{av.uri}/data.json": "json"}  # ... the data is declared one
    assert save_artifact(3, "plain").visualize() == {}  # one number: no visualization


def test_artifact_card_formats_numbers_and_escapes_text():
    av = save_artifact(2.0398199999999997, "noisy", tags=["<i>tag</i>"])
    card = av._repr_html_()
    assert "noisy" in card and "<th>value</th><td>2.03982</td>" in card
    assert "&lt;i&gt;tag&lt;/i&gt;" in card and "<i>tag</i>" not in card


def test_json_tree_is_collapsible_escaped_and_survives_deep_nesting():
    tree = json_tree({"name": "<script>", "values": [1, 2.0398199999999997, None], "t": (1, 2)})
    assert tree.count("<details") == 3 and "&quot;&lt;script&gt;&quot;" in tree
    assert "2.03982" in tree and "tuple (2)" in tree and "null" in tree
    deep: list = []
    for _ in range(5000):  # deeper than Python's recursion limit
        deep = [deep]
    assert "more than 2,000 values" in json_tree(deep)


def test_corrupt_json_visualization_is_an_integrity_error():
    av = save_artifact([1, 2, 3], "numbers")
    with open(f"{av.uri}/data.json", "w") as f:  # the local store's URIs are plain paths
        f.write("[1, 2, 4]")
    from zen_core.visualize import bundle

    with pytest.raises(IntegrityError, match=r"visualization '.*data.json' of artifact "
                                             r"numbers:1 is corrupt.*Fix: rerun"):
        bundle(av, f"{av.uri}/data.json", "json")
