"""Pipelines end to end on a stack of a local artifact store and a PostgreSQL metadata store,
including several processes running pipelines against it at once."""

from __future__ import annotations

import os
from typing import Annotated

import pytest

from zen_core import Client, pipeline, step
from zen_core.testing import check_concurrent_pipelines


@pytest.fixture
def team_stack(zen_home, tmp_path, pg_url, pg_schema):
    """ZEN_HOME/config.toml whose active stack keeps its metadata in this test's schema."""
    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text(
        'active_stack = "team"\n'
        "[stacks.team]\n"
        f'artifact_store = {{ flavor = "local", path = "{tmp_path / "artifacts"}" }}\n'
        f'metadata_store = {{ flavor = "postgres", url = "{pg_url}", schema = "{pg_schema}" }}\n'
        'orchestrator = { flavor = "local" }\n'
    )
    return zen_home


@step
def make_numbers(n: int) -> Annotated[list, "numbers"]:
    return list(range(n))


@step
def total(numbers: list) -> int:
    return sum(numbers)


@pipeline
def sums(n: int = 4):
    total(make_numbers(n=n))


def test_pipeline_runs_and_is_recorded_in_postgres(team_stack, pg_url, pg_schema):
    import psycopg

    run = sums(n=4)
    assert run.status == "completed"
    assert Client().active_stack.metadata_store.FLAVOR == "postgres"
    assert run.steps["total"].outputs["output"].load() == 6
    numbers = Client().get_artifact_version("numbers")
    assert numbers.version == "1" and numbers.load() == [0, 1, 2, 3]
    assert numbers.producer.name == "make_numbers"
    assert [s.name for s in numbers.consumers] == ["total"]
    with psycopg.connect(pg_url, options=f"-c search_path={pg_schema}") as conn:
        [(count,)] = conn.execute("SELECT COUNT(*) FROM pipeline_runs").fetchall()
    assert count == 1


def test_second_run_is_cached_and_new_inputs_get_new_versions(team_stack):
    first = sums(n=3)
    second = sums(n=3)
    assert second.steps["make_numbers"].status == "cached"
    assert (second.steps["make_numbers"].outputs["numbers"].id
            == first.steps["make_numbers"].outputs["numbers"].id)
    sums(n=5)
    client = Client()
    assert [v.version for v in client.list_artifact_versions(name="numbers")] == ["1", "2"]
    assert client.get_artifact_version("numbers").load() == [0, 1, 2, 3, 4]
    assert len(client.list_pipeline_runs(pipeline_name="sums")) == 3


def test_failing_step_marks_the_run_failed(team_stack):
    @step
    def explode(numbers: list) -> int:
        raise ValueError("no sums today")

    @pipeline(enable_cache=False)
    def broken():
        explode(make_numbers(n=2))

    with pytest.raises(ValueError, match="no sums today"):
        broken()
    [run] = Client().list_pipeline_runs(pipeline_name="broken")
    assert run.status == "failed"
    assert run.steps["make_numbers"].status == "completed"
    assert run.steps["explode"].status == "failed"
    assert Client().get_artifact_version("numbers").load() == [0, 1]


def test_cli_lists_artifacts_and_masks_nothing_it_should_not_show(team_stack):
    from click.testing import CliRunner

    from zen_core.cli import cli

    sums(n=2)
    listing = CliRunner().invoke(cli, ["artifact", "list"])
    assert listing.exit_code == 0, listing.output
    assert "numbers" in listing.output
    described = CliRunner().invoke(cli, ["stack", "describe"])
    assert described.exit_code == 0, described.output
    assert "postgres" in described.output


def test_password_in_url_is_masked_in_stack_describe(zen_home, tmp_path, pg_url):
    from click.testing import CliRunner

    from zen_core.cli import cli

    zen_home.mkdir(parents=True, exist_ok=True)
    secret_url = pg_url.replace("://", "://zen:topsecret-pw@", 1).replace("root@", "")
    (zen_home / "config.toml").write_text(
        'active_stack = "team"\n[stacks.team]\n'
        f'metadata_store = {{ flavor = "postgres", url = "{secret_url}" }}\n')
    described = CliRunner().invoke(cli, ["stack", "describe"])
    assert "topsecret-pw" not in described.output
    assert "zen:***@" in described.output


def test_unreachable_server_fails_the_pipeline_with_the_fix(zen_home, tmp_path):
    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text(
        'active_stack = "team"\n[stacks.team]\n'
        'metadata_store = { flavor = "postgres", '
        'url = "postgresql://zen:pw-123@127.0.0.1:1/zen", connect_timeout_s = 2 }\n')
    from zen_core.errors import MetadataStoreError

    with pytest.raises(MetadataStoreError) as info:
        sums(n=1)
    message = str(info.value)
    assert "host '127.0.0.1', port 1, database 'zen'" in message
    assert "pw-123" not in message and "Fix:" in message


def test_eight_processes_five_runs_each_get_gap_free_versions(team_stack):
    # a fresh schema: the 8 processes also race to create the tables
    check_concurrent_pipelines(dict(os.environ), processes=8, runs=5, cwd=os.getcwd())
