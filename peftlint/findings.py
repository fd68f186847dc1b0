"""Data that crosses layers: findings, their related locations, per-file errors."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, order=True)
class Position:
    """A 1-based line and column; ``cell`` is the 1-based notebook cell, if any."""

    line: int
    column: int
    cell: int | None = None


@dataclass(frozen=True)
class Related:
    """A location that explains a finding (where the model got PEFT layers, the matching save)."""

    path: str
    start: Position
    message: str


@dataclass(frozen=True)
class Edit:
    """Replace the text between two positions of ``path`` with ``content``."""

    path: str
    start: Position
    end: Position
    content: str


@dataclass(frozen=True)
class Fix:
    message: str
    edits: tuple[Edit, ...]
    safe: bool = True


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    message: str
    path: str
    start: Position
    end: Position
    severity: Severity = Severity.ERROR
    confidence: str = "high"
    related: tuple[Related, ...] = ()
    fix: Fix | None = None
    # What the runtime verifier needs to rebuild the situation (model source, config keywords...).
    facts: tuple[tuple[str, Any], ...] = field(default=(), compare=False)
    # The ``# noqa`` directives on the lines of the statement around the finding: (line, codes).
    noqa: tuple[tuple[int, tuple[str, ...]], ...] = field(default=(), compare=False)

    def sort_key(self) -> tuple[str, int, int, int, str]:
        return (self.path, self.start.cell or 0, self.start.line, self.start.column, self.code)

    @property
    def fact_map(self) -> dict[str, Any]:
        return dict(self.facts)


@dataclass(frozen=True)
class FileError:
    """A file that could not be analysed, and why (one line, no traceback)."""

    path: str
    reason: str
