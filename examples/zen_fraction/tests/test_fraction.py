"""zen-fraction runs the same materializer contract as every plugin."""

from fractions import Fraction
from pathlib import Path

import pytest
from zen_fraction import FractionMaterializer

from zen_core.testing import MaterializerContract


class TestFractionMaterializer(MaterializerContract):
    materializer = FractionMaterializer
    golden_dir = Path(__file__).parent / "golden"  # the stored format, pinned per VERSION

    @pytest.fixture(params=[Fraction(22, 7), Fraction(-3, 4), Fraction(5), Fraction(1, 10**30)],
                    ids=str)
    def value(self, request):
        return request.param


def test_entry_point_is_listed():
    from zen_core.plugins import list_plugins

    infos = {i.name: i for i in list_plugins()}
    assert "fraction" in infos, "pip install -e examples/zen_fraction to register the entry point"
    assert infos["fraction"].provides == {"materializers": ["FractionMaterializer"]}
