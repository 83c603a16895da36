"""End to end in headless Chromium: `zen dashboard` served by uvicorn, driven by Playwright.

With CI=true a missing Chromium or Playwright fails these tests instead of skipping them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest

from zen_core import pipeline, step
from zen_core.testing import free_port, isolate_zen_home, service_unavailable

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[3]
# `nox -s screenshots` points this at docs/img to regenerate the documentation's pictures.
SCREENSHOTS = Path(os.environ.get("ZEN_DASHBOARD_SCREENSHOTS") or ROOT / "test-artifacts" / "dashboard")
WINDOW = {"width": 1280, "height": 800}
HAVE_PANDAS = importlib.util.find_spec("zen_pandas") is not None


def _require_browser() -> None:
    missing = []
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        missing.append(f"Chromium ({CHROMIUM}; install the Debian package: apt-get install -y "
                       f"chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("Playwright for Python (pip install 'zen-dashboard[test]')")
    if missing:
        service_unavailable("browser tests need " + " and ".join(missing))


if HAVE_PANDAS:
    import pandas as pd

    @step
    def load_iris() -> Annotated[pd.DataFrame, "iris"]:
        return pd.DataFrame({"sepal_length": [5.1, 4.9, 6.3, 5.8],
                             "species": ["setosa", "setosa", "virginica", "virginica"]})

    @step
    def fit(frame: pd.DataFrame) -> Annotated[dict, "iris_model"]:
        return {"mean": float(frame["sepal_length"].mean())}

    @pipeline
    def iris_pipeline():
        fit(load_iris())


class Server:
    def __init__(self, url: str, dataset: Any) -> None:
        self.url = url
        self.dataset = dataset
        self.training = dataset.runs["training"]  # three runs of the six-step pipeline
        flowers = dataset.runs["first"].steps["make_table"].outputs["flowers"]
        self.hostile_version = flowers.id
        if HAVE_PANDAS:  # a real DataFrame through zen-pandas' HTML and CSV visualizations
            self.table_run = dataset.runs["iris"]
            self.table_name, self.producer_name, self.cell = "iris", "load_iris", "virginica"
        else:  # the test materializer in conftest.py writes the same kinds
            self.table_run = dataset.runs["first"]
            self.table_name, self.producer_name, self.cell = "flowers", "make_table", "iris-4"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, dataset_factory: Any, pipelines: Any) -> Any:
    """`zen dashboard` on a free loopback port, over real runs; stopped at the end."""
    _require_browser()
    from zen_core.stack import close_all

    dataset = dataset_factory(tmp_path_factory.mktemp("dashboard-browser"))
    with pytest.MonkeyPatch.context() as mp:
        isolate_zen_home(mp, dataset.home.parent)  # the session data's ZEN_HOME again
        dataset.runs["training"] = [pipelines.training_pipeline(lr=lr) for lr in (0.1, 0.2, 0.3)]
        if HAVE_PANDAS:
            dataset.runs["iris"] = iris_pipeline()
    close_all()
    port = free_port()
    env = {**os.environ, "ZEN_HOME": str(dataset.home)}
    env.pop("ZEN_STACK", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from zen_core.cli import main; main()", "dashboard",
         "--port", str(port)],
        env=env, cwd=dataset.home.parent / "work", stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"zen dashboard exited with {proc.returncode}: {proc.stdout.read()}")
            try:
                if httpx.get(url + "/api/runs", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"zen dashboard did not answer on {url} within 30 s")
            time.sleep(0.1)
        yield Server(url, dataset)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def browser(server: Any) -> Any:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Any:
    context = browser.new_context(viewport=WINDOW)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"dashboard-{name}.png"))


def test_runs_run_dag_dataframe_and_lineage(page, server):
    page.goto(server.url + "/runs")
    assert page.locator("h1").inner_text() == "Pipeline runs"
    run_link = page.get_by_role("link", name=server.table_run.name)
    assert run_link.is_visible()
    shot(page, "runs")

    run_link.click()
    page.wait_for_url(f"**/runs/{server.table_run.id}")
    nodes = page.locator("svg.dag a.node")
    assert nodes.count() >= 3
    labels = {nodes.nth(i).get_attribute("data-label") for i in range(nodes.count())}
    assert {server.producer_name, server.table_name} <= labels

    page.locator(f'svg.dag a.node.artifact[data-label="{server.table_name}"]').click()
    page.wait_for_url("**/artifact-versions/*")
    frame = page.frame_locator("section.vis-html iframe")
    assert frame.locator("table").first.is_visible()
    assert server.cell in frame.locator("body").inner_text()
    csv_table = page.locator("table.csv")
    assert csv_table.is_visible() and server.cell in csv_table.inner_text()

    page.locator("a.producer").click()
    page.wait_for_url("**/steps/*")
    assert server.producer_name in page.locator("h1").inner_text()
    shot(page, "step")


def test_html_visualization_cannot_run_script(page, server):
    page.goto(server.url + f"/artifact-versions/{server.hostile_version}")
    frame = page.frame_locator("section.vis-html iframe")
    assert frame.locator("table.frame").is_visible()
    assert page.title() != "pwned"
    assert frame.locator("body").get_attribute("data-ran") is None
    listed = httpx.get(f"{server.url}/api/artifact-versions/{server.hostile_version}").json()
    html = next(v["url"] for v in listed["version"]["visualizations"] if v["kind"] == "html")
    page.goto(server.url + html)
    assert page.title() != "pwned"  # opened directly: the sandbox CSP still blocks script
    assert page.locator("body").get_attribute("data-ran") is None


# -- geometry ---------------------------------------------------------------------------------


def box(locator: Any) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not rendered"
    return found


def inside(inner: dict[str, float], outer: dict[str, float], slack: float = 1.0) -> bool:
    return (inner["x"] >= outer["x"] - slack and inner["y"] >= outer["y"] - slack
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack)


def in_window(inner: dict[str, float]) -> bool:
    return inside(inner, {"x": 0, "y": 0, **WINDOW})


def scale_of(transform: str) -> float:
    return float(transform.split("scale(")[1].rstrip(")"))


def test_six_step_dag_fits_its_box_readably_at_1280x800(page, server):
    run = server.training[0]
    page.goto(f"{server.url}/runs/{run.id}")
    svg = page.locator("svg.dag")
    frame = box(svg)
    assert frame["x"] >= 0 and frame["x"] + frame["width"] <= WINDOW["width"]
    drawn = box(svg.locator("g.viewport"))
    assert inside(drawn, frame), (drawn, frame)
    nodes = svg.locator("a.node rect")
    assert nodes.count() == 13
    for i in range(nodes.count()):
        assert inside(box(nodes.nth(i)), frame)
    scale = scale_of(svg.locator("g.viewport").get_attribute("transform"))
    assert scale >= float(svg.get_attribute("data-min-zoom"))  # labels stay readable
    assert in_window(frame)  # the whole drawing is above the fold
    shot(page, "run")


def test_failed_step_is_highlighted_and_in_view_at_first_paint(page, server):
    failed = server.dataset.runs["failed"]
    page.goto(f"{server.url}/runs/{failed.id}")
    node = page.locator("svg.dag a.node.focal")
    assert node.get_attribute("data-label") == "explode" and "s-failed" in node.get_attribute(
        "class")
    assert inside(box(node), box(page.locator("svg.dag"))) and in_window(box(node))
    shot(page, "failed-run")


def test_artifact_is_the_centred_focal_node_of_its_lineage(page, server):
    accuracy = server.training[1].steps["evaluate"].outputs["accuracy"]
    page.goto(f"{server.url}/artifact-versions/{accuracy.id}")
    svg = page.locator('div.graph-box[data-graph="lineage"] svg.dag')
    svg.scroll_into_view_if_needed()
    focal = svg.locator("a.node.focal")
    assert focal.get_attribute("data-id") == accuracy.id
    assert inside(box(focal), box(svg))
    shot(page, "lineage")


def test_zoom_pan_and_fit_change_the_transform(page, server):
    page.goto(f"{server.url}/runs/{server.training[0].id}")
    viewport = page.locator("svg.dag g.viewport")
    first = viewport.get_attribute("transform")
    page.locator('button[data-zoom="in"]').click()
    zoomed = viewport.get_attribute("transform")
    assert scale_of(zoomed) > scale_of(first)
    page.locator('button[data-zoom="out"]').click()
    page.locator('button[data-zoom="out"]').click()
    assert scale_of(viewport.get_attribute("transform")) < scale_of(zoomed)
    svg = box(page.locator("svg.dag"))
    page.mouse.move(svg["x"] + 40, svg["y"] + 40)
    page.mouse.wheel(0, -300)
    wheeled = viewport.get_attribute("transform")
    assert wheeled != first
    page.mouse.move(svg["x"] + 30, svg["y"] + svg["height"] - 20)
    page.mouse.down()
    page.mouse.move(svg["x"] + 200, svg["y"] + svg["height"] - 60, steps=5)
    page.mouse.up()
    dragged = viewport.get_attribute("transform")
    assert dragged.split("scale(")[0] != wheeled.split("scale(")[0]  # translated
    assert page.url.endswith(f"/runs/{server.training[0].id}")  # a drag is not a click
    page.locator('button[data-zoom="fit"]').click()
    assert viewport.get_attribute("transform") == first


def test_artifact_page_charts_one_point_per_version(page, server):
    page.goto(f"{server.url}/artifacts/accuracy")
    points = page.locator("figure.chart a.point circle")
    versions = page.locator("table.versions tbody tr")
    assert versions.count() == 3 and points.count() == 3
    xs = [box(points.nth(i))["x"] for i in range(points.count())]
    assert xs == sorted(xs)  # oldest on the left
    assert inside(box(page.locator("figure.chart svg")), {"x": 0, "y": 0, **WINDOW})
    shot(page, "chart")


def test_comparison_page_lists_the_differing_parameter(page, server):
    page.goto(f"{server.url}/runs?pipeline=training_pipeline")
    for run in server.training[:2]:
        page.locator(f'input[name="run"][value="{run.id}"]').check()
    page.get_by_role("button", name="Compare selected runs").click()
    page.wait_for_url("**/compare?*")
    differing = page.locator("table.compare tr.differs th")
    labels = [differing.nth(i).inner_text() for i in range(differing.count())]
    assert any(label.startswith("lr") for label in labels), labels
    assert not any(label.startswith("rows") for label in labels)
    shot(page, "compare")


def test_a_frame_that_loads_before_the_page_script_still_gets_its_height(page, server):
    """The frame's first height report can come before the page listens: it is asked again."""
    def late_script(route):
        time.sleep(1.5)  # the frame loads and reports first
        route.continue_()

    page.route("**/static/dashboard.js", late_script)
    av = server.table_run.steps[server.producer_name].outputs[server.table_name]
    page.goto(f"{server.url}/artifact-versions/{av.id}")
    page.wait_for_function(
        "() => document.querySelector('section.vis-html iframe').style.height !== ''",
        timeout=10_000)


def test_html_visualization_frame_grows_to_its_content(page, server):
    av = server.table_run.steps[server.producer_name].outputs[server.table_name]
    page.goto(f"{server.url}/artifact-versions/{av.id}")
    iframe = page.locator("section.vis-html iframe")
    content = page.frame_locator("section.vis-html iframe").locator("html")
    page.wait_for_function(
        "() => document.querySelector('section.vis-html iframe').style.height !== ''")
    deadline = time.monotonic() + 10  # the frame posts its height again as its content settles
    while True:
        frame_h, content_h = box(iframe)["height"], box(content)["height"]
        if abs(frame_h - content_h) <= 6 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert abs(frame_h - content_h) <= 6, (frame_h, content_h)
    font = content.evaluate("e => getComputedStyle(e).fontFamily")
    assert "serif" not in font.replace("sans-serif", "")  # the dashboard's typography
    page.locator("section.vis").first.scroll_into_view_if_needed()
    content.locator("table").last.wait_for()
    page.wait_for_timeout(300)  # let the resized frame paint before the picture
    shot(page, "artifact-version")
