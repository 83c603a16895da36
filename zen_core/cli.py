"""The ``zen`` command line (click). Plugins add commands through ``zen_register_commands``."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import click

from zen_core.errors import ZenError
from zen_core.records import local_time

__all__ = ["cli", "main"]


class _ZenGroup(click.Group):
    """Shows zen_core errors as one clear line instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ZenError as exc:
            raise click.ClickException(str(exc)) from exc


def _emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=_json_value))


def _json_value(value: Any) -> Any:
    """Times in ISO 8601 with their UTC offset (records hold naive UTC); the rest as text."""
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    return str(value)


def _json_line(value: Any) -> str:
    return json.dumps(value, default=_json_value)


def _table(rows: list[list[Any]], headers: list[str]) -> None:
    cells = [headers, *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for i, row in enumerate(cells):
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            click.echo("  ".join("-" * w for w in widths))


def _client() -> Any:
    from zen_core.client import Client

    return Client()


@click.group(cls=_ZenGroup)
@click.version_option(package_name="zen-artifacts", prog_name="zen")
@click.option("-v", "--verbose", is_flag=True, help="Log one line per step and more.")
def cli(verbose: bool) -> None:
    """zen: versioned, typed, lineage-tracked ML pipeline artifacts."""
    from zen_core.logger import configure

    configure("debug" if verbose else None)


# -- stack ----------------------------------------------------------------------------


@cli.group()
def stack() -> None:
    """Show and choose stacks (artifact store + metadata store + orchestrator)."""


@stack.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stack_list(as_json: bool) -> None:
    """List configured stacks; * marks the active one."""
    from zen_core.components import KINDS
    from zen_core.config import load_config

    config = load_config()
    rows = [{"name": name, "active": name == config.active_stack,
             **{c.kind: c.flavor for c in spec.components()}}
            for name, spec in sorted(config.stacks.items())]
    if as_json:
        return _emit_json(rows)
    _table([["*" if r["active"] else "", r["name"], *(r[k.name] for k in KINDS)] for r in rows],
           ["", "STACK", *(k.label.upper() for k in KINDS)])


@stack.command("describe")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True)
def stack_describe(name: str | None, as_json: bool) -> None:
    """Show a stack's components and settings (secrets masked)."""
    from zen_core.components import KIND_NAMES
    from zen_core.config import load_config
    from zen_core.stack import get_stack

    config = load_config()
    info = get_stack(config, name).describe()
    info["active"] = info["name"] == config.active_stack
    info["sources"] = list(config.sources) or ["built-in defaults"]
    if as_json:
        return _emit_json(info)
    click.echo(f"stack {info['name']}{' (active)' if info['active'] else ''}")
    for kind in KIND_NAMES:
        comp = dict(info[kind])
        flavor = comp.pop("flavor")
        opts = ", ".join(f"{k}={v}" for k, v in comp.items())
        click.echo(f"  {kind:<15} {flavor}{'  (' + opts + ')' if opts else ''}")
    click.echo(f"  config from     {', '.join(info['sources'])}")


@stack.command("set")
@click.argument("name")
def stack_set(name: str) -> None:
    """Make NAME the active stack (written to ZEN_HOME/config.toml)."""
    import tomlkit

    from zen_core.config import CONFIG_FILE, load_config

    config = load_config()
    config.stack(name)  # refuses unknown names with the list of defined ones
    path = config.home / CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = tomlkit.parse(path.read_text()) if path.exists() else tomlkit.document()
    doc["active_stack"] = name
    path.write_text(tomlkit.dumps(doc))
    click.echo(f"active stack: {name} (written to {path})")
    if config.active_source not in (str(path), "default"):
        click.echo(f"note: {config.active_source} also sets the active stack and overrides this.")


# -- plugins ---------------------------------------------------------------------------


