"""Options of steps and pipelines, and run-configuration files, in ZenML's shape.

``configure(...)``, ``with_options(...)``, the decorators and YAML/TOML run
configuration files (``with_options(config_path=...)``) share one vocabulary:
ZenML 0.98's ``PipelineRunConfiguration`` and step configuration. What zen_core
has a counterpart for is applied; ZenML's other keys (``settings.docker``,
``model``, ``schedule``, ``build``, ...) are warned about, once each, and
ignored, so ported code runs; a key ZenML does not know either is an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from zen_core.errors import ConfigError, OptionError

# What zen_core applies. Dict options merge into the current value unless merge=False.
STEP_OPTIONS = ("name", "enable_cache", "output_materializers", "substitutions", "parameters")
PIPELINE_OPTIONS = ("name", "enable_cache", "substitutions", "run_name", "parameters")
_MERGED = ("substitutions", "parameters")

# ZenML 0.98 options zen_core has no counterpart for: accepted, warned about, ignored.
_ZENML_STEP_OPTIONS = (
    "enable_artifact_metadata", "enable_artifact_visualization", "enable_step_logs",
    "experiment_tracker", "step_operator", "environment", "secrets", "extra", "on_failure",
    "on_success", "on_start", "on_end", "model", "retry", "cache_policy", "runtime",
    "heartbeat_healthy_threshold", "group")
_ZENML_PIPELINE_OPTIONS = (
    "enable_artifact_metadata", "enable_artifact_visualization", "enable_step_logs",
    "enable_heartbeat", "environment", "secrets", "enable_pipeline_logs", "tags", "extra",
    "on_failure", "on_success", "on_start", "on_end", "on_pause", "on_resume", "on_init",
    "on_init_kwargs", "on_cleanup", "model", "retry", "execution_mode", "cache_policy")
_ZENML_RUN_OPTIONS = ("schedule", "build", "unlisted", "prevent_build_reuse")  # with_options

# The keys of a run configuration file, as ZenML 0.98 reads them.
_FILE_KEYS = ("run_name", "enable_cache", "parameters", "substitutions", "steps", "settings")
_ZENML_FILE_KEYS = (
    "enable_artifact_metadata", "enable_artifact_visualization", "enable_step_logs",
    "enable_pipeline_logs", "enable_heartbeat", "schedule", "build", "environment", "secrets",
    "tags", "extra", "model", "retry", "init_hook_source", "init_hook_kwargs",
    "cleanup_hook_source", "failure_hook_source", "success_hook_source", "start_hook_source",
    "end_hook_source", "pause_hook_source", "resume_hook_source", "cache_policy",
    "execution_mode")
_FILE_STEP_KEYS = ("enable_cache", "parameters", "substitutions", "settings")
_ZENML_FILE_STEP_KEYS = (
    "enable_artifact_metadata", "enable_artifact_visualization", "enable_step_logs",
    "step_operator", "experiment_tracker", "environment", "secrets", "extra",
    "failure_hook_source", "success_hook_source", "start_hook_source", "end_hook_source",
    "model", "retry", "cache_policy", "runtime", "heartbeat_healthy_threshold", "group",
    "outputs")

# ZenML's settings keys: general ones, and those of a stack component type (optionally
# ".flavor" or ":name"); all are about infrastructure zen_core does not manage.
_GENERAL_SETTINGS = ("docker", "resources", "deployment")
_COMPONENT_SETTINGS = re.compile(
    r"(alerter|annotator|artifact_store|container_registry|data_validator|experiment_tracker|"
    r"feature_store|image_builder|log_store|model_deployer|orchestrator|step_operator|"
    r"model_registry|deployer|sandbox)([.:].+)?")


def step_options(options: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The options of ``@step``/``configure``/``with_options`` that zen_core applies."""
    return _accepted(options, STEP_OPTIONS, _ZENML_STEP_OPTIONS, where)


def pipeline_options(options: Mapping[str, Any], where: str, *, run: bool = False
                     ) -> dict[str, Any]:
    """Likewise for a pipeline; ``run``: ``with_options``, which also takes run options."""
    zenml_only = _ZENML_PIPELINE_OPTIONS + (_ZENML_RUN_OPTIONS if run else ())
    return _accepted(options, PIPELINE_OPTIONS, zenml_only, where)


def merged(current: Any, name: str, value: Any, merge: bool) -> Any:
    """The new value of option ``name``: dict options merge over the current one."""
    if name in _MERGED and merge:
        return {**(current or {}), **(value or {})}
    if name in _MERGED:
        return dict(value or {})
    return value


def _accepted(options: Mapping[str, Any], accepted: tuple[str, ...],
              zenml_only: tuple[str, ...], where: str) -> dict[str, Any]:
    unknown = sorted(set(options) - set(accepted) - set(zenml_only) - {"settings"})
    if unknown:
        raise OptionError(
            f"{where} got unknown option(s) {', '.join(unknown)}; accepted: "
            f"{', '.join(accepted)} (and ZenML's {', '.join(('settings', *zenml_only))}, "
            f"which zen_core ignores).", options=unknown)
    for name in options:
        if name in zenml_only and options[name] is not None:
            _ignored(name, where)
    if options.get("settings"):
        _check_settings(options["settings"], "settings", where, error=_option_error)
    return {k: v for k, v in options.items() if k in accepted}


