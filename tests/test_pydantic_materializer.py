"""Pydantic models as JSON, claimed by name (zen_core never imports pydantic itself)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from zen_core.materializers.builtin import PydanticMaterializer
from zen_core.testing import MaterializerContract

pydantic = pytest.importorskip("pydantic")
GOLDEN = Path(__file__).parent / "golden"


@dataclasses.dataclass
class Shape:
    dims: tuple[int, ...]


class Settings(pydantic.BaseModel):
    name: str
    layers: list[int]
    rate: float = 0.1


class Opaque(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)
    thing: Path | complex


class TestPydanticModels(MaterializerContract):
    materializer = PydanticMaterializer
    golden_dir = GOLDEN

    @pytest.fixture(params=[Settings(name="s", layers=[1, 2])], ids=["Settings"])
    def value(self, request):
        return request.param


def test_pydantic_models_and_dataclasses_take_the_safe_path_in_a_pipeline(zen_home):
    from zen_core import pipeline, step

    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text("allow_pickle = false\n")

    @step
    def configure() -> tuple[Settings, Shape]:
        return Settings(name="a", layers=[8]), Shape((2, 2))

    @step
    def use(settings: Settings, shape: Shape) -> int:
        return settings.layers[0] + sum(shape.dims)

    @pipeline
    def typed():
        settings, shape = configure()
        use(settings, shape)

    run = typed()
    outputs = run.steps["configure"].outputs
    assert outputs["output_0"].materializer.endswith("PydanticMaterializer")
    assert outputs["output_1"].materializer.endswith("DataclassMaterializer")
    assert outputs["output_1"].load() == Shape((2, 2))
    assert run.steps["use"].outputs["output"].load() == 12

    @step
    def opaque() -> Opaque:
        return Opaque(thing=complex(1, 2))

    @pipeline
    def refused():
        opaque()

    with pytest.raises(Exception, match=r"Opaque \(a field does not round-trip through JSON\)"):
        refused()
