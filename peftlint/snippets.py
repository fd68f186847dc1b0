"""What reports quote: the lines a reader sees in each file, read once after the lint.

The analysis never needs this; the ``full`` text format (snippets) and the ``gitlab`` format
(fingerprints from the flagged source text) do. Reading stays here, outside ``report/``, so every
reporter is a pure function of the findings and these lines. A notebook's lines are those of each
code cell as the user wrote them (not the neutralised text the analysis parsed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from peftlint.findings import Finding, Position
from peftlint.sources import NOTEBOOK_SUFFIX, SourceError, decode

_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class SourceLines:
    """One file's lines; key ``None`` for a plain file, else each code cell's number."""

    cells: Mapping[int | None, tuple[str, ...]]

    def lines(self, cell: int | None) -> tuple[str, ...]:
        return self.cells.get(cell, ())

    def line(self, position: Position) -> str | None:
        """The 1-based line ``position`` is on, or None when there is no such line."""
        lines = self.lines(position.cell)
        return lines[position.line - 1] if 0 < position.line <= len(lines) else None

    def span(self, start: Position, end: Position) -> str | None:
        """The text from ``start`` to ``end`` (end exclusive; both in one cell), or None."""
        lines = self.lines(start.cell)
        if end.cell != start.cell or not 0 < start.line <= end.line <= len(lines):
            return None
        if start.line == end.line:
            return lines[start.line - 1][start.column - 1 : end.column - 1]
        middle = lines[start.line : end.line - 1]
        return "\n".join([lines[start.line - 1][start.column - 1 :], *middle, lines[end.line - 1][: end.column - 1]])


def split_lines(text: str) -> tuple[str, ...]:
    """Lines as Python's tokenizer counts them (never split at a form feed or U+2028)."""
    lines = _NEWLINE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return tuple(lines)


def source_lines(path: str, data: bytes) -> SourceLines | None:
    """None when the file cannot be read as text (the report then shows no snippet)."""
    try:
        if path.endswith(NOTEBOOK_SUFFIX):
            from peftlint.notebooks import cell_lines

            return SourceLines(cell_lines(data))
        return SourceLines({None: split_lines(decode(path, data).text)})
    except SourceError:
        return None


def quoted_paths(findings: Iterable[Finding]) -> list[str]:
    """Every file a report may quote: the findings', their related locations' and their fixes'."""
    paths: dict[str, None] = {}
    for finding in findings:
        paths[finding.path] = None
        paths.update(dict.fromkeys(related.path for related in finding.related))
        if finding.fix is not None:
            paths.update(dict.fromkeys(edit.path for edit in finding.fix.edits))
    return list(paths)


def read_sources(findings: Iterable[Finding], contents: Mapping[str, bytes] | None = None) -> dict[str, SourceLines]:
    """The lines of every file the findings quote; ``contents`` holds files not on disk (stdin)."""
    out: dict[str, SourceLines] = {}
    for path in quoted_paths(findings):
        data = (contents or {}).get(path)
        if data is None:
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError:
                continue
        lines = source_lines(path, data)
        if lines is not None:
            out[path] = lines
    return out