@cli.group()
def plugins() -> None:
    """Inspect installed plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True)
def plugins_list(as_json: bool) -> None:
    """Each plugin, its version, what it provides and claims; conflicts and config problems."""
    import attrs

    from zen_core.config import load_config
    from zen_core.materializers.registry import get_registry
    from zen_core.plugins import get_plugin_manager, list_plugins
    from zen_core.stack import flavor_conflicts

    pm = get_plugin_manager()
    infos = list_plugins(pm)
    try:
        config = load_config()
    except ZenError as exc:  # listing the plugins must work with a broken config too
        config, config_error = None, str(exc)
    else:
        config_error = None
    registry = get_registry(config.materializers if config else {}, pm)
    report = {
        "plugins": [attrs.asdict(i) for i in infos],
        "conflicts": {"types": registry.conflicts(), "flavors": flavor_conflicts(pm)},
        "unknown_override_keys": {
            key: config.origin(f"materializers.{key!r}")
            for key in registry.unknown_override_keys()} if config else {},
        "config_error": config_error,
    }
    if as_json:
        return _emit_json(report)
    rows = []
    for i in infos:
        provides = {**i.provides}
        if i.claims:  # each materializer with the types it claims
            provides["materializers"] = [
                name.rsplit(".", 1)[-1] + (f" ({', '.join(types)})" if types else "")
                for name, types in i.claims.items()]
        listed = "; ".join(f"{k}: {', '.join(v)}" for k, v in provides.items())
        rows.append([i.name, i.distribution or "?", i.version or "?",
                     f"FAILED: {i.error}" if i.error else listed or "-"])
    _table(rows, ["PLUGIN", "DISTRIBUTION", "VERSION", "PROVIDES"])
    for type_name, claimants in report["conflicts"]["types"].items():
        click.echo(f"conflict: type {type_name} is claimed by {' and '.join(claimants)}; "
                   f"choose one in [materializers]")
    for kind, found in report["conflicts"]["flavors"].items():
        for flavor, spellings in found.items():
            providers = ", ".join(spelling.rsplit(":", 1)[0] for spelling in spellings)
            choices = " or ".join(f'flavor = "{spelling}"' for spelling in spellings)
            click.echo(f"conflict: {kind} flavor {flavor!r} is provided by {providers}; "
                       f"stacks choose with {choices}")
    for key, source in report["unknown_override_keys"].items():
        click.echo(f"config: {source}: [materializers] key {key!r} matches no known type")
    if config_error:
        click.echo(f"config: {config_error}")


# -- quickstart ---------------------------------------------------------------------------


@cli.command()
def quickstart() -> None:
    """Run a small training pipeline on the active stack and show where to look at it."""
    from zen_core.quickstart import main as run_quickstart

    run_quickstart(click.echo)


# -- runs --------------------------------------------------------------------------------


@cli.group()
def run() -> None:
    """Inspect and delete pipeline runs."""


_TAG_OPTION = click.option("--tag", "tags", multiple=True, metavar="TAG",
                           help="Only those carrying this tag (repeat: all of them).")


@run.command("list")
@click.option("--pipeline", help="Only runs of this pipeline.")
@click.option("--status", type=click.Choice(["running", "completed", "failed"]))
@_TAG_OPTION
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def run_list(pipeline: str | None, status: str | None, tags: tuple[str, ...], limit: int,
             as_json: bool) -> None:
    """List runs, newest first (runs whose process died are marked failed first).

    IDs are shown as their shortest unique prefix, which every command accepts."""
    client = _client()
    client.reap_crashed_runs()
    runs = client.list_pipeline_runs(pipeline_name=pipeline, status=status, size=limit,
                                     tags=tags)
    if as_json:
        return _emit_json([r.to_dict() for r in runs])
    short = client.shortest_prefixes("run", [r.id for r in runs])
    _table([[short[r.id], r.name, r.status, local_time(r.created),
             "-" if r.duration is None else f"{r.duration:.2f}s", ", ".join(r.tags) or "-"]
            for r in runs], ["ID", "NAME", "STATUS", "CREATED", "DURATION", "TAGS"])


@run.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True)
def run_show(run_id: str, as_json: bool) -> None:
    """Show a run's steps: status, why a step missed the cache, outputs.

    RUN_ID is the run's id, a unique prefix of it (as `zen run list` shows) or its name."""
    client = _client()
    client.reap_crashed_runs()
    r = client.get_pipeline_run(run_id)
    steps = list(r.steps.values())
    if as_json:
        data = r.to_dict()
        data["steps"] = [{**s.to_dict(),
                          "inputs": {k: v.id for k, v in s.inputs.items()},
                          "outputs": {k: {"id": v.id, "name": v.name, "version": v.version}
                                      for k, v in s.outputs.items()}} for s in steps]
        return _emit_json(data)
    click.echo(f"run {r.name} ({r.id})")
    click.echo(f"  pipeline {r.pipeline_name}, status {r.status}, created {local_time(r.created)}")
    if r.params:
        click.echo(f"  params {json.dumps(r.params)}")
    if r.tags:
        click.echo(f"  tags {', '.join(r.tags)}")
    if r.run_metadata:
        click.echo(f"  metadata {_json_line(r.run_metadata)}")
    for s in steps:
        took = "" if s.duration is None else f" {s.duration * 1000:.1f}ms"
        why = f" (cache miss: {s.cache_miss})" if s.cache_miss else ""
        click.echo(f"  step {s.name} [{s.status}]{took}{why}")
        if s.run_metadata:
            click.echo(f"      metadata {_json_line(s.run_metadata)}")
        for name, av in s.outputs.items():
            click.echo(f"      -> {name}: {av.name}:{av.version}")
        if s.error:
            click.echo("      " + s.error.strip().splitlines()[-1])


