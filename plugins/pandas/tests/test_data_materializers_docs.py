"""docs/materializers-data.md is tested like code: each python block runs, documented output shows.

Same conventions as the core's tests/test_docs.py (``<!-- requires: mod ... -->`` runs a
block only where those modules import; ``<!-- output -->`` text must appear in what the
previous block printed, whitespace-insensitive).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import linecache
import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[3] / "docs" / "materializers-data.md"
FENCE = re.compile(r"(?:<!--\s*(?P<directive>[^>]*?)\s*-->[ \t]*\n)?^```(?P<lang>[\w-]*)[ \t]*\n"
                   r"(?P<code>.*?)^```[ \t]*$", re.S | re.M)


def test_examples_run_and_print_what_the_page_says():
    text = PAGE.read_text()
    printed, ran, skipped = "", 0, False
    for match in FENCE.finditer(text):
        directive = match["directive"] or ""
        lang, code = match["lang"], match["code"]
        line = text[:match.start()].count("\n") + 1
        if lang == "text" and directive == "output":
            if skipped:
                continue
            assert " ".join(code.split()) in " ".join(printed.split()), (
                f"line {line}: documented output not printed.\nprinted:\n{printed}")
            continue
        if lang != "python":
            continue
        if directive.startswith("requires:"):
            modules = directive.split(":", 1)[1].split()
            skipped = not all(importlib.util.find_spec(m) for m in modules)  # zen-numpy's blocks
            if skipped:
                continue
        filename = f"<docs/materializers-data.md:{line}>"
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, filename, "exec"), {"__name__": "__main__"})
        printed = out.getvalue()
        ran += 1
    assert ran >= 2  # the pandas blocks always run here
