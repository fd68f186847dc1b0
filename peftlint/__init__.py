"""peftlint: find Hugging Face PEFT misuse that fails silently, before it costs a GPU hour."""

from __future__ import annotations

__version__ = "0.1.0"

from peftlint.engine import LintResult, lint_paths, lint_source

__all__ = ["LintResult", "__version__", "lint_paths", "lint_source"]
