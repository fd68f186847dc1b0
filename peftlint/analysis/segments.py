"""Positions and source text of CPython AST nodes.

CPython gives each node its line and its column as a UTF-8 byte offset into that line; findings
count columns in characters, 1-based, as editors do. Lines end at ``\\r\\n``, ``\\r`` or ``\\n``
(as for Python's tokenizer), never at a form feed or ``\\u2028``, which ``str.splitlines`` would
split on.
"""

from __future__ import annotations

import ast
import re

from peftlint.findings import Position

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def line_starts(text: str) -> list[int]:
    """The offset in ``text`` where each line starts and, last, the end of the text."""
    return [0, *(match.end() for match in _LINE.finditer(text))]


class Segments:
    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            self._starts = line_starts(self.text)
        return self._starts

    def _line(self, number: int) -> str:
        starts = self.starts
        if not 0 < number < len(starts):
            return ""
        return self.text[starts[number - 1] : starts[number]].rstrip("\r\n")

    def column(self, line: int, byte_offset: int) -> int:
        """0-based character column of a UTF-8 byte offset into ``line``."""
        text = self._line(line)
        if text.isascii():
            return byte_offset
        return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="replace"))

    def span(self, node: ast.AST) -> tuple[Position, Position]:
        """1-based start and end (end exclusive) of a node that has a position."""
        line, end_line = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]
        column, end_column = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        return (
            Position(line, self.column(line, column) + 1),
            Position(end_line, self.column(end_line, end_column if end_column is not None else column) + 1),
        )

    def code(self, node: ast.AST) -> str:
        """The source text of a node exactly as written, line endings included (without the
        parentheses that may enclose it)."""
        start, end = self.span(node)
        starts = self.starts
        if end.line >= len(starts):
            return ""
        return self.text[starts[start.line - 1] + start.column - 1 : starts[end.line - 1] + end.column - 1]
