"""The pipeline being composed right now (kept tiny: imported by ``zen_core.steps``)."""

from __future__ import annotations

import contextvars
from typing import Any

composing: contextvars.ContextVar[Any] = contextvars.ContextVar("zen_composing", default=None)
