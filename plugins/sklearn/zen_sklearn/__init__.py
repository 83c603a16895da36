"""zen-sklearn: fitted scikit-learn estimators and pipelines, stored with skops.

skops writes an estimator as a zip of JSON and arrays and, unlike pickle,
loads it without running code from the store: every type it would build is
checked first, and types outside its trusted set (plus the ones listed in
``[plugins.sklearn] trusted_types``) are refused with a message naming them.

Importing this module does not import scikit-learn or skops: the associated
type is given by name and both libraries are imported inside the methods.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import attrs

from zen_core.errors import UnsafeArtifactError
from zen_core.materializers import (
    ArtifactType,
    Materializer,
    VisualizationType,
    qualified_name,
)
from zen_core.plugins import hookimpl

__all__ = ["SklearnConfig", "SklearnMaterializer"]

_MODEL_FILE = "model.skops"
_HTML_FILE = "estimator.html"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed zip timestamps: same model, same bytes, same hash


@attrs.frozen
class SklearnConfig:
    """The ``[plugins.sklearn]`` config table."""

    # Types (as "module.Name") to trust on load beyond skops' defaults, e.g. your own
    # estimator classes. Only list types from code you trust: loading builds them.
    trusted_types: list[str] = attrs.field(factory=list)


def plugin_config() -> SklearnConfig:
    """This process's ``[plugins.sklearn]`` table (read when called, like the rest of the config)."""
    from zen_core.config import load_config
    from zen_core.errors import ConfigError

    config = load_config()
    value = config.plugin_section("sklearn").get("trusted_types", [])
    # checked before structuring: cattrs would turn a string into a list of its characters
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"{', '.join(config.sources) or 'config'}: [plugins.sklearn] trusted_types = "
            f"{value!r} must be a list of type names. Fix: write it as a TOML array, e.g. "
            f"trusted_types = [\"sklearn.tree._tree.Tree\"].",
            key_path="plugins.sklearn.trusted_types", value=value,
        )
    return config.plugin_section("sklearn", SklearnConfig)


class SklearnMaterializer(Materializer):
    """Any ``sklearn.base.BaseEstimator`` (estimators, pipelines, transformers) via skops."""

    ASSOCIATED_TYPES = ("sklearn.base.BaseEstimator",)
    WRITES_ONLY_THROUGH_OPEN = True  # every file through self.open: no listing at save
    ASSOCIATED_ARTIFACT_TYPE = ArtifactType.MODEL
    VERSION = "1"

    def save(self, data: Any) -> None:
        import skops.io

        payload = _normalize_zip(skops.io.dumps(data))
        with self.open(_MODEL_FILE, "wb") as f:
            f.write(payload)

    def load(self, data_type: type) -> Any:
        import skops.io

        with self.open(_MODEL_FILE, "rb") as f:
            payload = f.read()
        untrusted = skops.io.get_untrusted_types(data=payload)
        trusted = set(plugin_config().trusted_types)
        refused = sorted(t for t in untrusted if t not in trusted)
        if refused:
            listed = ", ".join(f'"{t}"' for t in refused)
            raise UnsafeArtifactError(
                f"artifact {self._label} ({self.uri}) contains types that are not trusted for "
                f"loading: {', '.join(refused)}. Loading builds these types, which could run "
                f"code from the artifact store. Fix: if you trust this store and the code of "
                f"these types, allow them in ZEN_HOME/config.toml or your zen.toml:\n"
                f"[plugins.sklearn]\ntrusted_types = [{listed}]",
                uri=self.uri, untrusted_types=refused,
            )
        return skops.io.loads(payload, trusted=list(untrusted))

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        meta: dict[str, Any] = {"class": qualified_name(type(data))}
        try:
            meta["parameters"] = {k: json_safe(v) for k, v in data.get_params(deep=False).items()}
        except Exception as exc:  # a broken get_params must not lose the model
            meta["parameters_error"] = f"{type(exc).__name__}: {exc}"
        meta["fitted"] = _is_fitted(data)
        n_features = getattr(data, "n_features_in_", None)
        if n_features is not None:
            meta["n_features_in"] = json_safe(n_features)
        return meta

    def save_visualizations(self, data: Any) -> dict[str, str]:
        from sklearn.utils import estimator_html_repr

        try:
            html = estimator_html_repr(data)
        except Exception:  # a custom estimator with an odd repr: no picture, model still saved
            return {}
        with self.open(_HTML_FILE, "wb") as f:
            f.write(_stable_html_ids(html).encode())
        return {self.path(_HTML_FILE): VisualizationType.HTML}