@run.command("delete")
@click.argument("run_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def run_delete(run_id: str, yes: bool) -> None:
    """Delete a run's records (its artifacts go with the next `zen artifact prune`).

    RUN_ID is the run's id, a unique prefix of it or its name. Without --yes the answer
    is read from the terminal, or from standard input when that is not one."""
    client = _client()
    r = client.get_pipeline_run(run_id)
    if not yes:
        click.confirm(f"Delete run {r.name}?", abort=True)
    client.delete_pipeline_run(r.id)
    click.echo(f"deleted run {r.name}; run `zen artifact prune` to free its artifacts")


# -- artifacts ------------------------------------------------------------------------------


@cli.group()
def artifact() -> None:
    """Inspect, trace and prune artifacts."""


def split_ref(ref: str, version: str | None) -> tuple[str, str | None]:
    """``NAME[:VERSION]``: the version follows the last single colon (``::`` is part of names)."""
    if version is not None:
        return ref, version
    i = ref.rfind(":")
    if i > 0 and ref[i - 1] != ":" and i + 1 < len(ref):
        return ref[:i], ref[i + 1 :]
    return ref, None


@artifact.command("list")
@_TAG_OPTION
@click.option("--json", "as_json", is_flag=True)
def artifact_list(tags: tuple[str, ...], as_json: bool) -> None:
    """Every artifact name with its version count and latest version; with --tag, the
    versions carrying the tags."""
    if tags:
        versions = _client().list_artifact_versions(tags=tags)
        if as_json:
            return _emit_json([{"name": v.name, "version": v.version, "id": v.id,
                                "tags": v.tags, "created": v.created} for v in versions])
        return _table([[v.name, v.version, ", ".join(v.tags), local_time(v.created)]
                       for v in versions], ["NAME", "VERSION", "TAGS", "CREATED"])
    summaries = _client().list_artifacts()
    if as_json:
        import attrs

        return _emit_json([attrs.asdict(s) for s in summaries])
    _table([[s.name, s.versions, s.latest_version, local_time(s.latest_created)] for s in summaries],
           ["NAME", "VERSIONS", "LATEST", "CREATED"])


@artifact.command("show")
@click.argument("ref")
@click.option("--version", help="The version (instead of NAME:VERSION).")
@click.option("--json", "as_json", is_flag=True)
def artifact_show(ref: str, version: str | None, as_json: bool) -> None:
    """Show one artifact version (the latest unless NAME:VERSION); REF may also be a
    version's id or a unique prefix of it."""
    name, version = split_ref(ref, version)
    av = _client().get_artifact_version(name, version)
    if as_json:
        return _emit_json(av.to_dict())
    producer = av.producer
    rows = [("name", av.name), ("version", av.version), ("id", av.id), ("type", av.type),
            ("artifact type", av.artifact_type), ("materializer", av.materializer),
            ("uri", av.uri), ("content hash", av.content_hash), ("size", f"{av.size} bytes"),
            ("created", local_time(av.created)), ("origin", av.origin),
            ("tags", ", ".join(av.tags) or "-"),
            ("produced by", f"step {producer.name} of run {producer.run_id}" if producer else "-"),
            ("metadata", _json_line(av.metadata) if av.metadata else "-"),
            ("run metadata", _json_line(av.run_metadata))]
    for label, value in rows:
        click.echo(f"{label:<14} {value}")
    for uri, kind in av.visualizations.items():
        click.echo(f"{'visualization':<14} {kind}: {uri}")


@artifact.command("tag")
@click.argument("ref")
@click.argument("tags", nargs=-1, required=True)
@click.option("--version", help="The version (instead of NAME:VERSION).")
@click.option("--remove", is_flag=True, help="Take these tags off instead.")
def artifact_tag(ref: str, tags: tuple[str, ...], version: str | None, remove: bool) -> None:
    """Tag an artifact version (the latest unless NAME:VERSION): zen artifact tag model:3 prod."""
    from zen_core.metadata.log import add_tags, remove_tags

    name, version = split_ref(ref, version)
    av = _client().get_artifact_version(name, version)
    (remove_tags if remove else add_tags)(list(tags), artifact_version_id=av.id)
    av = _client().get_artifact_version(name, av.version)
    click.echo(f"{av.name}:{av.version} tags: {', '.join(av.tags) or '-'}")


@artifact.command("lineage")
@click.argument("ref")
@click.option("--version", help="The version (instead of NAME:VERSION).")
@click.option("--upstream", "direction", flag_value="upstream", help="Only what led to it.")
@click.option("--downstream", "direction", flag_value="downstream", help="Only what used it.")
@click.option("--json", "as_json", is_flag=True)
def artifact_lineage(ref: str, version: str | None, direction: str | None, as_json: bool) -> None:
    """Print an artifact version's lineage as a tree (both directions by default)."""
    name, version = split_ref(ref, version)
    client = _client()
    av = client.get_artifact_version(name, version)
    directions = [direction] if direction else ["upstream", "downstream"]
    graphs = [client.get_lineage(av, d) for d in directions]
    if as_json:
        return _emit_json({g.direction: g.to_dict() for g in graphs})
    for g in graphs:
        click.echo(f"{g.direction}:")
        click.echo("  " + g.render().replace("\n", "\n  "))


@artifact.command("verify")
@click.argument("ref", required=False)
@click.option("--version", help="The version (instead of NAME:VERSION).")
@click.option("--repair", is_flag=True,
              help="Move damaged objects aside so reruns store fresh copies.")
@click.option("--json", "as_json", is_flag=True)
def artifact_verify(ref: str | None, version: str | None, repair: bool, as_json: bool) -> None:
    """Re-hash stored artifacts (all, NAME, or NAME:VERSION) and report damage.

    Exits with status 1 when something is damaged; with --repair, says which
    versions need their producing steps rerun (or their data saved again).
    """
    name, version = split_ref(ref, version) if ref else (None, version)
    client = _client()
    if as_json:
        report = client.verify_artifacts(name, version, repair=repair)
        _emit_json(report.to_dict())
    else:
        total = sum(int(e[0]) for av in (client.list_artifact_versions(name) if name else
                                         client.list_artifact_versions())
                    for e in (av.files or {}).values())
        with click.progressbar(length=max(total, 1), label="verifying", file=sys.stderr) as bar:
            report = client.verify_artifacts(name, version, repair=repair, progress=bar.update)
        for damage in report.damaged:
            names = ", ".join(f"{v.name}:{v.version}" for v in damage.versions)
            click.echo(f"{damage.problem}: {damage.uri} ({names}): {damage.detail}")
            if damage.moved_to:
                click.echo(f"  moved aside to {damage.moved_to}")
            for fix in damage.fixes:
                click.echo(f"  fix: {fix}")
        click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


@artifact.command("prune")
@click.option("--only-artifact", is_flag=True, help="Only delete stored data; keep metadata.")
@click.option("--only-metadata", is_flag=True, help="Only delete metadata; keep stored data.")
@click.option("--ignore-errors", is_flag=True, help="Go on when some data cannot be deleted.")
@click.option("--dry-run", is_flag=True, help="Show what would be removed; remove nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True)
def artifact_prune(only_artifact: bool, only_metadata: bool, ignore_errors: bool,
                   dry_run: bool, yes: bool, as_json: bool) -> None:
    """Delete artifact versions no pipeline run references (and leftovers of killed writes).

    Without --yes it asks first, reading the answer from the terminal or from standard
    input when that is not one (`echo y | zen artifact prune`); no answer means no."""
    if only_artifact and only_metadata:
        raise click.UsageError("--only-artifact and --only-metadata exclude each other")
    client = _client()
    preview = client.prune_artifacts(only_artifact=only_artifact, only_metadata=only_metadata,
                                     dry_run=True)
    if dry_run:
        return _report(preview, as_json)
    if not (preview.versions or preview.objects or preview.staging or preview.uploads):
        preview.dry_run = False
        return _emit_json(preview.to_dict()) if as_json else click.echo("nothing to prune")
    if not yes:  # the answer comes from the terminal or piped stdin; no answer means no
        click.echo(preview.summary())
        click.confirm("Proceed?", abort=True)
    options = dict(only_artifact=only_artifact, only_metadata=only_metadata,
                   ignore_errors=ignore_errors)
    if as_json:
        return _report(client.prune_artifacts(**options), as_json)
    total = (len(preview.versions) + len(preview.staging) + len(preview.uploads)
             + len(preview.objects))
    with click.progressbar(length=max(total, 1), label="pruning", file=sys.stderr) as bar:
        report = client.prune_artifacts(**options, progress=lambda what, n: bar.update(n))
    _report(report, as_json)


def _report(report: Any, as_json: bool) -> None:
    if as_json:
        return _emit_json(report.to_dict())
    for av in report.versions:
        click.echo(f"{'would remove' if report.dry_run else 'removed'} {av.name}:{av.version}")
    for uri, error in report.errors:
        click.echo(f"kept {uri}: {error}", err=True)
    click.echo(report.summary())


def _register_plugin_commands() -> None:
    """Let each plugin add its commands; one that raises is listed as FAILED, not fatal."""
    from zen_core.plugins import call_each, get_plugin_manager

    call_each(get_plugin_manager(), "zen_register_commands", cli=cli)


def main() -> None:
    _register_plugin_commands()
    cli(prog_name="zen")


if __name__ == "__main__":
    main()
