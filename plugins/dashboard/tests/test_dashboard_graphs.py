"""Graphs that fit, numbers across versions and run comparison, over runs made in each test."""

from __future__ import annotations

import datetime as dt
import re
import time
import types
import uuid
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from zen_dashboard import charts, graphs, layout
from zen_dashboard.app import create_app

from zen_core.artifacts import StoredData
from zen_core.client import Client
from zen_core.metadata_stores import NewArtifactVersion
from zen_core.models import PipelineRun, StepRun

LOCAL = "http://localhost"  # without a token the dashboard answers loopback names only


@pytest.fixture
def http():
    with TestClient(create_app(client=Client()), base_url=LOCAL) as client:
        yield client


# -- layout --------------------------------------------------------------------------------


def chain(steps: int) -> tuple[list[layout.Node], list[tuple[str, str]]]:
    nodes, edges = [], []
    for i in range(steps):
        nodes += [layout.Node(f"s{i}", "step", f"step_{i}"),
                  layout.Node(f"a{i}", "artifact", f"out_{i}")]
        edges.append((f"s{i}", f"a{i}"))
        if i:
            edges.append((f"a{i - 1}", f"s{i}"))
    return nodes, edges


def fan_out(width: int) -> tuple[list[layout.Node], list[tuple[str, str]]]:
    nodes = [layout.Node("load", "step", "load")]
    nodes += [layout.Node(f"t{i}", "step", f"train_{i}") for i in range(width)]
    return nodes, [("load", f"t{i}") for i in range(width)]


def test_direction_follows_the_shape():
    assert layout.layout(*chain(6))["direction"] == "TD"  # long: rows stack in the box
    assert layout.layout(*fan_out(8))["direction"] == "LR"  # wide: columns side by side


@pytest.mark.parametrize("shape", [chain(6), fan_out(12), chain(2)])
def test_first_view_fits_the_box_readably(shape):
    drawn = layout.layout(*shape)
    view = drawn["view"]
    assert view["mode"] == "fit" and view["k"] >= layout.MIN_ZOOM
    assert drawn["width"] * view["k"] <= layout.BOX_W + 0.5
    assert drawn["height"] * view["k"] <= view["box_h"] + 0.5
    assert view["tx"] >= -0.5 and view["ty"] >= -0.5  # centred, not cut off
    for n in drawn["nodes"]:
        assert 0 <= n["x"] and n["x"] + n["w"] <= drawn["width"]
        assert 0 <= n["y"] and n["y"] + n["h"] <= drawn["height"]


def test_nodes_of_one_graph_do_not_overlap():
    drawn = layout.layout(*fan_out(12))
    boxes = [(n["x"], n["y"], n["x"] + n["w"], n["y"] + n["h"]) for n in drawn["nodes"]]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_too_large_to_read_centres_the_focal_node_at_the_minimum_zoom():
    nodes, edges = chain(60)
    nodes[71].focal = True  # a35, far from the start
    drawn = layout.layout(nodes, edges)
    view = drawn["view"]
    assert view["mode"] == "focus" and view["k"] == layout.MIN_ZOOM
    focal = next(n for n in drawn["nodes"] if n["focal"])
    cx = (focal["x"] + focal["w"] / 2) * view["k"] + view["tx"]
    cy = (focal["y"] + focal["h"] / 2) * view["k"] + view["ty"]
    assert abs(cx - layout.BOX_W / 2) < 1 and abs(cy - view["box_h"] / 2) < 1


# -- run DAGs --------------------------------------------------------------------------------


def test_six_step_run_is_drawn_whole_and_fits(http, pipelines):
    run = pipelines.training_pipeline()
    body = http.get(f"/api/runs/{run.id}").json()
    dag = body["dag"]
    assert body["dag_level"] == "full" and len(dag["nodes"]) == 13  # 6 steps, 7 artifacts
    assert dag["view"]["mode"] == "fit" and dag["width"] * dag["view"]["k"] <= layout.BOX_W
    page = http.get(f"/runs/{run.id}").text
    assert re.search(r'<g class="viewport" transform="translate\([\d.-]+,[\d.-]+\) '
                     r'scale\([\d.]+\)">', page)
    assert page.count('class="node step') == 6 and page.count('class="node artifact') == 7
    for button in ("in", "out", "fit", "all"):
        assert f'data-zoom="{button}"' in page


def test_failed_step_is_the_focal_node(dataset):
    failed = dataset.runs["failed"]
    with TestClient(create_app(client=dataset.client), base_url=LOCAL) as http:
        body = http.get(f"/api/runs/{failed.id}").json()
        page = http.get(f"/runs/{failed.id}").text
    explode = failed.steps["explode"].id
    assert body["dag"]["focal"] == explode and body["run"]["failed_steps"] == 1
    assert f'href="/steps/{explode}" class="node step s-failed focal"' in page


