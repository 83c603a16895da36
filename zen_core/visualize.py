"""Showing an artifact's stored visualizations in a notebook."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zen_core.records import ArtifactVersion


def in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def show(av: ArtifactVersion) -> dict[str, str]:
    """Display each visualization inline when in Jupyter; always return ``{uri: kind}``."""
    visualizations = dict(av.visualizations)
    if visualizations and in_notebook():
        from IPython.display import HTML, Image, Markdown, display

        store = av._require_client().active_stack.artifact_store
        for uri, kind in visualizations.items():
            with store.open(uri, "rb") as f:
                content = f.read()
            if kind == "image":
                display(Image(data=content))
            elif kind == "markdown":
                display(Markdown(content.decode()))
            elif kind == "csv":
                import csv
                import html
                import io

                rows = list(csv.reader(io.StringIO(content.decode())))
                cells = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                                for r in rows[:50])
                display(HTML(f"<table>{cells}</table>"))
            else:
                display(HTML(content.decode()))
    return visualizations
