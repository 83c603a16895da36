"""zen-fraction: a worked example plugin storing ``fractions.Fraction`` exactly.

The value is written as the text ``"numerator/denominator"``: exact (no float
rounding), readable by anyone, and loaded without unpickling.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from zen_core.materializers import ArtifactType, Materializer, VisualizationType
from zen_core.plugins import hookimpl

_FILE = "fraction.txt"


class FractionMaterializer(Materializer):
    """A Fraction as its exact text form, e.g. ``"22/7"``."""

    ASSOCIATED_TYPES = (Fraction,)
    ASSOCIATED_ARTIFACT_TYPE = ArtifactType.DATA
    VERSION = "1"  # bump when the stored format changes: it enters the cache key

    def save(self, data: Fraction) -> None:
        with self.open(_FILE, "w") as f:  # hashed while written, under self.uri
            f.write(f"{data.numerator}/{data.denominator}")

    def load(self, data_type: type) -> Fraction:
        with self.open(_FILE, "r") as f:  # verified against the stored hash
            return Fraction(f.read())

    def save_visualizations(self, data: Fraction) -> dict[str, str]:
        decimal = Decimal(data.numerator) / Decimal(data.denominator)
        with self.open("fraction.md", "w") as f:
            f.write(f"**{data}** = {decimal}\n")
        return {self.path("fraction.md"): VisualizationType.MARKDOWN}

    def extract_metadata(self, data: Fraction) -> dict[str, Any]:
        return {"fraction": str(data), "is_integer": data.denominator == 1}


@hookimpl
def zen_materializers() -> list[type[Materializer]]:
    return [FractionMaterializer]