def stored(i: int) -> StoredData:
    h = uuid.uuid4().hex
    return StoredData(uri=f"/nowhere/{h}", content_hash=h, size=10, files={"data.json": [10, h]},
                      materializer="zen_core.materializers.builtin.BuiltInMaterializer",
                      materializer_version="1", type="builtins.float", artifact_type="data",
                      metadata={"value": i / 10}, visualizations={})


def big_run(client: Client, steps: int, functions: int, fail: int | None = None) -> PipelineRun:
    """A sweep recorded straight through the metadata store: one dataset, ``steps`` trainings
    spread over ``functions`` step functions, each consuming the dataset and one earlier model."""
    store = client.active_stack.metadata_store
    now = time.time()
    run = PipelineRun(id=uuid.uuid4().hex, name=f"sweep-{uuid.uuid4().hex[:6]}",
                      pipeline_name="sweep", status="running", created=now, finished=None,
                      params={}, error=None)
    store.create_run(run)
    with store.transaction(group=True):
        data = store.create_artifact_version(NewArtifactVersion("dataset", stored(0),
                                                                origin="saved"))
        previous = None
        for i in range(steps):
            fn = f"train_{i % functions}"
            step = StepRun(id=uuid.uuid4().hex, run_id=run.id, name=f"{fn}_{i}", step_name=fn,
                           pipeline_name="sweep", status="running", params={"i": i},
                           cache_key=None, cache_miss=None, started=now, finished=None,
                           error=None, original_step_run_id=None)
            inputs = {"data": data.id} | ({"previous": previous} if previous else {})
            store.create_step_run(step, inputs)
            if i == fail:
                store.fail_step_run(step.id, "ValueError: on purpose", now + 1)
                continue
            out = store.complete_step_run(step.id, outputs=[("output", NewArtifactVersion(
                f"sweep::{fn}::output", stored(i), run_id=run.id, producer_step_run_id=step.id))],
                extra_inputs={}, finished=now + 1)
            previous = out[0].id if i % 3 == 0 else previous
    store.finish_run(run.id, "failed" if fail is not None else "completed", now + 2)
    return client.get_pipeline_run(run.id)


def test_a_run_too_large_to_draw_whole_folds_artifacts_into_edges(http):
    run = big_run(Client(), steps=200, functions=200, fail=150)
    body = http.get(f"/api/runs/{run.id}").json()
    dag = body["dag"]
    assert body["dag_level"] == "steps" and "folded" in body["dag_note"]
    kinds = {n["kind"] for n in dag["nodes"]}
    assert kinds == {"step", "artifact"}  # the dataset came from outside the run
    assert sum(n["kind"] == "step" for n in dag["nodes"]) == 200
    failed = next(s for s in run.steps.values() if s.status == "failed")
    assert dag["focal"] == failed.id and dag["view"]["mode"] == "focus"


def test_a_very_large_run_is_drawn_as_clusters_that_list_their_steps(http):
    run = big_run(Client(), steps=450, functions=3, fail=7)
    body = http.get(f"/api/runs/{run.id}").json()
    dag = body["dag"]
    assert body["dag_level"] == "clusters"
    clusters = {n["label"]: n for n in dag["nodes"] if n["kind"] == "cluster"}
    assert set(clusters) == {"train_0 ×150", "train_1 ×150", "train_2 ×150"}
    assert clusters["train_1 ×150"]["status"] == "failed"  # step 7 is train_1's
    assert dag["focal"] == "cluster:train_1" and "1 failed" in clusters["train_1 ×150"]["sublabel"]
    assert clusters["train_0 ×150"]["href"] == f"/runs/{run.id}?step=train_0#steps"
    listed = http.get(f"/api/runs/{run.id}", params={"step": "train_0", "per_page": 200}).json()
    assert listed["total"] == 150 and {s["step_name"] for s in listed["steps"]} == {"train_0"}
    assert body["total"] == 450 and len(body["steps"]) == 50  # the table is paginated


# -- numbers across versions ---------------------------------------------------------------


def test_artifact_page_charts_a_number_with_one_point_per_version(http, pipelines):
    for lr in (0.1, 0.2, 0.3):
        pipelines.training_pipeline(lr=lr)
    pipelines.training_pipeline(lr=0.1)  # cached: no new version
    body = http.get("/api/artifacts/accuracy").json()
    assert body["total"] == 3
    (chart,) = body["charts"]
    assert chart["key"] == "value" and chart["count"] == 3 and len(chart["markers"]) == 3
    values = [v["values"]["value"] for v in reversed(body["items"])]
    assert values == sorted(values)  # accuracy grows with lr here
    ys = [m["cy"] for m in chart["markers"]]
    assert ys == sorted(ys, reverse=True)  # higher values higher up
    page = http.get("/artifacts/accuracy").text
    assert page.count("<circle") == 3 and "over 3 versions" in page
    assert "figure" not in http.get("/artifacts/model").text  # a dict: nothing to chart


