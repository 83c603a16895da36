"""HTTP-level tests of every page and API route, on data made by real pipeline runs."""

from __future__ import annotations

import re
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from zen_dashboard.app import PAGE_CSP, cookie_value, create_app, scrub

LOCAL = "http://localhost"  # without a token the dashboard answers loopback names only


@pytest.fixture(scope="session")
def app(dataset):
    return create_app(client=dataset.client)


@pytest.fixture
def http(app):
    with TestClient(app, base_url=LOCAL) as client:
        yield client


def flowers(dataset, run="first"):
    return dataset.runs[run].steps["make_table"].outputs["flowers"]


# -- runs ------------------------------------------------------------------------------------


def test_home_redirects_to_runs(http):
    r = http.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/runs"


def test_runs_page_lists_runs_with_status_duration_and_cached_steps(http, dataset):
    r = http.get("/runs")
    assert r.status_code == 200
    assert r.headers["content-security-policy"] == PAGE_CSP
    assert r.headers["x-content-type-options"] == "nosniff"
    for run in dataset.runs.values():
        assert run.name in r.text
    cached = dataset.runs["cached"]
    row = re.search(rf"{re.escape(cached.name)}</a></td>(.*?)</tr>", r.text, re.S).group(1)
    assert "s-completed" in row
    assert re.search(r"<td>2</td>\s*<td>2</td>", row), row  # 2 steps, both cached
    assert re.search(r"\d+ ms|\d+\.\d+ s", row)


def test_runs_api_filters_by_pipeline_and_status(http, dataset):
    body = http.get("/api/runs", params={"pipeline": "report_pipeline"}).json()
    assert body["total"] == 3 and {r["pipeline_name"] for r in body["items"]} == {"report_pipeline"}
    failed = http.get("/api/runs", params={"status": "failed"}).json()
    assert [r["id"] for r in failed["items"]] == [dataset.runs["failed"].id]
    assert failed["items"][0]["failed_steps"] == 1
    cached = next(r for r in body["items"] if r["id"] == dataset.runs["cached"].id)
    assert cached["steps"] == 2 and cached["cached_steps"] == 2 and cached["duration"] >= 0


def test_runs_show_their_shortest_unique_id_prefix_which_addresses_them(http, dataset):
    items = http.get("/api/runs").json()["items"]
    page = http.get("/runs").text
    for item in items:
        short = item["short_id"]
        assert item["id"].startswith(short) and 8 <= len(short) < 32
        assert f'<code title="{item["id"]}">{short}</code>' in page
        assert http.get(f"/api/runs/{short}").json()["run"]["id"] == item["id"]
    shared = min(len(i["short_id"]) for i in items) - 1
    ambiguous = http.get(f"/api/runs/{items[0]['id'][:4]}")
    assert shared >= 4 and ambiguous.status_code == 400
    assert "runs have an id starting with" in ambiguous.json()["error"]
    version = flowers(dataset)
    assert http.get(f"/api/artifact-versions/{version.id[:20]}").json()["version"]["id"] == \
        version.id
    assert http.get(f"/artifact-versions/{version.name}").status_code == 404  # ids only


def test_runs_are_paginated(http, dataset):
    first = http.get("/api/runs", params={"per_page": 2}).json()
    second = http.get("/api/runs", params={"per_page": 2, "page": 2}).json()
    assert first["total"] == 4 and first["pages"] == 2 and first["has_next"]
    assert len(first["items"]) == 2 and len(second["items"]) == 2
    assert not {r["id"] for r in first["items"]} & {r["id"] for r in second["items"]}
    page = http.get("/runs", params={"per_page": 2, "status": ""})
    assert 'rel="next"' in page.text and "page=2" in page.text and "page 1 of 2" in page.text


