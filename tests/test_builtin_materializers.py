"""Built-in materializers pass the same contract every plugin runs."""

from collections import namedtuple
from pathlib import Path

import pytest

from zen_core.materializers.builtin import (
    BuiltInMaterializer,
    BytesMaterializer,
    ContainerMaterializer,
    from_json_tree,
    to_json_tree,
)
from zen_core.testing import MaterializerContract

Point = namedtuple("Point", "x y")


class TestPrimitives(MaterializerContract):
    materializer = BuiltInMaterializer

    @pytest.fixture(params=[0, -7, 2**70, 1.5, float("inf"), "héllo", "", True, False, None],
                    ids=repr)
    def value(self, request):
        return request.param


class TestBytes(MaterializerContract):
    materializer = BytesMaterializer

    @pytest.fixture(params=[b"", b"\x00\xff" * 1000])
    def value(self, request):
        return request.param


class TestContainers(MaterializerContract):
    materializer = ContainerMaterializer

    @pytest.fixture(params=[
        {"a": 1, "b": [1, 2.5, "x", None]},
        [1, (2, 3), {4, 5}, frozenset({6}), b"raw"],
        (1, "two", [3]),
        {1: "int key", (2, 3): "tuple key", "__zen__": "reserved key"},
        set(),
        Point(1, 2),
        [],
        {"nested": {"deep": [{"x": (1,)}]}},
    ], ids=lambda v: type(v).__name__ + str(len(v)))
    def value(self, request):
        return request.param


def test_json_tree_round_trips_exactly():
    value = {"t": (1, [2, (3,)]), 5: {6, 7}, "b": b"\x00"}
    assert from_json_tree(to_json_tree(value)) == value


def test_container_of_unknown_objects_needs_pickle(tmp_path):
    from zen_core.errors import UnsafeArtifactError
    from zen_core.storage import save_data
    from zen_core.testing import local_store

    with pytest.raises(UnsafeArtifactError, match=r"pathlib.*PosixPath.*allow_pickle = false"):
        save_data(local_store(tmp_path), ContainerMaterializer, [Path("/x")], allow_pickle=False,
                  label="'c'")
