"""Outputs handed to the next steps in memory (zen_core.execution.handoff): consumers get
what ``load()`` would give, mutable values and files always come from the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zen_core import UnmaterializedArtifact, pipeline, step
from zen_core.execution import task as task_module
from zen_core.execution.handoff import MAX_BYTES, MAX_ITEMS, can_hand_off
from zen_core.materializers.builtin import (
    BuiltInMaterializer,
    BytesMaterializer,
    ContainerMaterializer,
    PickleMaterializer,
    StructuredStringMaterializer,
)
from zen_core.types import HTMLString

received: list[Any] = []


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The artifacts steps load from the store, by label."""
    seen: list[str] = []
    real = task_module.load_data

    def counting(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["label"])
        return real(*args, **kwargs)

    monkeypatch.setattr(task_module, "load_data", counting)
    return seen


def pass_on(value: Any, annotation: Any = Any):
    def produce():
        return value

    def consume(data) -> None:
        received.append(data)

    # set by hand: this module's annotations are strings, and ``annotation`` is local
    produce.__annotations__ = {"return": annotation}
    consume.__annotations__ = {"data": annotation, "return": None}
    produce, consume = step(enable_cache=False)(produce), step(enable_cache=False)(consume)

    @pipeline(enable_cache=False)
    def handing():
        consume(produce())

    return handing


@pytest.mark.parametrize("value", [
    7, -0.5, True, None, "text", b"\x00bytes", (1, ("a", b"b"), None),
    frozenset({1, 2}), 2**80, float("inf"),
], ids=repr)
def test_a_small_immutable_output_reaches_the_next_step_as_load_would_give_it(value, loads):
    received.clear()
    run = pass_on(value)()
    (got,) = received
    stored = run.steps["produce"].outputs["output"].load()
    assert got == stored and type(got) is type(stored)
    assert loads == []  # handed over: the consumer read nothing back from the store
    assert run.steps["consume"].inputs["data"].id == run.steps["produce"].outputs["output"].id


def test_mutable_outputs_come_from_the_store_and_no_two_consumers_share_one():
    @step(enable_cache=False)
    def produce() -> list:
        return [1, 2]

    @step(enable_cache=False)
    def spoil(items: list) -> None:
        items.append("spoiled")
        received.append(items)

    @step(enable_cache=False)
    def read(items: list) -> None:
        received.append(items)

    @pipeline(enable_cache=False)
    def sharing():
        items = produce()
        spoil(items)
        read(items)

    received.clear()
    sharing()
    assert received == [[1, 2, "spoiled"], [1, 2]]
    assert received[0] is not received[1]


def test_a_path_is_never_handed_over(tmp_path: Path, loads):
    source = tmp_path / "notes.txt"
    source.write_text("hello")
    received.clear()
    run = pass_on(source, Path)()
    (got,) = received
    assert got != source and got.read_text() == "hello"  # the store's copy, not the original
    assert len(loads) == 1
    assert run.steps["consume"].status == "completed"


def test_an_unmaterialized_input_is_still_the_artifact(loads):
    @step(enable_cache=False)
    def produce() -> int:
        return 3

    @step(enable_cache=False)
    def look(data: UnmaterializedArtifact) -> None:
        received.append(data)

    @pipeline(enable_cache=False)
    def unmaterialized():
        look(produce())

    received.clear()
    run = unmaterialized()
    (got,) = received
    assert isinstance(got, UnmaterializedArtifact)
    assert got.id == run.steps["produce"].outputs["output"].id


def test_a_large_string_is_loaded_like_any_artifact(loads):
    received.clear()
    pass_on("x" * (MAX_BYTES + 1), str)()
    assert received == ["x" * (MAX_BYTES + 1)] and len(loads) == 1


@pytest.mark.parametrize(("value", "materializer"), [
    ([1], ContainerMaterializer),  # mutable
    ({"a": 1}, ContainerMaterializer),
    ((1, [2]), ContainerMaterializer),  # immutable outside, mutable inside
    (tuple(range(MAX_ITEMS + 1)), ContainerMaterializer),
    ("x" * (MAX_BYTES + 1), BuiltInMaterializer),
    (b"x" * (MAX_BYTES + 1), BytesMaterializer),
    (HTMLString("<b>x</b>"), StructuredStringMaterializer),  # a subclass of str
    (5, PickleMaterializer),  # a materializer chosen by the user may store it otherwise
    (Path("/tmp/x"), BuiltInMaterializer),
])
def test_what_is_never_handed_over(value, materializer):
    assert not can_hand_off(value, materializer)


def test_what_is_handed_over():
    assert can_hand_off((1, "a", (b"b", frozenset({2.5}))), ContainerMaterializer)
    assert can_hand_off("x" * MAX_BYTES, BuiltInMaterializer)
    assert can_hand_off(b"x", BytesMaterializer)