@pytest.mark.parametrize(("query", "expected"), [
    ({"page": "zero"}, "page='zero' is not a positive whole number"),
    ({"page": "0"}, "page='0' is not a positive whole number"),
    ({"per_page": "5000"}, "per_page=5000 is too large (at most 200)"),
    ({"status": "exploded"}, "status='exploded' is not a run status (one of: running, completed"),
])
def test_bad_query_parameters_say_what_is_wrong(http, query, expected):
    api = http.get("/api/runs", params=query)
    assert api.status_code == 400
    assert expected in api.json()["error"] and "Fix:" in api.json()["error"]
    page = http.get("/runs", params=query)
    assert page.status_code == 400 and expected.replace("'", "&#39;") in page.text


# -- one run -------------------------------------------------------------------------------------


def test_run_page_draws_the_dag_with_links_and_status_colours(http, dataset):
    run = dataset.runs["first"]
    r = http.get(f"/runs/{run.id}")
    assert r.status_code == 200 and "<svg" in r.text
    step_ids = {s.id for s in run.steps.values()}
    for s in run.steps.values():
        assert f'href="/steps/{s.id}" class="node step s-completed' in r.text
    av = flowers(dataset)
    assert f'href="/artifact-versions/{av.id}" class="node artifact' in r.text
    assert len(re.findall(r'class="edge"', r.text)) == 3  # make_table -> flowers -> summarize -> summary
    body = http.get(f"/api/runs/{run.id}").json()
    nodes = {n["id"]: n for n in body["dag"]["nodes"]}
    assert step_ids <= nodes.keys() and av.id in nodes
    # layered left to right: producer, artifact, consumer
    assert nodes[run.steps["make_table"].id]["x"] < nodes[av.id]["x"] < nodes[
        run.steps["summarize"].id]["x"]


def test_run_page_shows_cached_steps(http, dataset):
    run = dataset.runs["cached"]
    body = http.get(f"/api/runs/{run.id}").json()
    assert body["run"]["cached_steps"] == 2
    assert {s["status"] for s in body["steps"]} == {"cached"}
    assert "node step s-cached" in http.get(f"/runs/{run.id}").text


def test_failed_run_shows_failed_step(http, dataset):
    run = dataset.runs["failed"]
    r = http.get(f"/runs/{run.id}")
    assert "node step s-failed" in r.text and "badge s-failed" in r.text


def test_unknown_run_is_a_404_with_a_fix(http):
    r = http.get("/runs/no-such-run")
    assert r.status_code == 404
    assert "no pipeline run with id, name or id prefix &#39;no-such-run&#39;" in r.text and "Fix:" in r.text
    api = http.get("/api/runs/no-such-run")
    assert api.status_code == 404 and "no-such-run" in api.json()["error"]


# -- step runs ---------------------------------------------------------------------------------


def test_step_page_shows_params_inputs_outputs_timing_and_cache_miss(http, dataset):
    step = dataset.runs["bigger"].steps["make_table"]
    r = http.get(f"/steps/{step.id}")
    assert r.status_code == 200
    assert "&#34;n&#34;: 8" in r.text  # parameters, pretty JSON (escaped)
    assert step.cache_miss and "miss: " in r.text
    assert re.search(r"Duration</dt><dd>\d+ ms", r.text) or re.search(r"\d+\.\d+ s", r.text)
    summarize = dataset.runs["bigger"].steps["summarize"]
    page = http.get(f"/steps/{summarize.id}").text
    assert f'href="/artifact-versions/{step.outputs["flowers"].id}"' in page
    assert f'href="/artifact-versions/{summarize.outputs["summary"].id}"' in page
    body = http.get(f"/api/steps/{step.id}").json()
    assert body["step"]["params"] == {"n": 8} and body["step"]["cache_miss"] == step.cache_miss
    assert body["outputs"]["flowers"]["name"] == "flowers"


def test_cached_step_links_to_the_original(http, dataset):
    cached = dataset.runs["cached"].steps["make_table"]
    r = http.get(f"/steps/{cached.id}")
    assert "hit: reused the outputs of" in r.text
    assert f'href="/steps/{cached.original_step_run_id}"' in r.text


