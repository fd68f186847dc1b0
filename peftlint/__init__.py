"""peftlint: find Hugging Face PEFT misuse that fails silently, before it costs a GPU hour."""

from __future__ import annotations

from peftlint.engine import LintResult, lint_paths, lint_source
from peftlint.version import __version__

__all__ = ["LintResult", "__version__", "lint_paths", "lint_source"]
