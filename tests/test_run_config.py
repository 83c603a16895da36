"""Run configuration files (ZenML's shape, YAML or TOML) and ``configure``'s ZenML options."""

from __future__ import annotations

import textwrap

import pytest

from zen_core import pipeline, step
from zen_core.client import Client
from zen_core.errors import ConfigError
from zen_core.run_config import load_run_config


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@step
def load_data(source: str) -> list:
    return [source] * 3


@step
def trainer(data: list, gamma: float = 0.1, epochs: int = 1) -> dict:
    return {"n": len(data), "gamma": gamma, "epochs": epochs}


@pipeline
def training(source: str):
    trainer(load_data(source))


YAML = """\
    run_name: "training_{experiment}_{date}"
    enable_cache: false
    parameters:
      source: lake
    substitutions:
      experiment: lr001
    steps:
      trainer:
        parameters:
          gamma: 0.001
        settings:
          resources:
            cpu_count: 4
    settings:
      docker:
        requirements: [scikit-learn]
    model:
      name: classifier
    schedule:
      cron_expression: "0 * * * *"
    """

TOML = """\
    run_name = "training_{experiment}_{date}"
    enable_cache = false

    [parameters]
    source = "lake"

    [substitutions]
    experiment = "lr001"

    [steps.trainer.parameters]
    gamma = 0.001

    [steps.trainer.settings.resources]
    cpu_count = 4

    [settings.docker]
    requirements = ["scikit-learn"]

    [model]
    name = "classifier"

    [schedule]
    cron_expression = "0 * * * *"
    """


@pytest.mark.parametrize("name, text", [("run.yaml", YAML), ("run.toml", TOML)])
def test_a_run_configuration_file_configures_the_run(tmp_path, logged_events, name, text):
    path = write(tmp_path, name, text)
    run = training.with_options(config_path=str(path))()
    assert run.name.startswith("training_lr001_") and run.params == {"source": "lake"}
    assert run.steps["trainer"].outputs["output"].load() == {"n": 3, "gamma": 0.001, "epochs": 1}
    assert {s.cache_miss for s in run.steps.values()} == {"caching disabled"}
    ignored = sorted(e["option"] for e in logged_events if e["event"] == "run_config.ignored")
    assert ignored == ["model", "schedule", "settings.docker", "steps.trainer.settings.resources"]
    assert {e["where"] for e in logged_events if e["event"] == "run_config.ignored"} == {str(path)}
    assert training.run_name is None and training.step_options == {}  # a copy was configured


def test_the_files_enable_cache_beats_the_steps_and_a_steps_own_entry_beats_it(tmp_path):
    @step(enable_cache=True)
    def always() -> int:
        return 1

    @pipeline
    def p():
        always()
        always(id="again")

    p()
    path = write(tmp_path, "run.yaml", """\
        enable_cache: false
        steps:
          again:
            enable_cache: true
        """)
    run = p.with_options(config_path=path)()
    assert run.steps["always"].cache_miss == "caching disabled"
    assert run.steps["again"].status == "cached"
    # Options given in code beat the file's.
    again = p.with_options(config_path=path, enable_cache=True)()
    assert {s.status for s in again.steps.values()} == {"cached"}


def test_options_given_in_code_beat_the_file(tmp_path):
    path = write(tmp_path, "run.yaml", "run_name: from_file\nparameters:\n  source: a\n")
    run = training.with_options(config_path=path, run_name="from_code")()
    assert run.name == "from_code" and run.params == {"source": "a"}


def test_step_options_for_an_unknown_invocation_are_warned_about(tmp_path, logged_events):
    path = write(tmp_path, "run.yaml", "steps:\n  traner:\n    parameters:\n      gamma: 1.0\n")
    run = training.with_options(config_path=path)(source="x")
    assert run.steps["trainer"].params == {}
    [warning] = [e for e in logged_events if e["event"] == "run_config.unknown_steps"]
    assert warning["steps"] == ["traner"] and warning["invocations"] == ["load_data", "trainer"]


