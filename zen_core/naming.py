"""Artifact names (and run names): the rules they follow and their ``{placeholders}``."""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Mapping

from zen_core.errors import ArtifactNameError

NAME_RULE = ("artifact names may not be empty, '.' or '..', and may not contain '/', '\\', "
             "control characters, bidirectional-override characters or lone surrogates "
             "(text that is not valid Unicode)")
VERSION_RULE = ("versions follow the name rules, may not start or end with white space, and a "
                "numeric version is a whole number from 1 to 2**63-1 without leading zeros")
BUILTIN_PLACEHOLDERS = ("date", "time")
MAX_VERSION_NUMBER = 2**63 - 1  # what every metadata store's integer column holds

# Control characters, and the Unicode controls that reorder how text is displayed (a name
# could otherwise show as something it is not: "Trojan Source").
_FORBIDDEN = re.compile("[/\\\\\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NUMBER = re.compile("[0-9]+")


def _invalid_text(text: str) -> bool:
    return text in ("", ".", "..") or _FORBIDDEN.search(text) is not None or not is_text(text)


def is_text(text: str) -> bool:
    """Whether ``text`` is valid Unicode (no lone surrogates, which no database can store)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate_name(name: str, what: str = "artifact name") -> str:
    if not isinstance(name, str) or _invalid_text(name):
        rule = NAME_RULE.replace("artifact names", f"{what}s")
        raise ArtifactNameError(f"invalid {what} {name!r}: {rule}.", name=name)
    return name


def validate_version(version: str | int, name: str | None = None) -> str:
    """A version string as it will be stored (an ``int`` becomes its decimal text)."""
    text = str(version) if type(version) is int else version
    of = f" of artifact {name!r}" if name else ""
    bad = (not isinstance(text, str) or _invalid_text(text) or text != text.strip()
           or (_NUMBER.fullmatch(text) is not None
               and (text.startswith("0") or int(text) > MAX_VERSION_NUMBER)))
    if bad:
        raise ArtifactNameError(
            f"invalid version {version!r}{of}: {VERSION_RULE}. Fix: pass a version like '3' or "
            f"'1.0', or leave it unset to get the next number.", version=version, name=name)
    return text


def is_number(version: str) -> bool:
    """Whether a (valid) version is numeric, so it counts for the automatic numbers."""
    return _NUMBER.fullmatch(version) is not None


def placeholders(template: str, what: str = "artifact name") -> list[str]:
    """The ``{field}`` names used by a template (``{{`` escapes a brace)."""
    try:
        return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
    except ValueError as exc:
        raise ArtifactNameError(f"invalid {what} template {template!r}: {exc}.",
                                name=template) from exc


def check_placeholders(template: str, substitutions: Mapping[str, str], where: str,
                       what: str = "artifact name") -> list[str]:
    """The placeholders ``template`` uses; an unknown one is an error naming the known ones."""
    used = placeholders(template, what)
    known = set(BUILTIN_PLACEHOLDERS) | set(substitutions)
    for field in used:
        if field not in known:
            raise ArtifactNameError(
                f"{where}: {what} {template!r} uses the unknown placeholder {{{field}}}; "
                f"known placeholders: {', '.join(sorted(known))}. Fix: pass "
                f"substitutions={{{field!r}: ...}} to the step or pipeline (or with_options).",
                name=template, placeholder=field,
            )
    return used


def resolve_name(template: str, substitutions: Mapping[str, str], now: dt.datetime,
                 where: str, what: str = "artifact name") -> tuple[str, dict[str, str]]:
    """The final name and the substitution values it used (these enter the cache key)."""
    used = check_placeholders(template, substitutions, where, what)
    if not used:
        return validate_name(template, what), {}
    values = {"date": now.strftime("%Y_%m_%d"), "time": now.strftime("%H_%M_%S_%f"),
              **{k: str(v) for k, v in substitutions.items()}}
    chosen = {k: values[k] for k in used}
    return validate_name(template.format(**chosen), what), chosen
