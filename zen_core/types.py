"""Strings that say what they hold: stored as text and shown as that kind.

A step returning ``HTMLString(...)`` (or ``MarkdownString``, ``CSVString``,
``JSONString``) stores the text once, in a file that is also the artifact's
visualization of that kind: ``visualize()``, notebooks and the dashboard show
it rendered. Loading gives the same class back.
"""

from __future__ import annotations

__all__ = ["CSVString", "HTMLString", "JSONString", "MarkdownString"]


class HTMLString(str):
    """HTML text, shown rendered."""

    __slots__ = ()


class MarkdownString(str):
    """Markdown text, shown rendered."""

    __slots__ = ()


class CSVString(str):
    """CSV text, shown as a table."""

    __slots__ = ()


class JSONString(str):
    """A JSON document as text, shown as a collapsible tree."""

    __slots__ = ()
