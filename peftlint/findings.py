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

    def to_data(self) -> list[Any]:
        return [self.line, self.column, self.cell]

    @classmethod
    def from_data(cls, raw: list[Any]) -> Position:
        return cls(raw[0], raw[1], raw[2])


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

    def to_data(self) -> dict[str, Any]:
        """Everything a finding holds, as JSON-able data (the results cache, the isolated child);
        ``from_data`` gives it back. Reports have their own shapes (report/)."""
        fix = self.fix
        return {
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "path": self.path,
            "start": self.start.to_data(),
            "end": self.end.to_data(),
            "severity": self.severity.value,
            "confidence": self.confidence,
            "related": [[r.path, r.start.to_data(), r.message] for r in self.related],
            "fix": None
            if fix is None
            else {
                "message": fix.message,
                "safe": fix.safe,
                "edits": [[e.path, e.start.to_data(), e.end.to_data(), e.content] for e in fix.edits],
            },
            "facts": [[k, v] for k, v in self.facts],
            "noqa": [[line, list(codes)] for line, codes in self.noqa],
        }

    @classmethod
    def from_data(cls, raw: dict[str, Any]) -> Finding:
        fix = raw["fix"]
        return cls(
            code=raw["code"],
            name=raw["name"],
            message=raw["message"],
            path=raw["path"],
            start=Position.from_data(raw["start"]),
            end=Position.from_data(raw["end"]),
            severity=Severity(raw["severity"]),
            confidence=raw["confidence"],
            related=tuple(Related(p, Position.from_data(s), m) for p, s, m in raw["related"]),
            fix=None
            if fix is None
            else Fix(
                fix["message"],
                tuple(Edit(p, Position.from_data(s), Position.from_data(e), c) for p, s, e, c in fix["edits"]),
                fix["safe"],
            ),
            facts=tuple((k, v) for k, v in raw["facts"]),
            noqa=tuple((line, tuple(codes)) for line, codes in raw["noqa"]),
        )


@dataclass(frozen=True)
class FileError:
    """A file that could not be analysed, and why (one line, no traceback)."""

    path: str
    reason: str