def _option_error(message: str, key: str) -> Exception:
    return OptionError(message, options=[key])


def _ignored(key: str, where: str) -> None:
    from zen_core.logger import get_logger

    get_logger().warning("run_config.ignored", option=key, where=where,
                         hint="a ZenML option zen_core has no counterpart for; ignored")


def _check_settings(settings: Any, path: str, where: str, *, error: Any) -> None:
    if not isinstance(settings, Mapping):
        raise error(f"{where}: {path} must be a table of settings, got "
                    f"{type(settings).__name__} {settings!r}.", path)
    for key in settings:
        if key in _GENERAL_SETTINGS or _COMPONENT_SETTINGS.fullmatch(str(key)):
            _ignored(f"{path}.{key}", where)
            continue
        raise error(
            f"{where}: {path}.{key} is not a setting ZenML or zen_core knows (ZenML's settings "
            f"keys: {', '.join(_GENERAL_SETTINGS)}, or a stack component type such as "
            f"'orchestrator' or 'step_operator.<flavor>'). Fix: correct or remove it.",
            f"{path}.{key}")


# -- run configuration files ------------------------------------------------------------------


def load_run_config(path: str | Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A run configuration file as ``(pipeline options, {invocation id: step options})``.

    The pipeline options may hold ``run_name``, ``enable_cache``, ``parameters`` and
    ``substitutions``; the step options ``enable_cache``, ``parameters`` and
    ``substitutions``.
    """
    path = Path(path)
    data = _read(path)
    where = str(path)
    _check_keys(data, "", _FILE_KEYS, _ZENML_FILE_KEYS, where)
    options = {key: data[key] for key in _FILE_KEYS if data.get(key) is not None}
    steps = options.pop("steps", {})
    if "settings" in options:
        _check_settings(options.pop("settings"), "settings", where, error=_config_error(where))
    _check_values(options, "", where)
    if not isinstance(steps, Mapping):
        raise ConfigError(f"{where}: steps must be a table of step invocation ids, got "
                          f"{type(steps).__name__} {steps!r}.", file=where, key="steps")
    by_step: dict[str, dict[str, Any]] = {}
    for inv_id, table in steps.items():
        prefix = f"steps.{inv_id}."
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: {prefix[:-1]} must be a table of step options, got "
                              f"{type(table).__name__} {table!r}.", file=where, key=prefix[:-1])
        _check_keys(table, prefix, _FILE_STEP_KEYS, _ZENML_FILE_STEP_KEYS, where)
        chosen = {key: table[key] for key in _FILE_STEP_KEYS if table.get(key) is not None}
        if "settings" in chosen:
            _check_settings(chosen.pop("settings"), f"{prefix}settings", where,
                            error=_config_error(where))
        _check_values(chosen, prefix, where)
        by_step[str(inv_id)] = chosen
    return options, by_step


def _read(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".toml"):
        raise ConfigError(f"run configuration {str(path)!r}: unknown format {suffix or '(none)'!r}. "
                          f"Fix: use a .yaml, .yml or .toml file.", file=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"run configuration {str(path)!r} cannot be read: {exc.strerror or exc}. "
                          f"Fix: check the path given as config_path.", file=str(path)) from exc
    try:
        if suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # the parsers' own errors: TOMLDecodeError, YAMLError
        raise ConfigError(f"run configuration {str(path)!r} is not valid "
                          f"{'TOML' if suffix == '.toml' else 'YAML'}: {exc}",
                          file=str(path)) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"run configuration {str(path)!r} must hold a table of options at its "
                          f"top level, got {type(data).__name__}.", file=str(path))
    return data


def _check_keys(table: Mapping[str, Any], prefix: str, known: Iterable[str],
                zenml_only: Iterable[str], where: str) -> None:
    for key in table:
        if key in known:
            continue
        if key in zenml_only:
            _ignored(f"{prefix}{key}", where)
            continue
        raise ConfigError(
            f"{where}: unknown key {prefix}{key!s} (neither ZenML nor zen_core knows it; zen_core "
            f"applies {', '.join(prefix + k for k in known)}). Fix: correct or remove it.",
            file=where, key=f"{prefix}{key}")


def _check_values(options: Mapping[str, Any], prefix: str, where: str) -> None:
    expected = {"run_name": (str, "a string"), "enable_cache": (bool, "true or false"),
                "parameters": (dict, "a table"), "substitutions": (dict, "a table of strings")}
    for key, value in options.items():
        kind, text = expected[key]
        bad = not isinstance(value, kind) or (key == "substitutions" and not all(
            isinstance(v, str | int | float) for v in value.values()))
        if bad:
            raise ConfigError(f"{where}: {prefix}{key} = {value!r} must be {text}.",
                              file=where, key=f"{prefix}{key}", value=value)


def _config_error(where: str) -> Any:
    def error(message: str, key: str) -> Exception:
        return ConfigError(message, file=where, key=key)

    return error