def json_safe(value: Any, _depth: int = 0) -> Any:
    """A JSON-serializable stand-in for a parameter value (estimators become their class)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if _depth > 8:
        return repr(value)
    item = getattr(value, "item", None)  # numpy scalars
    if item is not None and getattr(value, "shape", None) == ():
        return json_safe(item(), _depth + 1)
    if isinstance(value, list | tuple):
        return [json_safe(v, _depth + 1) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v, _depth + 1) for k, v in value.items()}
    if hasattr(value, "get_params"):  # a nested estimator
        return {"class": qualified_name(type(value))}
    if isinstance(value, type):
        return qualified_name(value)
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '?')}.{value.__qualname__}"
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _stable_html_ids(html: str) -> str:
    # sklearn numbers its HTML element ids with a process-wide counter; renumber them
    # from 1 so the same model always writes the same page (and the same content hash).
    import re

    seen: dict[str, str] = {}
    counts: dict[str, int] = {}

    def renumber(match: re.Match) -> str:
        if match.group(0) not in seen:
            kind = match.group(1)
            counts[kind] = counts.get(kind, 0) + 1
            seen[match.group(0)] = f"sk-{kind}-id-{counts[kind]}"
        return seen[match.group(0)]

    return re.sub(r"sk-(container|estimator)-id-\d+", renumber, html)


def _is_fitted(estimator: Any) -> bool | None:
    try:
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(estimator)
    except NotFittedError:
        return False
    except Exception:  # not an estimator check_is_fitted understands
        return None
    return True


def _normalize_zip(payload: bytes) -> bytes:
    """Rewrite skops' zip so that equal models always store equal bytes.

    skops names members after object ids (memory addresses) or random UUIDs and
    stamps them with the current time; here ids and member names are renumbered in
    order of first appearance in the schema and timestamps fixed, which keeps the
    file valid for ``skops.io.load`` and makes its content hash reproducible.
    """
    with zipfile.ZipFile(io.BytesIO(payload)) as src:
        schema = json.loads(src.read("schema.json"))
        ids: dict[Any, int] = {}
        names: dict[str, str] = {}

        def walk(node: Any) -> Any:
            if isinstance(node, dict):
                out = {}
                for k, v in node.items():
                    if k == "__id__" and isinstance(v, int):
                        out[k] = ids.setdefault(v, len(ids) + 1)
                    elif k == "file" and isinstance(v, str) and v in members:
                        ext = v.rsplit(".", 1)[-1] if "." in v else "bin"
                        out[k] = names.setdefault(v, f"{len(names) + 1}.{ext}")
                    else:
                        out[k] = walk(v)
                return out
            if isinstance(node, list):
                return [walk(v) for v in node]
            return node

        members = {i.filename: i for i in src.infolist()}
        schema = walk(schema)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as dst:
            def put(name: str, data: bytes, like: zipfile.ZipInfo) -> None:
                info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
                info.compress_type = like.compress_type
                info.external_attr = 0o644 << 16
                dst.writestr(info, data)

            put("schema.json", json.dumps(schema, indent=2).encode(), members["schema.json"])
            for old, new in sorted(names.items(), key=lambda kv: kv[1]):
                put(new, src.read(old), members[old])
            for old in sorted(members.keys() - names.keys() - {"schema.json"}):
                put(old, src.read(old), members[old])  # not referenced by name: keep as is
    return out.getvalue()


@hookimpl
def zen_materializers() -> list[type[Materializer]]:
    return [SklearnMaterializer]


@hookimpl
def zen_config_sections() -> dict[str, type]:
    return {"sklearn": SklearnConfig}
