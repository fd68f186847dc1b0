"""libcst's trees of the parts of a file the analysis needs, parsed one unit at a time.

A unit (see prescreen.py) is parsed from its own lines: a top-level run of statements or ``def``
as it stands; a class member inside a ``class _:`` line, so its indentation, and so every column,
stay as written; a split class's header with a ``pass`` for a body. Lines are counted as Python's
tokenizer counts them (``\\r\\n``, ``\\r`` or ``\\n``), so a unit's line ``n`` is line
``n + offset`` of the file.

Positions are libcst's ``PositionProvider``'s (positions.py computes the same ranges more
cheaply), per unit and only for units that have something to report.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import libcst as cst

from peftlint.analysis.prescreen import CLASS, DEF, STATEMENTS, Unit
from peftlint.findings import Position

if TYPE_CHECKING:
    from peftlint.analysis.positions import Range

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_WRAPPER = "class _:\n"


def line_starts(text: str) -> list[int]:
    """The offset in ``text`` where each line starts and, last, the end of the text."""
    return [0, *(match.end() for match in _LINE.finditer(text))]


class UnitParseError(Exception):
    """libcst could not parse a unit CPython accepted (or a whole file CPython did not)."""


class ParsedUnit:
    """One unit's libcst tree, with the way back to the file's lines and columns."""

    def __init__(self, source: Source, module: cst.Module, offset: int, unit: Unit | None) -> None:
        self.source = source
        self.module = module
        self.offset = offset  # file line = unit line + offset
        self.unit = unit
        self._positions: dict[cst.CSTNode, Range] | None = None

    @property
    def path(self) -> str:
        return self.source.path

    def statements(self) -> Sequence[cst.BaseStatement]:
        """The unit's statements, as the file has them (a member's, not the wrapper's)."""
        body: Sequence[cst.BaseStatement] = self.module.body
        if self.unit is not None and self.unit.member:
            wrapper = body[0]
            assert isinstance(wrapper, cst.ClassDef) and isinstance(wrapper.body, cst.IndentedBlock)
            body = wrapper.body.body
        return body

    def range(self, node: cst.CSTNode) -> tuple[Position, Position]:
        """1-based start and end (end exclusive) of ``node`` in the file, columns in characters."""
        if self._positions is None:
            from peftlint.analysis.positions import positions_of

            self._positions = positions_of(self.module)
        where = self._positions.get(node)
        if where is None:
            return Position(self.offset + 1, 1), Position(self.offset + 1, 1)
        line, column, end_line, end_column = where
        return Position(line + self.offset, column + 1), Position(end_line + self.offset, end_column + 1)

    def start(self, node: cst.CSTNode) -> Position:
        return self.range(node)[0]

    def code(self, node: cst.CSTNode) -> str:
        """``node``'s source text exactly as written, without parentheses around it (as its
        position, ``range``, has them not)."""
        if getattr(node, "lpar", None) and not _parenthesised_by_syntax(node):
            node = node.with_changes(lpar=(), rpar=())
        return self.module.code_for_node(node)


def _parenthesised_by_syntax(node: cst.CSTNode) -> bool:
    """``()``: the parentheses are the empty tuple itself, not around it."""
    return isinstance(node, cst.Tuple) and not node.elements


class Source:
    """A file's text and its units, each parsed by libcst the first time the analysis asks."""

    def __init__(self, path: str, text: str, units: list[Unit] | None) -> None:
        self.path = path
        self.text = text
        self.units = units  # None: CPython could not parse it; libcst parses it whole
        self.starts = line_starts(text)
        self._parsed: dict[int, ParsedUnit] = {}

    def lines(self, first: int, last: int) -> str:
        """Lines ``first``..``last`` (1-based, inclusive), with their line endings."""
        starts = self.starts
        text = self.text[starts[first - 1] : starts[min(last, len(starts) - 1)]]
        return text if text.endswith(("\n", "\r")) else text + "\n"

    def whole(self) -> ParsedUnit:
        parsed = self._parsed.get(0)
        if parsed is None:
            parsed = self._parsed[0] = ParsedUnit(self, _parse(self.text), 0, None)
        return parsed

    def parse(self, unit: Unit) -> ParsedUnit:
        key = id(unit)
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = self._parsed[key] = self._parse_unit(unit)
        return parsed

    def _parse_unit(self, unit: Unit) -> ParsedUnit:
        if unit.kind == CLASS and unit.members:
            text = self.lines(unit.start, unit.header_end)
            indent = _indentation(self.lines(unit.members[0].start, unit.members[0].start))
            text += f"{indent}pass\n"
        else:
            text = self.lines(unit.start, unit.end)
        if unit.member:
            return ParsedUnit(self, _parse(_WRAPPER + text), unit.start - 2, unit)
        return ParsedUnit(self, _parse(text), unit.start - 1, unit)

    def parsed_units(self) -> Iterator[ParsedUnit]:
        """The units parsed so far (the ones that may hold something to report)."""
        yield from self._parsed.values()


def _indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t\f"))] or "    "


def _parse(text: str) -> cst.Module:
    try:
        with _unvalidated():
            return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        raise UnitParseError(f"line {error.raw_line}: {error.message}") from None


@contextmanager
def _unvalidated() -> Iterator[None]:
    """libcst checks every node it builds (``CSTNode.__post_init__`` calls ``_validate``), also
    the nodes its own parser builds from source it just accepted, where no check can fail; its
    comment there says as much ("avoid validating the tree when parsing a file"). The checks are
    about a third of a parse: they are left out while the parser runs, as long as
    ``__post_init__`` is that one call (another libcst keeps its own)."""
    post_init = cst.CSTNode.__dict__.get("__post_init__")
    if post_init is None or post_init.__code__.co_names != ("_validate",):
        yield
        return
    cst.CSTNode.__post_init__ = _no_check  # type: ignore[method-assign]
    try:
        yield
    finally:
        cst.CSTNode.__post_init__ = post_init  # type: ignore[method-assign]


def _no_check(self: cst.CSTNode) -> None:
    del self


def unit_node(parsed: ParsedUnit) -> cst.CSTNode:
    """The def or class a ``def``/``class`` unit holds."""
    statements = parsed.statements()
    assert parsed.unit is not None and parsed.unit.kind in (DEF, CLASS) and statements
    return statements[0]


def statements_of(body: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    """The statements of a block (an indented one, or ``if x: a; b`` on one line)."""
    if isinstance(body, cst.IndentedBlock):
        return body.body
    return [body]  # type: ignore[list-item]


__all__ = ["STATEMENTS", "ParsedUnit", "Source", "UnitParseError", "line_starts", "statements_of", "unit_node"]
