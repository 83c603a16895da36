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
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "dashboard"
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
        flowers = dataset.runs["first"].steps["make_table"].outputs["flowers"]
        self.hostile_version = flowers.id
        if HAVE_PANDAS:  # a real DataFrame through zen-pandas' HTML and CSV visualizations
            self.table_run = dataset.runs["iris"]
            self.table_name, self.producer_name, self.cell = "iris", "load_iris", "virginica"
        else:  # the test materializer in conftest.py writes the same kinds
            self.table_run = dataset.runs["first"]
            self.table_name, self.producer_name, self.cell = "flowers", "make_table", "iris-4"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, dataset_factory: Any) -> Any:
    """`zen dashboard` on a free loopback port, over real runs; stopped at the end."""
    _require_browser()
    from zen_core.stack import close_all

    dataset = dataset_factory(tmp_path_factory.mktemp("dashboard-browser"))
    if HAVE_PANDAS:
        with pytest.MonkeyPatch.context() as mp:
            isolate_zen_home(mp, dataset.home.parent)  # the session data's ZEN_HOME again
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
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


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
    shot(page, "run")

    page.locator(f'svg.dag a.node.artifact[data-label="{server.table_name}"]').click()
    page.wait_for_url("**/artifact-versions/*")
    frame = page.frame_locator("section.vis-html iframe")
    assert frame.locator("table").first.is_visible()
    assert server.cell in frame.locator("body").inner_text()
    csv_table = page.locator("table.csv")
    assert csv_table.is_visible() and server.cell in csv_table.inner_text()
    page.locator("section.vis-html iframe").scroll_into_view_if_needed()
    shot(page, "artifact_version")

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
