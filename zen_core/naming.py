"""Artifact names: the rules they follow and their ``{placeholders}``."""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Mapping

from zen_core.errors import ArtifactNameError

NAME_RULE = ("artifact names may not be empty, '.' or '..', and may not contain '/', '\\' "
             "or control characters")
BUILTIN_PLACEHOLDERS = ("date", "time")


_FORBIDDEN = re.compile(r"[/\\\x00-\x1f\x7f]")


def validate_name(name: str) -> str:
    if not isinstance(name, str) or name in ("", ".", "..") or _FORBIDDEN.search(name):
        raise ArtifactNameError(f"invalid artifact name {name!r}: {NAME_RULE}.", name=name)
    return name


def placeholders(template: str) -> list[str]:
    """The ``{field}`` names used by a template (``{{`` escapes a brace)."""
    try:
        return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
    except ValueError as exc:
        raise ArtifactNameError(f"invalid artifact name template {template!r}: {exc}.",
                                name=template) from exc


def check_placeholders(template: str, substitutions: Mapping[str, str], where: str) -> list[str]:
    """The placeholders ``template`` uses; an unknown one is an error naming the known ones."""
    used = placeholders(template)
    known = set(BUILTIN_PLACEHOLDERS) | set(substitutions)
    for field in used:
        if field not in known:
            raise ArtifactNameError(
                f"{where}: artifact name {template!r} uses the unknown placeholder {{{field}}}; "
                f"known placeholders: {', '.join(sorted(known))}. Fix: pass "
                f"substitutions={{{field!r}: ...}} to the step or pipeline (or with_options).",
                name=template, placeholder=field,
            )
    return used


def resolve_name(template: str, substitutions: Mapping[str, str], now: dt.datetime,
                 where: str) -> tuple[str, dict[str, str]]:
    """The final name and the substitution values it used (these enter the cache key)."""
    used = check_placeholders(template, substitutions, where)
    if not used:
        return validate_name(template), {}
    values = {"date": now.strftime("%Y_%m_%d"), "time": now.strftime("%H_%M_%S_%f"),
              **{k: str(v) for k, v in substitutions.items()}}
    chosen = {k: values[k] for k in used}
    return validate_name(template.format(**chosen)), chosen
