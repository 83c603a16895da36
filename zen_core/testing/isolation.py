"""A throwaway ZEN_HOME per test, and stacks written into it."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def isolate_zen_home(monkeypatch: Any, tmp_path: Path) -> Path:
    """Point ZEN_HOME at a fresh folder and leave no zen.toml in reach (use in a fixture)."""
    from zen_core.stack import close_all

    close_all()
    home = tmp_path / "zen_home"
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("ZEN_HOME", str(home))
    monkeypatch.delenv("ZEN_STACK", raising=False)
    monkeypatch.chdir(work)
    return home


def write_stack(zen_home: Path, name: str = "test", **components: dict[str, Any]) -> None:
    """Write ``$ZEN_HOME/config.toml`` making stack ``name`` active.

    ``components`` are ``artifact_store=``, ``metadata_store=``, ``orchestrator=``
    tables (each with its ``flavor``); the ones left out are the defaults.
    """
    import tomlkit

    doc = tomlkit.document()
    doc["active_stack"] = name
    stack = tomlkit.table()
    for kind, table in components.items():
        inline = tomlkit.inline_table()
        inline.update(table)
        stack[kind] = inline
    doc["stacks"] = {name: stack}
    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text(tomlkit.dumps(doc))