def test_failed_step_shows_its_traceback(http, dataset):
    step = dataset.runs["failed"].steps["explode"]
    r = http.get(f"/steps/{step.id}")
    assert "traceback" in r.text.lower() and "explode refused the summary on purpose" in r.text
    assert "Traceback (most recent call last)" in http.get(f"/api/steps/{step.id}").json()["step"][
        "error"]


def test_unknown_step_is_a_404_with_a_fix(http):
    r = http.get("/api/steps/0123")
    assert r.status_code == 404
    assert "no step run with id '0123'" in r.json()["error"] and "Fix:" in r.json()["error"]


# -- artifacts --------------------------------------------------------------------------------


def test_artifacts_page_lists_names_latest_version_and_counts(http):
    r = http.get("/artifacts")
    assert r.status_code == 200
    body = http.get("/api/artifacts").json()
    by_name = {a["name"]: a for a in body["items"]}
    # flowers: v1 (n=5, reused by the cached run), v2 (n=8), v3 (failing pipeline, n=3)
    assert by_name["flowers"]["versions"] == 3 and by_name["flowers"]["latest_version"] == "3"
    assert 'href="/artifacts/flowers"' in r.text
    found = http.get("/api/artifacts", params={"q": "FLOW"}).json()
    assert [a["name"] for a in found["items"]] == ["flowers"]
    paged = http.get("/api/artifacts", params={"per_page": 1, "page": 2}).json()
    assert paged["total"] == len(body["items"]) and len(paged["items"]) == 1


def test_artifact_page_lists_versions_newest_first(http):
    body = http.get("/api/artifacts/flowers").json()
    assert [v["version"] for v in body["items"]] == ["3", "2", "1"]
    page2 = http.get("/api/artifacts/flowers", params={"per_page": 2, "page": 2}).json()
    assert [v["version"] for v in page2["items"]] == ["1"]
    assert ">3</a>" in http.get("/artifacts/flowers").text


def test_unknown_artifact_is_a_404_with_a_fix(http):
    r = http.get("/artifacts/not-there")
    assert r.status_code == 404 and "no artifact named &#39;not-there&#39;" in r.text
    assert "Fix:" in r.text


def test_version_page_shows_metadata_tags_visualizations_and_lineage(http, dataset):
    av = flowers(dataset)
    r = http.get(f"/artifact-versions/{av.id}")
    assert r.status_code == 200
    text = r.text
    assert "petal_length" in text and "<th>rows</th>" in text  # metadata
    # HTML only in a sandboxed iframe: scripts (the resize one), never the dashboard's origin
    assert re.search(r'<iframe sandbox="allow-scripts" class="vis-frame" '
                     r'src="/artifact-versions/[0-9a-f]+/visualizations/\d"', text)
    assert "allow-same-origin" not in text
    assert "<script>" not in text  # markdown escaped, HTML not inlined, no inline script
    assert re.findall(r"<script[^>]*>", text) == ['<script src="/static/dashboard.js">']
    assert "&lt;script&gt;" in text and "<strong>5 rows</strong>" in text
    assert 'href="javascript:' not in text
    assert '<table class="csv">' in text and "<td>iris-4</td>" in text  # CSV as a table
    assert '<img src="/artifact-versions/' in text
    assert "&#34;rows&#34;: 5" in text  # JSON pretty-printed
    # one lineage graph, both directions, this version focal
    producer = dataset.runs["first"].steps["make_table"]
    consumer = dataset.runs["first"].steps["summarize"]
    assert f'href="/steps/{producer.id}" class="producer"' in text
    graph = text.split('data-graph="lineage"')[1]
    assert f'href="/steps/{producer.id}"' in graph and f'href="/steps/{consumer.id}"' in graph
    summary = consumer.outputs["summary"]
    assert f'href="/artifact-versions/{summary.id}"' in graph
    assert re.search(rf'href="/artifact-versions/{av.id}" class="node artifact s-none focal"', graph)


