"""What a lint run produces, per file and as a whole (data that crosses layers)."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftlint.findings import FileError, Finding
from peftlint.rules.base import CrossFileFact


@dataclass(frozen=True)
class FileResult:
    path: str
    findings: tuple[Finding, ...] = ()
    facts: tuple[CrossFileFact, ...] = ()
    errors: tuple[FileError, ...] = ()
    analysed: bool = False  # the flow analysis ran on it (past the bytes scan and the screen of its calls)
    # Other files the analysis read (modules it imports): (path, content hash). A cached result
    # holds only while they are unchanged.
    dependencies: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LintResult:
    findings: tuple[Finding, ...]
    errors: tuple[FileError, ...]
    files_checked: int
    files_analysed: int  # files the flow analysis ran on
    files: tuple[str, ...] = field(default=(), repr=False)
