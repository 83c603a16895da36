"""Rich display in a real Jupyter kernel (nbclient + ipykernel): MIME types, and no echo."""

from __future__ import annotations

import importlib.util
import os

import pytest

from zen_core.testing import service_unavailable

SETUP = '''
import struct, zlib
from typing import Annotated
from zen_core import pipeline, step
from zen_core.materializers import Materializer

def tiny_png():
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    return (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\\x00\\xff\\x00\\x00")) + chunk(b"IEND", b""))

class Table:
    def __init__(self, rows):
        self.rows = rows

class TableMaterializer(Materializer):
    ASSOCIATED_TYPES = (Table,)

    def save(self, data):
        with self.open("rows.txt", "w") as f:
            f.write("\\n".join(map(str, data.rows)))

    def load(self, data_type):
        with self.open("rows.txt", "r") as f:
            return Table([int(x) for x in f.read().split()])

    def save_visualizations(self, data):
        with self.open("plot.png", "wb") as f:
            f.write(tiny_png())
        with self.open("table.html", "w") as f:
            f.write("<table><tr><td>42</td></tr></table>")
        with self.open("notes.md", "w") as f:
            f.write("# notes")
        with self.open("rows.csv", "w") as f:
            f.write("x\\n" + "".join(f"{r}\\n" for r in data.rows))
        return {self.path("plot.png"): "image", self.path("table.html"): "html",
                self.path("notes.md"): "markdown", self.path("rows.csv"): "csv"}

    def extract_metadata(self, data):
        return {"rows": len(data.rows), "mean": sum(data.rows) / 3}

@step(output_materializers=TableMaterializer)
def make_table() -> Annotated[Table, "table"]:
    return Table([1, 2, 4])

@step
def summarize(table: Table) -> Annotated[dict, "summary"]:
    return {"n": len(table.rows), "parts": [1, (2, 3)], "name": "<b>x</b>"}

@pipeline
def notebook_pipeline():
    summarize(make_table())

run = notebook_pipeline()
table = run.steps["make_table"].outputs["table"]
summary = run.steps["summarize"].outputs["summary"]
'''

# (cell source, what its outputs must be)
CELLS = [
    ("table", "card"),
    ("run", "card"),
    ('run.steps["summarize"]', "card"),
    ("table.lineage('downstream')", "card"),
    ("table.visualize()", "visualizations"),
    ("summary.visualize()", "tree"),
    ("print(repr(summary.visualize()))", "none-printed"),
]


def _notebook_tools() -> None:
    missing = [m for m in ("nbclient", "nbformat", "ipykernel")
               if importlib.util.find_spec(m) is None]
    if missing:
        service_unavailable(f"the notebook test needs {', '.join(missing)} "
                            f"(pip install 'zen-artifacts[test]')")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    _notebook_tools()
    import nbformat
    from nbclient import NotebookClient

    home = tmp_path_factory.mktemp("notebook")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP)] + [nbformat.v4.new_code_cell(src)
                                                     for src, _ in CELLS]
    env = {**os.environ, "ZEN_HOME": str(home / "zen_home")}
    env.pop("ZEN_STACK", None)
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(home)}})
    client.execute(env=env)  # handed to the kernel manager that starts the kernel
    return nb.cells[1:]


@pytest.mark.parametrize(("index", "cell"), list(enumerate(CELLS)), ids=[c for c, _ in CELLS])
def test_rich_display_in_a_kernel(executed, index, cell):
    source, expect = cell
    outputs = executed[index].outputs
    kinds = [o["output_type"] for o in outputs]
    assert "error" not in kinds, outputs
    if expect == "card":
        (result,) = outputs
        assert result["output_type"] == "execute_result"
        assert "text/html" in result["data"] and "zen-card" in result["data"]["text/html"]
        return
    assert "execute_result" not in kinds, f"{source} echoed its return value: {outputs}"
    shown = [set(o["data"]) for o in outputs if o["output_type"] == "display_data"]
    if expect == "visualizations":
        assert {"image/png", "text/plain"} in shown and {"text/markdown", "text/plain"} in shown
        assert sum("text/html" in mimes for mimes in shown) == 2  # the HTML and the CSV
    elif expect == "tree":
        (data,) = [o["data"] for o in outputs]
        assert "<details" in data["text/html"] and "&lt;b&gt;x&lt;/b&gt;" in data["text/html"]
    else:
        assert kinds.count("display_data") == 1  # the tree, then what print() wrote
        printed = "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")
        assert printed.strip() == "None"
