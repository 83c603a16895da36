"""The worked example plugin of docs/plugins.md (examples/zen_fraction) really works.

It need not be installed: the module is registered by hand in a fresh plugin
manager, exactly what its entry point makes zen_core do.
"""

from __future__ import annotations

import sys
import tomllib
from fractions import Fraction
from pathlib import Path

import pytest

from zen_core.plugins import list_plugins, new_plugin_manager, use
from zen_core.testing import MaterializerContract

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "zen_fraction"
if str(EXAMPLE) not in sys.path:
    sys.path.append(str(EXAMPLE))  # an installed zen-fraction (earlier on the path) wins

import zen_fraction  # noqa: E402
from zen_fraction import FractionMaterializer  # noqa: E402


@pytest.fixture
def fraction_pm():
    """A fresh manager with only the built-ins and the example plugin, in use for one test."""
    pm = new_plugin_manager(entry_points=False)
    pm.register(zen_fraction, name="fraction")
    with use(pm):
        yield pm


class TestFractionContract(MaterializerContract):
    materializer = FractionMaterializer

    @pytest.fixture(params=[Fraction(22, 7), Fraction(-1, 3), Fraction(0)], ids=str)
    def value(self, request):
        return request.param


def test_pyproject_declares_the_entry_point():
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    assert project["name"] == "zen-fraction"
    assert project["entry-points"]["zen_core"] == {"fraction": "zen_fraction"}
    assert any(d.startswith("zen-artifacts>=") for d in project["dependencies"])  # a range


def test_registered_plugin_is_listed(fraction_pm):
    infos = {i.name: i for i in list_plugins(fraction_pm)}
    assert infos["fraction"].provides == {"materializers": ["FractionMaterializer"]}
    assert not infos["fraction"].builtin


def test_pipeline_stores_fractions_with_the_plugin(fraction_pm):
    from zen_core import pipeline, step
    from zen_core.client import Client

    @step
    def approximate_pi() -> Fraction:
        return Fraction(355, 113)

    @step
    def double(x: Fraction):  # unannotated output: materializer chosen by the value's type
        return x * 2

    @pipeline
    def fractions_pipeline():
        double(approximate_pi())

    run = fractions_pipeline()
    assert run.status == "completed"
    av = run.steps["double"].outputs["output"]
    assert av.materializer == "zen_fraction.FractionMaterializer"
    assert av.load() == Fraction(710, 113)
    assert av.metadata == {"fraction": "710/113", "is_integer": False}
    [(uri, kind)] = av.visualize().items()
    assert kind == "markdown" and uri.endswith("/fraction.md")
    with Client().active_stack.artifact_store.open(uri, "rb") as f:
        assert f.read().decode().startswith("**710/113** = 6.283185840")
    assert fractions_pipeline().steps["double"].status == "cached"


def test_without_the_plugin_fractions_fall_back_to_pickle():
    from zen_core import save_artifact

    with use(new_plugin_manager(entry_points=False)):
        assert save_artifact(Fraction(1, 3), "third").materializer.endswith("PickleMaterializer")


def test_load_corrupted_fraction_names_artifact_and_file(fraction_pm):
    from zen_core import save_artifact
    from zen_core.client import Client
    from zen_core.errors import IntegrityError

    av = save_artifact(Fraction(1, 3), "third")
    with Client().active_stack.artifact_store.open(f"{av.uri}/fraction.txt", "wb") as f:
        f.write(b"1/4")
    with pytest.raises(IntegrityError, match=r"'third'.*fraction.txt.*rerun the step"):
        Client().get_artifact_version("third").load()
