"""The `zen` command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pytest
from click.testing import CliRunner

from zen_core import pipeline, save_artifact, step
from zen_core.cli import cli, split_ref
from zen_core.client import Client


@step
def make() -> Annotated[dict, "data"]:
    return {"a": 1}


@step
def use(d: dict) -> int:
    return len(d)


@pipeline
def cli_pipeline():
    use(make())


@pytest.fixture
def zen():
    runner = CliRunner()

    def invoke(*args, ok=True, input=None):
        result = runner.invoke(cli, list(args), catch_exceptions=False, input=input)
        assert (result.exit_code == 0) is ok, result.output
        return result

    return invoke


def test_split_ref():
    assert split_ref("model:3", None) == ("model", "3")
    assert split_ref("p::step::output", None) == ("p::step::output", None)
    assert split_ref("p::step::output:2", None) == ("p::step::output", "2")
    assert split_ref("a:b", "7") == ("a:b", "7")


def test_stack_commands(zen, zen_home):
    assert "* default" in zen("stack", "list").output.replace("  ", " ")
    listing = json.loads(zen("stack", "list", "--json").stdout)
    assert listing == [{"name": "default", "active": True, "artifact_store": "local",
                        "metadata_store": "sqlite", "orchestrator": "local"}]
    assert "sqlite" in zen("stack", "describe").output
    (zen_home).mkdir(exist_ok=True)
    (zen_home / "config.toml").write_text(
        '# my settings\n[stacks.other]\nartifact_store = { flavor = "local", path = "/tmp/o" }\n')
    zen("stack", "set", "other")
    text = (zen_home / "config.toml").read_text()
    assert 'active_stack = "other"' in text and "# my settings" in text
    result = zen("stack", "set", "missing", ok=False)
    assert "stack 'missing' is not defined" in result.output


def test_run_commands(zen):
    run = cli_pipeline()
    cached = cli_pipeline()
    listing = zen("run", "list").output
    assert run.name in listing and cached.name in listing
    shown = zen("run", "show", run.id).output
    assert "step make [completed]" in shown and "cache miss: no earlier run" in shown
    assert "-> data: data:1" in shown
    data = json.loads(zen("run", "show", cached.name, "--json").stdout)
    assert [s["status"] for s in data["steps"]] == ["cached", "cached"]
    assert "no pipeline run with id, name or id prefix 'nope'" in zen("run", "show", "nope", ok=False).output
    zen("run", "delete", run.id, "--yes")
    assert run.name not in zen("run", "list").output


def test_artifact_commands(zen):
    cli_pipeline()
    assert "data" in zen("artifact", "list").output
    shown = json.loads(zen("artifact", "show", "data:1", "--json").stdout)
    assert shown["version"] == "1" and shown["type"] == "builtins.dict"
    assert "builtins.int" in zen("artifact", "show", "cli_pipeline::use::output").output
    assert "no artifact named 'dta'" in zen("artifact", "show", "dta", ok=False).output
    lineage = zen("artifact", "lineage", "data").output
    assert "upstream:" in lineage and "downstream:" in lineage and "step use" in lineage
    up = zen("artifact", "lineage", "cli_pipeline::use::output", "--upstream").output
    assert "downstream:" not in up and "artifact data:1" in up


def test_tags_and_metadata_on_the_command_line(zen):
    from zen_core import add_tags, log_metadata

    run = cli_pipeline()
    tagged = zen("artifact", "tag", "data:1", "prod", "reviewed").output
    assert "data:1 tags: prod, reviewed" in tagged
    assert "data:1 tags: prod" in zen("artifact", "tag", "data", "reviewed", "--remove").output
    assert "tag '' cannot be used" in zen("artifact", "tag", "data", "", ok=False).output
    listed = zen("artifact", "list", "--tag", "prod").output
    assert "data" in listed and "cli_pipeline::use::output" not in listed
    assert json.loads(zen("artifact", "list", "--tag", "prod", "--tag", "nope", "--json")
                      .stdout) == []
    log_metadata({"accuracy": 0.9}, artifact_name="data", artifact_version="1")
    shown = zen("artifact", "show", "data").output
    assert "tags           prod" in shown and '"accuracy": 0.9' in shown
    other = cli_pipeline()
    add_tags(["nightly"], run=run.id)
    log_metadata({"owner": "ml"}, run_id_name_or_prefix=run.id)
    log_metadata({"note": "fast"}, step_name="make", run_id_name_or_prefix=run.id)
    listing = zen("run", "list", "--tag", "nightly").output
    assert run.name in listing and other.name not in listing and "nightly" in listing
    shown = zen("run", "show", run.id).output
    assert "tags nightly" in shown and '"owner": "ml"' in shown and '"note": "fast"' in shown
    data = json.loads(zen("run", "show", run.id, "--json").stdout)
    assert data["tags"] == ["nightly"] and data["run_metadata"] == {"owner": "ml"}


def test_prune_command(zen):
    run = cli_pipeline()
    Client().delete_pipeline_run(run.id)
    assert "would remove 2 artifact version(s)" in zen("artifact", "prune", "--dry-run").output
    for answer in (None, "", "n\n"):  # no input, EOF at once, or "no": nothing is removed
        refused = zen("artifact", "prune", ok=False, input=answer)
        assert "Proceed?" in refused.output and "Aborted" in refused.output
    assert len(Client().list_artifact_versions()) == 2
    report = json.loads(zen("artifact", "prune", "--yes", "--json").stdout)
    assert {v["name"] for v in report["versions"]} == {"data", "cli_pipeline::use::output"}
    assert "nothing to prune" in zen("artifact", "prune", "--yes").output
    assert "exclude each other" in zen("artifact", "prune", "--only-artifact",
                                       "--only-metadata", ok=False).output


def test_confirmations_are_read_from_piped_stdin(zen):
    """`echo y | zen artifact prune` prunes, as click.confirm reads a pipe like a terminal."""
    run = cli_pipeline()
    Client().delete_pipeline_run(run.id)
    pruned = zen("artifact", "prune", input="y\n")
    assert "Proceed?" in pruned.output and "removed data:1" in pruned.output
    assert list(Client().list_artifact_versions()) == []
    kept = cli_pipeline()
    zen("run", "delete", kept.id[:12], input="n\n", ok=False)
    assert Client().get_pipeline_run(kept.id) == kept
    zen("run", "delete", kept.id[:12], input="y\n")
    assert list(Client().list_pipeline_runs()) == []


def test_plugins_list(zen):
    report = json.loads(zen("plugins", "list", "--json").stdout)
    names = {i["name"] for i in report["plugins"]}
    assert "zen_core.metadata_stores.sqlite" in names
    [builtin] = [i for i in report["plugins"] if i["name"] == "zen_core.materializers.builtin"]
    assert "builtins.int" in builtin["claims"]["zen_core.materializers.builtin.BuiltInMaterializer"]
    assert report["conflicts"] == {"types": {}, "flavors": {}}
    assert report["unknown_override_keys"] == {} and report["config_error"] is None
    text = zen("plugins", "list").output
    assert "zen-artifacts" in text and "BuiltInMaterializer (builtins.bool, builtins.int" in text


def test_config_errors_are_one_clear_line(zen, zen_home):
    zen_home.mkdir(exist_ok=True)
    (zen_home / "config.toml").write_text("bogus = 1\n")
    result = zen("run", "list", ok=False)
    assert "Error:" in result.output and "unknown key bogus" in result.output
    assert "Traceback" not in result.output


def _flip_a_byte(path) -> None:
    content = bytearray(path.read_bytes())
    content[1] ^= 1  # same size: only re-hashing can tell
    path.write_bytes(bytes(content))


def test_verify_finds_corrupt_and_missing_data_and_repair_moves_it_aside(zen):
    run = cli_pipeline()
    saved = save_artifact(b"x" * 5000, "blob")
    assert "verified 3 artifact version(s) in 3 stored object(s)" in zen(
        "artifact", "verify").output
    data = run.steps["make"].outputs["data"]
    _flip_a_byte(Path(data.uri) / "data.json")
    (Path(saved.uri) / "data.bin").unlink()

    found = zen("artifact", "verify", ok=False)  # exit status 1: damage found
    assert f"corrupt: {data.uri} (data:1): changed: data.json (same size, other bytes)" in found.output
    assert f"missing: {saved.uri} (blob:1): missing: data.bin" in found.output
    assert "run `zen artifact verify data:1 --repair` to move the damaged object aside" in found.output
    assert "1 corrupt, 1 missing" in found.output and Path(data.uri).exists()

    only = json.loads(zen("artifact", "verify", "blob", "--json", ok=False).stdout)
    assert only["versions"] == 1 and [d["problem"] for d in only["damaged"]] == ["missing"]

    repaired = json.loads(zen("artifact", "verify", "data:1", "--repair", "--json", ok=False).stdout)
    [damage] = repaired["damaged"]
    assert damage["moved_to"].startswith(str(Path(data.uri).parents[2] / "corrupt"))
    assert damage["fixes"] == [f"'data' version '1': rerun step 'make' of pipeline 'cli_pipeline' "
                               f"(run {run.name}); the rerun misses the cache and stores it again."]
    assert not Path(data.uri).exists()

    rerun = cli_pipeline()  # caching on: the moved-aside output is missing, so make runs again
    assert rerun.steps["make"].status == "completed"
    assert rerun.steps["make"].cache_miss == "outputs missing"
    assert rerun.steps["make"].outputs["data"].load() == {"a": 1}
    save_artifact(b"x" * 5000, "blob")
    assert Client().get_artifact_version("blob", "1").load() == b"x" * 5000  # refilled
    assert "all intact" in zen("artifact", "verify").output