def test_a_long_history_charts_its_latest_versions_unless_asked_for_all(http, monkeypatch):
    from zen_dashboard import data

    monkeypatch.setattr(data, "CHART_VERSIONS", 3)  # the bound, small enough to cross here
    store = Client().active_stack.metadata_store
    for i in range(5):
        store.create_artifact_version(NewArtifactVersion("loss", stored(i), origin="saved"))
    body = http.get("/api/artifacts/loss").json()
    assert body["charted"] == 3 and body["charts"][0]["first"] == "3"
    assert "latest 3 of 5 versions" in http.get("/artifacts/loss").text
    every = http.get("/api/artifacts/loss", params={"chart": "all"}).json()
    assert every["charted"] == 5 and len(every["charts"][0]["markers"]) == 5


def test_run_metadata_numbers_are_charted_when_versions_carry_them():
    versions = [types.SimpleNamespace(metadata={"value": i}, run_metadata={"loss": 1 / (i + 1),
                                                                          "note": "text"},
                                      version=str(i + 1), id=f"{i:032x}",
                                      created=dt.datetime(2025, 1, i + 1))
                for i in range(4)]
    versions[2].run_metadata = {}  # a version without logged metadata has no loss point
    found = charts.series(versions)
    assert set(found) == {"value", "loss"}
    assert [p["version"] for p in found["loss"]] == ["1", "2", "4"]
    assert charts.values(types.SimpleNamespace(metadata={"value": True})) == {}  # bools are not


def test_a_long_series_is_a_line_without_a_marker_per_version():
    points = [{"y": float(i % 7), "version": str(i), "id": "0" * 32, "created": 0.0}
              for i in range(charts.POINT_LIMIT + 1)]
    drawn = charts.chart("value", points)
    assert drawn["markers"] == [] and drawn["line"].count("L") == charts.POINT_LIMIT
    many = [{**points[i % len(points)], "y": float(i)} for i in range(10_000)]
    line = charts.chart("value", many)["line"]  # one column's lowest and highest point each
    assert line.count("L") < 2 * charts.WIDTH and line.endswith(f"{charts.PAD_TOP:.1f}")


# -- comparing runs -----------------------------------------------------------------------------


def test_comparison_lists_the_differing_parameter_numbers_artifacts_and_cache(http, pipelines):
    a = pipelines.training_pipeline(lr=0.1)
    b = pipelines.training_pipeline(lr=0.3)
    body = http.get("/api/compare", params=[("run", a.id), ("run", b.id)]).json()
    params = {p["label"]: p for p in body["params"]}
    assert params["lr"]["differs"] and params["lr"]["cells"] == ["0.1", "0.3"]
    assert not params["rows"]["differs"]
    assert params["train_model.lr"]["differs"]
    metrics = {m["label"]: m for m in body["metrics"]}
    assert metrics["evaluate.accuracy"]["differs"]
    artifacts = {x["label"]: x for x in body["artifacts"]}
    assert not artifacts["split.train_rows"]["differs"] and artifacts["train_model.model"]["differs"]
    cache = {c["label"]: c["cells"] for c in body["cache"]}
    assert cache["load_rows"][1] == "hit" and cache["train_model"][1].startswith("completed")
    page = http.get(f"/compare?run={a.id}&run={b.id}").text
    row = re.search(r'<tr class="differs"><th>lr <span class="diff-mark">differs</span></th>'
                    r"<td>0.1</td><td>0.3</td></tr>", page)
    assert row, page
    runs = http.get("/runs").text
    assert f'name="run" value="{a.id}"' in runs and 'action="/compare"' in runs


@pytest.mark.parametrize("query", ["", "?run=only-one"])
def test_comparison_needs_two_runs(http, query):
    r = http.get("/api/compare" + query)
    assert r.status_code == 400
    assert "comparing needs 2 to 8 different runs" in r.json()["error"]
    assert "Fix: tick two or more runs" in r.json()["error"]


def test_comparison_of_an_unknown_run_is_a_404(http, pipelines):
    a = pipelines.training_pipeline()
    r = http.get("/api/compare", params=[("run", a.id), ("run", "nope")])
    assert r.status_code == 404 and "'nope'" in r.json()["error"]


def test_finished_runs_are_drawn_once(pipelines):
    run = Client().get_pipeline_run(pipelines.training_pipeline().id)
    steps = list(run.steps.values())
    first = graphs.run_graph(run, steps)
    assert graphs.run_graph(run, steps) is first