def test_metadata_is_a_key_value_table_with_numbers_formatted_and_raw_json_a_click_away():
    from zen_core import save_artifact
    from zen_core.client import Client

    av = save_artifact(2.0398199999999997, "noisy_number")
    with TestClient(create_app(client=Client()), base_url=LOCAL) as local:
        text = local.get(f"/artifact-versions/{av.id}").text
    table = text.split('<table class="kv metadata">')[1].split("</table>")[0]
    assert "<th>value</th><td>2.03982</td>" in table
    raw = text.split('<details class="raw"><summary>raw JSON</summary>')[1].split("</details>")[0]
    assert "2.0398199999999997" in raw


def test_csv_sample_says_how_many_rows_of_how_many_and_draws_histograms():
    from zen_dashboard.visuals import csv_table

    table = csv_table("x,name\n" + "".join(f"{i},n{i}\n" for i in range(0, 20, 2)), 20)
    assert table["shown"] == 10 and table["of"] == 20 and table["sample"]
    numeric, text = table["histograms"]
    assert text is None and sum(b["n"] for b in numeric["bars"]) == 10
    assert numeric["low"] == "0" and numeric["high"] == "18"
    whole = csv_table("x\n1\n2\n", 2)
    assert whole["of"] is None and not whole["sample"]


def test_version_api_has_lineage_and_visualization_urls(http, dataset):
    av = flowers(dataset)
    body = http.get(f"/api/artifact-versions/{av.id}").json()
    assert body["version"]["metadata"] == {"rows": 5, "columns": ["species", "petal_length"]}
    kinds = {v["kind"] for v in body["version"]["visualizations"]}
    assert kinds == {"html", "csv", "markdown", "image", "json"}
    up, down = body["lineage"]["upstream"], body["lineage"]["downstream"]
    producer = dataset.runs["first"].steps["make_table"].id
    assert [producer, av.id] in up["edges"]
    assert any(e[0] == av.id for e in down["edges"]) and not down["truncated"]
    # the cached run's make_table reused this version: it is a consumer-free output there
    assert body["producer"]["id"] == producer
    assert body["consumers_total"] == len(body["consumers"]) >= 1


def test_saved_artifact_shows_tags_and_no_lineage():
    from zen_core import save_artifact
    from zen_core.client import Client

    av = save_artifact({"a": 1}, "loose_dict", tags=["handmade", "<b>bold</b>"])
    with TestClient(create_app(client=Client()), base_url=LOCAL) as local:
        text = local.get(f"/artifact-versions/{av.id}").text
    assert 'href="/artifacts/loose_dict?tag=handmade">handmade</a>' in text
    assert "&lt;b&gt;bold&lt;/b&gt;" in text
    assert "Nothing led to it" in text and "No step has used it yet." in text


def test_tags_and_metadata_show_and_tags_filter_runs_and_versions():
    from zen_core import add_tags, log_metadata, pipeline, save_artifact, step
    from zen_core.client import Client

    @step
    def one() -> int:
        log_metadata({"accuracy": 0.9})
        return 1

    @pipeline
    def tagged_pipeline():
        one()

    tagged, plain = tagged_pipeline(), tagged_pipeline.with_options(enable_cache=False)()
    add_tags(["prod"], run=tagged.id)
    log_metadata({"owner": "ml-team"}, run_id_name_or_prefix=tagged.id)
    first = save_artifact(1, "weights", tags=["prod"])
    save_artifact(2, "weights")
    with TestClient(create_app(client=Client()), base_url=LOCAL) as local:
        runs = local.get("/runs", params={"tag": "prod"}).text
        assert tagged.name in runs and plain.name not in runs
        assert 'href="/runs?tag=prod">prod</a>' in runs
        body = local.get("/api/runs", params={"tag": "prod"}).json()
        assert body["total"] == 1 and body["items"][0]["tags"] == ["prod"]
        assert body["items"][0]["run_metadata"] == {"owner": "ml-team"}
        run_page = local.get(f"/runs/{tagged.id}").text
        assert "ml-team" in run_page and 'href="/runs?tag=prod"' in run_page
        versions = local.get("/api/artifacts/weights", params={"tag": "prod"}).json()
        assert [v["version"] for v in versions["items"]] == ["1"] and versions["total"] == 1
        assert "tagged <span class=\"tag\">prod</span>" in local.get(
            "/artifacts/weights", params={"tag": "prod"}).text
        shown = local.get(f"/artifact-versions/{first.id}").text
        assert "storage_size" in shown  # the version's run metadata


