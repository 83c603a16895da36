"""The docs are tested like code: examples run, references stay complete and true.

Conventions in ``docs/*.md`` (HTML comments just before a fenced block):

* every ```python block runs, in order, in one namespace per page (``__main__``);
* ``<!-- requires: pandas numpy -->``: runs only when those modules import, in a
  copy of the namespace (later blocks must not depend on it);
* ``<!-- output -->`` before a ```text block: that text appears in what the
  previous python block printed (whitespace-insensitive);
* ``<!-- file: examples/... -->``: the block is a verbatim excerpt of that file,
  and the excerpts of one file together cover every line of it; not run here;
* ``<!-- config-error -->`` before a ```toml block followed by a ```text block:
  that config, as ``ZEN_HOME/config.toml``, fails with exactly that message.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import linecache
import re
from pathlib import Path

import attrs
import click
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(r"(?:<!--\s*(?P<directive>[^>]*?)\s*-->[ \t]*\n)?^```(?P<lang>[\w-]*)[ \t]*\n"
                   r"(?P<code>.*?)^```[ \t]*$", re.S | re.M)


@attrs.frozen
class Block:
    page: str
    line: int
    lang: str
    code: str
    directive: str

    def option(self, name: str) -> str | None:
        if self.directive == name:
            return ""
        prefix = name + ":"
        return self.directive[len(prefix):].strip() if self.directive.startswith(prefix) else None


def blocks(page: str) -> list[Block]:
    text = (DOCS / page).read_text()
    return [Block(page, text.count("\n", 0, m.start("code")) + 1, m["lang"], m["code"],
                  (m["directive"] or "").strip()) for m in FENCE.finditer(text)]


def _missing(modules: str) -> list[str]:
    return [m for m in modules.split() if importlib.util.find_spec(m) is None]


def _run(block: Block, namespace: dict) -> str:
    """Execute one block with its source visible to ``inspect`` (steps hash their source)."""
    filename = f"<docs/{block.page}:{block.line}>"
    linecache.cache[filename] = (len(block.code), None, block.code.splitlines(True), filename)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            # dont_inherit: run as a user's script, not under this module's __future__ imports
            exec(compile(block.code, filename, "exec", dont_inherit=True), namespace)
    except Exception as exc:
        raise AssertionError(f"docs/{block.page} line {block.line}: the example failed with "
                             f"{type(exc).__name__}: {exc}\n--- printed:\n{out.getvalue()}") from exc
    return out.getvalue()


RUNNABLE_PAGES = ["index.md", "artifacts.md", "configuration.md", "plugins.md", "pipelines.md",
                  "metadata.md", "zenml.md"]


@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_examples_run(page):
    namespace = {"__name__": "__main__"}
    printed = ""
    ran = 0
    for block in blocks(page):
        if block.lang == "text" and block.option("output") is not None:
            expected = " ".join(block.code.split())
            assert expected in " ".join(printed.split()), (
                f"docs/{page} line {block.line}: documented output not printed.\n"
                f"documented:\n{block.code}\nprinted:\n{printed}")
            continue
        if block.lang != "python" or block.option("file") is not None:
            continue
        requires = block.option("requires")
        if requires is not None:
            if _missing(requires):
                continue
            printed = _run(block, dict(namespace))
        else:
            printed = _run(block, namespace)
        ran += 1
    assert ran, f"docs/{page} has no runnable example"


def test_every_python_block_parses():
    for page in sorted(p.name for p in DOCS.glob("*.md")):
        for block in blocks(page):
            if block.lang == "python" and block.option("file") is None:  # excerpts may not parse
                ast.parse(block.code, f"docs/{page}:{block.line}")


# -- docs/index.md --------------------------------------------------------------------------


def test_user_guide_links_every_page():
    text = (DOCS / "index.md").read_text()
    for page in ("configuration.md", "cli.md", "artifacts.md", "pipelines.md", "metadata.md",
                 "guarantees.md", "plugins.md", "stores.md", "scaling.md", "dashboard.md",
                 "materializers-data.md", "materializers-models.md", "zenml.md"):
        assert f"]({page}" in text, f"docs/index.md does not link {page}"


def test_user_guide_follows_the_seed_order():
    headings = [line.lstrip("#").strip().lower() for line in
                (DOCS / "index.md").read_text().splitlines() if line.startswith("#")]
    wanted = ["creating artifacts", "consuming artifacts", "artifacts vs. parameters",
              "accessing artifacts after pipeline runs", "type annotations",
              "returning multiple outputs", "naming your artifacts", "materializers",
              "lineage and caching", "accessing artifacts from previous runs",
              "cross-pipeline artifact usage", "visualizing artifacts", "managing artifacts",
              "registering existing data", "register an existing folder",
              "register an existing file", "register framework checkpoints"]
    positions = [next((i for i, h in enumerate(headings) if h.startswith(w)), None)
                 for w in wanted]
    assert None not in positions, dict(zip(wanted, positions))
    assert positions == sorted(positions), dict(zip(wanted, positions))


# -- docs/plugins.md ------------------------------------------------------------------------


def test_plugins_guide_mentions_every_hook_spec():
    from zen_core import hookspecs

    specs = [name for name in vars(hookspecs) if name.startswith("zen_")]
    assert specs
    text = (DOCS / "plugins.md").read_text()
    missing = [name for name in specs if f"`{name}" not in text and f"def {name}(" not in text]
    assert not missing, f"docs/plugins.md does not document the hook specs {missing}"


def test_plugins_guide_shows_the_example_files_verbatim():
    excerpts: dict[str, list[Block]] = {}
    for block in blocks("plugins.md"):
        path = block.option("file")
        if path:
            excerpts.setdefault(path, []).append(block)
    examples = ROOT / "examples"
    expected = {str(path.relative_to(ROOT)) for path in examples.glob("*/*.toml")}
    expected |= {str(path.relative_to(ROOT)) for path in examples.glob("*/*/*.py")}
    assert len(expected) >= 9, expected  # three examples: pyproject, module, tests
    assert expected <= set(excerpts), f"missing excerpts of {expected - set(excerpts)}"
    for path, parts in excerpts.items():
        content = (ROOT / path).read_text()
        for part in parts:
            assert part.code in content, (
                f"docs/plugins.md line {part.line} differs from {path}; copy it again")
        shown = [line for part in parts for line in part.code.splitlines() if line.strip()]
        actual = [line for line in content.splitlines() if line.strip()]
        assert shown == actual, f"docs/plugins.md does not show all of {path}, in order"


def test_plugins_guide_lists_the_public_faces_the_boundary_test_checks():
    spec = importlib.util.spec_from_file_location("public_api", ROOT / "tests/test_public_api.py")
    public_api = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(public_api)
    text = (DOCS / "plugins.md").read_text()
    section = text[text.index("## The API plugins rely on"):]
    listed = re.findall(r"^\| `(zen_core[\w.]*)` \|", section, re.M)
    assert listed == sorted(public_api.PUBLIC_FACES), "docs/plugins.md lists other faces than the test"


# -- docs/cli.md ---------------------------------------------------------------------------


def _commands(group: click.Group, prefix: str = "zen") -> list[tuple[str, click.Command]]:
    found = []
    for name, cmd in sorted(group.commands.items()):
        if not (cmd.callback.__module__ or "").startswith("zen_core."):
            continue  # plugin commands (e.g. `zen dashboard`) are documented by their plugin
        path = f"{prefix} {name}"
        found.append((path, cmd))
        if isinstance(cmd, click.Group):
            found.extend(_commands(cmd, path))
    return found


def test_cli_reference_covers_every_command_and_option():
    from zen_core.cli import cli

    text = (DOCS / "cli.md").read_text()
    commands = _commands(cli)
    assert len(commands) >= 15, [path for path, _ in commands]
    missing = []
    for path, cmd in [("zen", cli), *commands]:
        if path != "zen" and f"`{path}" not in text and f"{path} " not in text:
            missing.append(path)
        for param in cmd.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("-") and opt not in text:
                    missing.append(f"{path} {opt}")
    assert not missing, f"docs/cli.md does not document {missing}"


def test_cli_reference_examples_of_name_version_parsing_are_true():
    from zen_core.cli import split_ref

    text = (DOCS / "cli.md").read_text()
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \| (`[^`]+`|none) \|$", text, re.M)
    assert len(rows) >= 4, "the NAME:VERSION table of docs/cli.md is missing"
    for ref, name, version in rows:
        assert split_ref(ref, None) == (name, None if version == "none" else version.strip("`"))


# -- docs/configuration.md -----------------------------------------------------------------


def test_configuration_reference_lists_every_key():
    from zen_core import config
    from zen_core.stack import flavors

    text = (DOCS / "configuration.md").read_text()
    wanted = [*config.TOP_LEVEL_KEYS, *config.COMPONENT_KINDS, "ZEN_HOME", "ZEN_STACK",
              "ZEN_LOG_LEVEL", "zen.toml", "config.toml", "platformdirs"]
    for kind in config.COMPONENT_KINDS:
        for flavor, (plugin, cls) in flavors(kind).items():
            if plugin.startswith("zen_core."):
                wanted.append(f'flavor = "{flavor}"')
                wanted.extend(f.name for f in attrs.fields(cls.Config))
    missing = [w for w in wanted if w not in text]
    assert not missing, f"docs/configuration.md does not mention {missing}"


def test_configuration_error_examples_are_the_real_messages(zen_home):
    from zen_core.config import load_config
    from zen_core.errors import ConfigError
    from zen_core.run_context import RunContext
    from zen_core.stack import close_all

    page = blocks("configuration.md")
    checked = 0
    for i, block in enumerate(page):
        if block.option("config-error") is None:
            continue
        message = page[i + 1]
        assert block.lang == "toml" and message.lang == "text", f"line {block.line}"
        zen_home.mkdir(parents=True, exist_ok=True)
        (zen_home / "config.toml").write_text(block.code)
        with pytest.raises(ConfigError) as info:
            RunContext.create(load_config())  # what every pipeline call and Client checks
        close_all()
        actual = str(info.value).replace(str(zen_home), "~/.local/share/zen")
        # which flavors are installed depends on the plugins in this environment
        installed = re.compile(r"\(installed (\w+) flavors: [^)]*\)")
        actual = installed.sub(r"(installed \1 flavors: ...)", actual)
        expected = installed.sub(r"(installed \1 flavors: ...)", message.code)
        assert " ".join(actual.split()) == " ".join(expected.split()), (
            f"docs/configuration.md line {message.line} documents\n{message.code}\nbut the "
            f"message is\n{actual}")
        checked += 1
    assert checked >= 4


# -- docs/guarantees.md -------------------------------------------------------------------


def test_every_test_the_guarantees_name_exists():
    """Each promise names the test that checks it; a renamed or deleted test fails here."""
    text = (DOCS / "guarantees.md").read_text()
    named = re.findall(r"`((?:tests|plugins)/[\w/]+\.py)::(test_\w+)`", text)
    contracts = re.findall(r"`zen_core\.testing\.(\w+)\.(test_\w+)`", text)
    assert len(named) >= 40 and len(contracts) >= 8
    for path, name in named:
        source = (DOCS.parent / path).read_text()
        assert re.search(rf"^\s*def {name}\(", source, re.M), f"{path} has no {name}"
    testing = importlib.import_module("zen_core.testing")
    for cls, name in contracts:
        assert hasattr(getattr(testing, cls), name), f"zen_core.testing.{cls} has no {name}"
