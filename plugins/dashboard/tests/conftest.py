"""Session data for the dashboard tests: real pipelines run once into their own ZEN_HOME."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Annotated, Any

import attrs
import pytest

from zen_core import pipeline, step
from zen_core.materializers import Materializer
from zen_core.testing import isolate_zen_home

# What a materializer might emit; the dashboard must neither run nor leak it.
HOSTILE_SCRIPT = "<script>document.body.dataset.ran='yes';parent.document.title='pwned'</script>"


def tiny_png() -> bytes:
    """A valid 1x1 red PNG."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


@attrs.frozen
class Table:
    """A tiny table type with a materializer that writes every visualization kind."""

    columns: list[str]
    rows: list[list[Any]]


class TableMaterializer(Materializer):
    ASSOCIATED_TYPES = (Table,)

    def save(self, data: Table) -> None:
        with self.open("table.json", "w") as f:
            json.dump({"columns": data.columns, "rows": data.rows}, f)

    def load(self, data_type: type) -> Table:
        with self.open("table.json", "r") as f:
            raw = json.load(f)
        return Table(raw["columns"], raw["rows"])

    def save_visualizations(self, data: Table) -> dict[str, str]:
        cells = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>"
                        for row in data.rows)
        head = "".join(f"<th>{c}</th>" for c in data.columns)
        with self.open("vis/table.html", "w") as f:
            f.write(f"<table class='frame'><tr>{head}</tr>{cells}</table>{HOSTILE_SCRIPT}")
        with self.open("vis/table.csv", "w") as f:
            f.write(",".join(data.columns) + "\n")
            f.writelines(",".join(str(c) for c in row) + "\n" for row in data.rows)
        with self.open("vis/notes.md", "w") as f:
            f.write(f"# Table notes\n\n**{len(data.rows)} rows**\n\n{HOSTILE_SCRIPT}\n\n"
                    f"[click](javascript:alert(1))\n")
        with self.open("vis/plot.png", "wb") as f:
            f.write(tiny_png())
        with self.open("vis/summary.json", "w") as f:
            json.dump({"rows": len(data.rows)}, f)
        return {self.path("vis/table.html"): "html", self.path("vis/table.csv"): "csv",
                self.path("vis/notes.md"): "markdown", self.path("vis/plot.png"): "image",
                self.path("vis/summary.json"): "json"}

    def extract_metadata(self, data: Table) -> dict[str, Any]:
        return {"rows": len(data.rows), "columns": data.columns}


@step(output_materializers=TableMaterializer)
def make_table(n: int) -> Annotated[Table, "flowers"]:
    return Table(["species", "petal_length"], [[f"iris-{i}", 1.0 + i / 10] for i in range(n)])


@step
def summarize(table: Table, threshold: float) -> Annotated[dict, "summary"]:
    return {"long": sum(r[1] > threshold for r in table.rows)}


@step
def explode(summary: dict) -> int:
    raise ValueError("explode refused the summary on purpose")


@pipeline
def report_pipeline(n: int = 5):
    table = make_table(n=n)
    summarize(table, threshold=1.2)


@pipeline
def failing_pipeline():
    table = make_table(n=3)
    summary = summarize(table, threshold=1.0)
    explode(summary)


@step
def load_rows(rows: int) -> Annotated[list, "raw_rows"]:
    return [[i, (i * 7) % 10 / 10] for i in range(rows)]


@step
def clean(raw: list) -> Annotated[list, "clean_rows"]:
    return [r for r in raw if r[1] > 0]


@step
def split(rows: list) -> tuple[Annotated[list, "train_rows"], Annotated[list, "test_rows"]]:
    cut = len(rows) * 3 // 4
    return rows[:cut], rows[cut:]


@step
def train_model(train: list, lr: float) -> Annotated[dict, "model"]:
    return {"w": round(sum(r[1] for r in train) * lr, 4)}


@step
def evaluate(model: dict, test: list) -> Annotated[float, "accuracy"]:
    return round(min(0.99, 0.5 + model["w"] / (10 + len(test))), 4)


@step
def report(model: dict, accuracy: float) -> Annotated[str, "report"]:
    return f"w={model['w']} accuracy={accuracy}"


@pipeline
def training_pipeline(rows: int = 40, lr: float = 0.1):
    """Six steps, seven artifacts: the shape of a small real training pipeline."""
    train, test = split(clean(load_rows(rows)))
    model = train_model(train, lr=lr)
    report(model, evaluate(model, test))


@attrs.define
class Dataset:
    """What the session fixture made, for the tests to look up."""

    home: Path
    client: Any
    runs: dict[str, Any]


def make_dataset(tmp_path: Path) -> Dataset:
    """Run the pipelines into a fresh ZEN_HOME under ``tmp_path``; return its client and runs."""
    from zen_core.client import Client

    with pytest.MonkeyPatch.context() as mp:
        home = isolate_zen_home(mp, tmp_path)
        first = report_pipeline()
        cached = report_pipeline()  # every step a cache hit
        bigger = report_pipeline(n=8)  # make_table misses: its parameter changed
        try:
            failing_pipeline()
        except Exception:  # the run is recorded as failed; that is what the tests look at
            pass
        client = Client()
        _ = client.active_stack  # bind the stack while ZEN_HOME points here
        failed = client.list_pipeline_runs(pipeline_name="failing_pipeline")[0]
    return Dataset(home, client, {"first": first, "cached": cached, "bigger": bigger,
                                  "failed": failed})


@pytest.fixture(scope="session")
def dataset_factory() -> Any:
    return make_dataset


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return make_dataset(tmp_path_factory.mktemp("dashboard-data"))


@pytest.fixture(scope="session")
def pipelines() -> Any:
    """The test pipelines, for tests that run them in their own ZEN_HOME."""
    import types

    return types.SimpleNamespace(report_pipeline=report_pipeline, failing_pipeline=failing_pipeline,
                                 training_pipeline=training_pipeline)