def test_structured_strings_are_shown_as_their_kind():
    from zen_core import save_artifact
    from zen_core.client import Client
    from zen_core.types import CSVString, MarkdownString

    notes = save_artifact(MarkdownString("**bold** claim"), "notes")
    table = save_artifact(CSVString("a,b\n1,2\n"), "table")
    with TestClient(create_app(client=Client()), base_url=LOCAL) as local:
        assert "<strong>bold</strong> claim" in local.get(f"/artifact-versions/{notes.id}").text
        assert "<td>2</td>" in local.get(f"/artifact-versions/{table.id}").text


# -- visualizations ---------------------------------------------------------------------------


def visualization_urls(http, av):
    body = http.get(f"/api/artifact-versions/{av.id}").json()
    return {v["kind"]: v["url"] for v in body["version"]["visualizations"]}


def test_visualizations_are_served_with_their_content_types_and_a_sandbox_csp(http, dataset):
    urls = visualization_urls(http, flowers(dataset))
    expected = {"html": "text/html", "csv": "text/csv", "markdown": "text/markdown",
                "image": "image/png", "json": "application/json"}
    for kind, url in urls.items():
        r = http.get(url)
        assert r.status_code == 200, (kind, r.text)
        assert r.headers["content-type"].startswith(expected[kind])
        csp = r.headers["content-security-policy"]
        assert csp.startswith("sandbox") and "allow-same-origin" not in csp
        if kind != "html":
            assert csp.startswith("sandbox;") and "allow-scripts" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
    assert http.get(urls["image"]).content.startswith(b"\x89PNG")
    assert "<table class='frame'>" in http.get(urls["html"]).text


def test_html_visualization_runs_only_the_resize_script_with_a_fresh_nonce(http, dataset):
    url = visualization_urls(http, flowers(dataset))["html"]
    first, second = http.get(url), http.get(url)
    nonces = []
    for r in (first, second):
        csp = r.headers["content-security-policy"]
        assert csp.startswith("sandbox allow-scripts;")
        nonce = re.search(r"script-src 'nonce-([\w-]+)'", csp).group(1)
        nonces.append(nonce)
        scripts = re.findall(r"<script[^>]*>", r.text)
        # the materializer's own script stays (without a nonce the CSP blocks it), ours is last
        assert scripts == ["<script>", f'<script nonce="{nonce}">']
        assert "zenFrameHeight" in r.text and r.text.index("<style>") < r.text.index("<table")
    assert nonces[0] != nonces[1]


@pytest.mark.parametrize("index", ["5", "99", "-1", "..%2F..%2Fzen.db", "%2Fetc%2Fpasswd", "0x1", "1.0"])
def test_only_the_versions_own_visualizations_are_served(http, dataset, index):
    av = flowers(dataset)
    r = http.get(f"/artifact-versions/{av.id}/visualizations/{index}")
    assert r.status_code == 404
    if r.headers["content-type"].startswith("text/html") and "has no visualization" in r.text:
        assert "never a path or URI" in r.text


def test_visualization_of_another_version_is_refused(http, dataset):
    summary = dataset.runs["first"].steps["summarize"].outputs["summary"]
    r = http.get(f"/artifact-versions/{summary.id}/visualizations/0")
    assert r.status_code == 404
    assert "has no visualization &#39;0&#39; (it has 0" in r.text


