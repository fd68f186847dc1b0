"""Reporters: each a pure function from a lint result to the text to print."""

from __future__ import annotations

from collections.abc import Callable

from peftlint.report.json import render_json
from peftlint.report.text import render_text

REPORTERS: dict[str, Callable[..., str]] = {"text": render_text, "json": render_json}
