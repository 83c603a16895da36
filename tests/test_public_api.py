"""Plugins import only what the core's public faces export (their ``__all__``)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The modules plugins and user code may import from; everything else is internal.
# docs/plugins.md ("The API plugins rely on") lists the same.
PUBLIC_FACES = (
    "zen_core",
    "zen_core.artifact_stores",
    "zen_core.artifacts",
    "zen_core.cli",
    "zen_core.client",
    "zen_core.config",
    "zen_core.enums",
    "zen_core.errors",
    "zen_core.hashing",
    "zen_core.io",
    "zen_core.io.fileio",
    "zen_core.logger",
    "zen_core.materializers",
    "zen_core.metadata",
    "zen_core.materializers.base_materializer",
    "zen_core.metadata_stores",
    "zen_core.models",
    "zen_core.orchestrators",
    "zen_core.plugins",
    "zen_core.stack",
    "zen_core.testing",
    "zen_core.testing.guide",
    "zen_core.types",
)


def _plugin_files() -> list[Path]:
    files = [*ROOT.glob("plugins/*/**/*.py"), *ROOT.glob("examples/*/**/*.py")]
    return sorted(f for f in files if ".egg-info" not in f.parts and "build" not in f.parts)


def core_names_used(source: str) -> list[tuple[int, str, str]]:
    """``(line, module, name)`` for every name taken from a ``zen_core`` module."""
    used = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and (
                node.module == "zen_core" or node.module.startswith("zen_core.")):
            used += [(node.lineno, node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            used += [(node.lineno, alias.name, "") for alias in node.names
                     if alias.name == "zen_core" or alias.name.startswith("zen_core.")]
        elif isinstance(node, ast.Attribute):
            chain, value = [], node
            while isinstance(value, ast.Attribute):
                chain.insert(0, value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id == "zen_core" and len(chain) >= 2:
                used.append((node.lineno, ".".join(["zen_core", *chain[:-1]]), chain[-1]))
    return used


def declared_all(module: str) -> list[str]:
    """A face's ``__all__`` as written in its source, read without importing it (a face
    may need a library this environment lacks, such as the guide's pandas)."""
    origin = importlib.util.find_spec(module).origin
    for node in ast.parse(Path(origin).read_text()).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError(f"{module} has no literal __all__")


def boundary_violations(source: str) -> list[str]:
    problems = []
    for line, module, name in core_names_used(source):
        if module not in PUBLIC_FACES:
            if f"{module}.{name}" in PUBLIC_FACES or (not name and module in PUBLIC_FACES):
                continue
            problems.append(f"line {line}: {module} is internal")
        elif name and name not in declared_all(module):
            if f"{module}.{name}" in PUBLIC_FACES:
                continue
            problems.append(f"line {line}: {module}.{name} is not in its __all__")
    return problems


@pytest.mark.parametrize("path", _plugin_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_import_only_public_names(path):
    assert boundary_violations(path.read_text()) == []


def test_the_check_catches_internal_imports():
    source = ("from zen_core.execution.driver import RunDriver\n"
              "from zen_core.materializers import _helper\n"
              "import zen_core.records\n"
              "from zen_core.materializers import Materializer\n"
              "zen_core.testing.free_port()\n")
    assert boundary_violations(source) == [
        "line 1: zen_core.execution.driver is internal",
        "line 2: zen_core.materializers._helper is not in its __all__",
        "line 3: zen_core.records is internal",
    ]


@pytest.mark.parametrize("face", PUBLIC_FACES)
def test_every_face_exports_what_it_lists(face):
    if face == "zen_core.testing.guide":
        for library in ("numpy", "pandas", "sklearn"):  # the guide's example needs them
            pytest.importorskip(library)
    module = importlib.import_module(face)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


def test_the_version_policy_names_every_public_face():
    policy = (ROOT / "docs" / "versioning.md").read_text()
    assert [face for face in PUBLIC_FACES if f"`{face}`" not in policy] == []