def test_corrupt_visualization_is_reported_not_served(pipelines):
    from zen_core.client import Client

    run = pipelines.report_pipeline(n=2)
    av = run.steps["make_table"].outputs["flowers"]
    with TestClient(create_app(client=Client()), base_url=LOCAL) as local:
        urls = visualization_urls(local, av)
        uri = next(u for u, k in av.visualizations.items() if k == "csv")
        with open(uri, "a") as f:  # the local store's URIs are plain paths
            f.write("tampered,row\n")
        r = local.get(urls["csv"])
        assert r.status_code == 502
        assert "is corrupt" in r.text and "table.csv" in r.text and "Fix:" in r.text
        page = local.get(f"/artifact-versions/{av.id}")
    assert page.status_code == 200 and "is corrupt" in page.text  # the rest still renders


def test_missing_visualization_is_reported(pipelines):
    import os

    from zen_core.client import Client

    run = pipelines.report_pipeline(n=3)
    av = run.steps["make_table"].outputs["flowers"]
    uri = next(u for u, k in av.visualizations.items() if k == "image")
    os.remove(uri)
    with TestClient(create_app(client=Client()), base_url=LOCAL) as local:
        url = visualization_urls(local, av)["image"]
        r = local.get(url)
    assert r.status_code == 502 and "is missing from the artifact store" in r.text
    assert "plot.png" in r.text


def test_unknown_version_is_a_404_with_a_fix(http):
    r = http.get("/api/artifact-versions/" + "f" * 32)
    assert r.status_code == 404 and "no artifact version with id" in r.json()["error"]
    assert "Fix:" in r.json()["error"]
    assert http.get("/artifact-versions/../../etc/passwd").status_code == 404


def test_unknown_page_is_a_404(http):
    r = http.get("/nowhere")
    assert r.status_code == 404 and "no page at &#39;/nowhere&#39;" in r.text


# -- token ----------------------------------------------------------------------------------


@pytest.fixture
def guarded(dataset):
    with TestClient(create_app(client=dataset.client, token="s3cret-token")) as client:
        yield client


def test_token_required_when_set(guarded):
    for url in ("/runs", "/api/runs", "/static/style.css"):
        r = guarded.get(url)
        assert r.status_code == 401
        assert "requires a token" in r.text and "?token=" in r.text
        assert "s3cret-token" not in r.text


def test_wrong_token_is_refused_without_echoing_it(guarded):
    r = guarded.get("/runs", params={"token": "guess"})
    assert r.status_code == 401 and "guess" not in r.text
    r = guarded.get("/api/runs", headers={"Authorization": "Bearer guess"})
    assert r.status_code == 401


def test_header_token_is_accepted(guarded):
    assert guarded.get("/api/runs", headers={"Authorization": "Bearer s3cret-token"}).is_success
    assert guarded.get("/api/runs", headers={"X-Zen-Token": "s3cret-token"}).is_success


def test_query_token_once_then_cookie(guarded):
    r = guarded.get("/runs", params={"token": "s3cret-token", "status": "failed"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/runs?status=failed"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "s3cret-token" not in cookie and cookie_value("s3cret-token") in cookie
    assert guarded.get("/runs").status_code == 200  # the client kept the cookie
    assert guarded.get("/api/runs").status_code == 200


def test_scrub_hides_credentials_in_messages():
    assert scrub("cannot reach 'postgresql://zen:hunter2@db:5432/zen'") == \
        "cannot reach 'postgresql://***:***@db:5432/zen'"


# -- hardening (issue 13, defect 3) ------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8237", "127.0.0.1.evil.example",
                                  "10.0.0.7", "[::2]:8237"])