def test_a_parameter_in_the_file_and_in_the_call_must_agree(tmp_path):
    from zen_core.errors import CompositionError

    path = write(tmp_path, "run.yaml", "parameters:\n  source: lake\n")
    configured = training.with_options(config_path=path)
    assert configured(source="lake").params == {"source": "lake"}
    with pytest.raises(CompositionError, match=r"parameter 'source' is configured as 'lake' but "
                                               r"the call passes 'sea'"):
        configured(source="sea")


@pytest.mark.parametrize("text, key", [
    ("enable_cash: false\n", "enable_cash"),
    ("steps:\n  trainer:\n    paramters: {}\n", "steps.trainer.paramters"),
    ("settings:\n  gpus: 1\n", "settings.gpus"),
    ("steps:\n  trainer:\n    settings:\n      dokker: {}\n", "steps.trainer.settings.dokker"),
])
def test_keys_zenml_does_not_know_either_are_errors_naming_file_and_key(tmp_path, text, key):
    path = write(tmp_path, "run.yaml", text)
    with pytest.raises(ConfigError) as info:
        training.with_options(config_path=path)
    assert str(path) in str(info.value) and key in str(info.value)
    assert info.value.key == key and info.value.file == str(path)


@pytest.mark.parametrize("text, message", [
    ("enable_cache: maybe\n", r"enable_cache = 'maybe' must be true or false"),
    ("run_name: 3\n", r"run_name = 3 must be a string"),
    ("steps:\n  trainer: 3\n", r"steps.trainer must be a table of step options"),
    ("steps: [a]\n", r"steps must be a table of step invocation ids"),
    ("- a\n- b\n", r"must hold a table of options at its top level, got list"),
    ("run_name: [unclosed\n", r"is not valid YAML"),
    ("substitutions:\n  a: [1]\n", r"substitutions = \{'a': \[1\]\} must be a table of strings"),
])
def test_wrong_values_are_errors_naming_file_and_key(tmp_path, text, message):
    path = write(tmp_path, "run.yaml", text)
    with pytest.raises(ConfigError, match=message) as info:
        load_run_config(path)
    assert str(path) in str(info.value)


def test_unreadable_and_unknown_formats_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"run.yaml' cannot be read.*config_path"):
        load_run_config(tmp_path / "run.yaml")
    with pytest.raises(ConfigError, match=r"unknown format '.json'.*\.yaml, \.yml or \.toml"):
        load_run_config(write(tmp_path, "run.json", "{}"))
    with pytest.raises(ConfigError, match=r"is not valid TOML"):
        load_run_config(write(tmp_path, "run.toml", "run_name = \n"))


def test_an_empty_file_configures_nothing(tmp_path):
    assert load_run_config(write(tmp_path, "run.yml", "")) == ({}, {})
    run = training.with_options(config_path=tmp_path / "run.yml")(source="s")
    assert run.pipeline_name == "training"


def test_zenml_options_of_steps_and_pipelines_are_warned_about_and_ignored(logged_events):
    @step(enable_cache=False, experiment_tracker="mlflow", settings={"step_operator.sagemaker": {}})
    def tracked() -> int:
        return 1

    @pipeline(settings={"orchestrator": {}}, tags=["nightly"], model={"name": "m"})
    def p():
        tracked()

    p.configure(on_failure=print).with_options(schedule={"cron": "*"})
    run = p()
    assert run.steps["tracked"].outputs["output"].load() == 1
    ignored = [e["option"] for e in logged_events if e["event"] == "run_config.ignored"]
    assert ignored == ["experiment_tracker", "settings.step_operator.sagemaker", "tags",
                       "model", "settings.orchestrator", "on_failure", "schedule"]
    assert Client().list_pipeline_runs()[0].id == run.id
