"""Ids as users type them: ``UUID``, dashed, 32 hex, any case, or a unique prefix."""

from __future__ import annotations

import json
import uuid

import pytest
from click.testing import CliRunner

from zen_core import pipeline, step
from zen_core.cli import cli
from zen_core.client import Client
from zen_core.errors import AmbiguousIdError, ArtifactNotFoundError, RunNotFoundError
from zen_core.ids import MIN_SHOWN, id_prefix, normalize_id, shortest_unique_prefix


@step
def make() -> int:
    return 7


@pipeline(enable_cache=False)  # each run makes its own version
def ids_pipeline():
    make()


def spellings(record_id: str) -> list:
    as_uuid = uuid.UUID(record_id)
    return [record_id, as_uuid, str(as_uuid), str(as_uuid).upper(), record_id.upper(),
            f" {record_id} "]


def test_normalize_and_prefix_rules():
    hexid = "0661f074596a44d6267f03dcb20eb801"
    assert all(normalize_id(v) == hexid for v in spellings(hexid))
    assert normalize_id("0661f074") is None and normalize_id(42) is None
    assert normalize_id("0661f074-596a-44d6-267f-03dcb20eb80") is None  # one digit short
    assert id_prefix("0661F074-596a") == "0661f074596a"
    assert id_prefix("my_pipeline-2024") is None  # not hex: a name, never a prefix
    assert id_prefix(hexid) is None and id_prefix("") is None and id_prefix("-a") is None
    assert shortest_unique_prefix(hexid, ("0661f074596a0000", None)) == hexid[:13]
    assert shortest_unique_prefix(hexid, (None, None)) == hexid[:MIN_SHOWN]


def test_every_spelling_of_an_id_finds_runs_steps_and_versions():
    run = ids_pipeline()
    step_run = run.steps["make"]
    av = step_run.output
    client = Client()
    for value in spellings(run.id):
        assert client.get_pipeline_run(value) == run
    assert client.get_pipeline_run(name_id_or_prefix=uuid.UUID(run.id)) == run
    for value in spellings(step_run.id):
        assert client.get_step_run(value) == step_run
    assert client.get_run_step(uuid.UUID(step_run.id)) == step_run  # ZenML's name
    for value in spellings(av.id):
        assert client.get_artifact_version(value) == av
    assert client.get_artifact_version(name_id_or_prefix=uuid.UUID(av.id), version="99") == av
    assert client.get_lineage(uuid.UUID(av.id)).root == av.id
    client.delete_pipeline_run(name_id_or_prefix=uuid.UUID(run.id))
    with pytest.raises(RunNotFoundError, match=str(uuid.UUID(run.id))):
        client.get_pipeline_run(uuid.UUID(run.id))  # a clear error, not a database error


def test_a_unique_prefix_finds_the_record_and_an_ambiguous_one_lists_the_matches():
    first, second = ids_pipeline(), ids_pipeline()
    client = Client()
    shared = 0
    while first.id[shared] == second.id[shared]:
        shared += 1
    assert client.get_pipeline_run(first.id[:shared + 1]) == first
    assert client.get_pipeline_run(second.id[:shared + 1].upper()) == second
    with pytest.raises(AmbiguousIdError) as caught:
        client.get_pipeline_run(first.id[:shared])
    message = str(caught.value)
    assert f"2 runs have an id starting with {first.id[:shared]!r}" in message
    assert first.id in message and second.id in message and first.name in message
    assert "Fix: give more of the id" in message
    assert isinstance(caught.value, KeyError)  # as ZenML's ZenKeyError is
    steps = [first.steps["make"].id, second.steps["make"].id]
    with pytest.raises(AmbiguousIdError, match="step runs have an id starting with"):
        client.get_step_run(steps[0][:4])
    outputs = [r.steps["make"].output for r in (first, second)]
    shared_av = 0
    while outputs[0].id[shared_av] == outputs[1].id[shared_av]:
        shared_av += 1
    assert client.get_artifact_version(outputs[1].id[:shared_av + 1]) == outputs[1]
    with pytest.raises(AmbiguousIdError, match=r"artifact ids_pipeline::make::output:1"):
        client.get_artifact_version(outputs[0].id[:shared_av])


def test_names_come_before_prefixes_and_unknown_values_say_so():
    run = ids_pipeline()
    client = Client()
    assert client.get_pipeline_run(run.name) == run
    assert client.get_artifact_version("ids_pipeline::make::output").id == run.steps["make"].output.id
    with pytest.raises(RunNotFoundError, match=r"no pipeline run with id, name or id prefix 'ffff'"):
        client.get_pipeline_run("ffff")
    with pytest.raises(RunNotFoundError, match=r"no step run with id or id prefix 'nope'"):
        client.get_step_run("nope")
    with pytest.raises(ArtifactNotFoundError, match=r"no artifact named 'ffff'"):
        client.get_artifact_version("ffff")
    with pytest.raises(RunNotFoundError, match="42"):
        client.get_pipeline_run(42)


def test_the_cli_shows_the_shortest_unique_prefix_and_takes_it_back():
    runs = [ids_pipeline() for _ in range(3)]
    runner = CliRunner()
    listing = runner.invoke(cli, ["run", "list"], catch_exceptions=False).output
    client = Client()
    for run in runs:
        line = next(line for line in listing.splitlines() if run.name in line)
        shown = line.split()[0]
        assert run.id.startswith(shown) and MIN_SHOWN <= len(shown) < 32
        assert client.get_pipeline_run(shown) == run
        if len(shown) > MIN_SHOWN:  # one digit less names several runs
            with pytest.raises(AmbiguousIdError):
                client.get_pipeline_run(shown[:-1])
        shown_run = runner.invoke(cli, ["run", "show", shown], catch_exceptions=False)
        assert f"run {run.name} ({run.id})" in shown_run.output
    av = runs[0].steps["make"].output
    prefix = client.shortest_prefixes("artifact_version", [av.id])[av.id]
    shown_av = json.loads(runner.invoke(cli, ["artifact", "show", prefix, "--json"]).stdout)
    assert shown_av["id"] == av.id