def test_without_a_token_another_host_name_is_refused(app, host):
    """DNS rebinding: a page on evil.example that points its name at 127.0.0.1 sends
    ``Host: evil.example``; without a token nothing but the bound names is served."""
    with TestClient(app, base_url=LOCAL) as client:
        for url in ("/runs", "/api/runs", "/static/style.css"):
            r = client.get(url, headers={"Host": host})
            assert r.status_code == 400, (url, r.status_code)
            assert "answers only requests for 127.0.0.1, ::1, localhost" in r.text
            assert "--allow-host NAME" in r.text
        assert client.get("/api/runs", headers={"Host": host}).json()["status"] == 400


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:8237", "127.0.0.1", "127.0.0.1:8237",
                                  "[::1]:8237", "[::1]"])
def test_the_loopback_names_are_served(app, host):
    with TestClient(app, base_url=LOCAL) as client:
        assert client.get("/api/runs", headers={"Host": host}).status_code == 200


def test_allowed_hosts_extend_the_loopback_names(dataset):
    from zen_dashboard import allowed_hosts

    hosts = allowed_hosts("127.0.0.1", ("dash.test",))
    assert hosts == ("127.0.0.1", "localhost", "::1", "dash.test")
    with TestClient(create_app(client=dataset.client, hosts=hosts), base_url=LOCAL) as client:
        assert client.get("/api/runs", headers={"Host": "dash.test:8237"}).status_code == 200
        assert client.get("/api/runs", headers={"Host": "other.test"}).status_code == 400


def test_with_a_token_any_host_name_may_carry_it(guarded):
    headers = {"Host": "dash.example.org", "Authorization": "Bearer s3cret-token"}
    assert guarded.get("/api/runs", headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["//evil.example/x", "///evil.example/x", "/\\evil.example/x"])
def test_the_token_redirect_never_leaves_the_origin(guarded, path):
    r = guarded.get(f"http://testserver{path}", params={"token": "s3cret-token"},
                    follow_redirects=False)
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert location == "/evil.example/x"


@pytest.mark.parametrize("url", ["/runs", "/api/runs", "/artifacts", "/api/artifacts/flowers"])
@pytest.mark.parametrize("page", [str(10**30), "1000001"])
def test_a_huge_page_number_is_a_bad_request(http, url, page):
    r = http.get(url, params={"page": page})
    assert r.status_code == 400, r.text
    assert f"page={page} is too large (at most 1,000,000)" in r.text


def test_a_version_with_100k_metadata_entries_gives_a_bounded_page():
    import attrs

    from zen_core.client import Client
    from zen_core.metadata_stores import NewArtifactVersion
    from zen_core.testing import stored_data

    client = Client()
    data = attrs.evolve(stored_data(), metadata={f"key_{i:06d}": i for i in range(100_000)})
    av = client.active_stack.metadata_store.create_artifact_version(
        NewArtifactVersion("wide", data, origin="saved"))
    with TestClient(create_app(client=client), base_url=LOCAL) as local:
        page = local.get(f"/artifact-versions/{av.id}")
        full = local.get(f"/api/artifact-versions/{av.id}")
    assert page.status_code == 200 and len(page.content) < 200_000
    assert "The first 200 of 100,001 keys" in page.text  # its run metadata: + storage_size
    assert f'<a href="/api/artifact-versions/{av.id}">the full JSON</a>' in page.text
    assert "<th>key_000199</th>" in page.text and "key_000200" not in page.text
    assert len(full.json()["version"]["metadata"]) == 100_000


def test_the_runs_page_marks_crashed_runs_failed():
    import time
    import uuid

    from zen_core.client import Client
    from zen_core.metadata_stores import RunLease
    from zen_core.models import ExecutionStatus, PipelineRun

    client = Client()
    run = PipelineRun(id=uuid.uuid4().hex, name="killed-run", pipeline_name="p",
                      status=ExecutionStatus.RUNNING, created=time.time(), finished=None,
                      params={}, error=None)
    client.active_stack.metadata_store.create_run(
        run, RunLease("elsewhere", 4242, 1.0, time.time() - 5))  # its lease ran out
    with TestClient(create_app(client=client), base_url=LOCAL) as local:
        [listed] = local.get("/api/runs").json()["items"]
    assert listed["status"] == "failed" and listed["error"].startswith("crashed: ")
