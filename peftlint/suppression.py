"""``# noqa`` comments, with ruff's semantics, and file-level ``# peftlint: noqa``.

Line level (a comment anywhere on the line, also after other comments: ``# type: ignore # noqa: X``):

* ``# noqa`` suppresses every code on that line; so does ``# noqa PEFT001`` (no colon), as in ruff;
* ``# noqa: PEFT001``, ``# noqa: PEFT001, PEFT002``, ``# noqa:PEFT001 PEFT002`` suppress those codes.
  ``noqa`` is matched case-insensitively, codes are upper-cased; codes end at the first word that is not
  a code (``# noqa: PEFT001 because ...``); ``# noqa:`` followed by no code is ignored, as ruff does.

File level (a comment on a line of its own): ``# peftlint: noqa`` suppresses everything in the file,
``# peftlint: noqa: PEFT002`` those codes in the whole file.

A finding's line is widened to the statement that contains it: a ``# noqa`` on any line of a multi-line
simple statement (or of the header of a compound statement: ``with (...):``, ``def f(...):``) counts.
Comments are found with ``tokenize`` (so ``"# noqa"`` inside a string does not count); if the text does
not tokenize, a per-line regex is used instead. Statements come from ``ast``; if the text does not parse,
only the finding's own line counts.
"""

from __future__ import annotations

import ast
import bisect
import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass

from peftlint.sources import parse_python

ALL = "ALL"

_NOQA = re.compile(r"#\s*noqa(?=\s|:|#|$)(?P<colon>\s*:)?", re.IGNORECASE)
_FILE_NOQA = re.compile(r"#\s*peftlint\s*:\s*noqa(?=\s|:|#|$)(?P<colon>\s*:)?", re.IGNORECASE)
_CODE = re.compile(r"[A-Za-z]+[0-9]+(?![A-Za-z0-9_])")
_SEPARATORS = re.compile(r"[\s,]*")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_BODIES = frozenset({"body", "orelse", "finalbody", "handlers", "cases"})


@dataclass(frozen=True)
class Suppressions:
    """The noqa directives of one text. Codes are upper-case; ``ALL`` stands for a blanket directive."""

    # (line of the comment, codes) for line-level and file-level directives, sorted by line.
    line_directives: tuple[tuple[int, frozenset[str]], ...] = ()
    file_directives: tuple[tuple[int, frozenset[str]], ...] = ()
    # (line, first line, last line) of the statement around each line of a multi-line statement.
    spans: tuple[tuple[int, int, int], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lines", [line for line, _ in self.line_directives])
        object.__setattr__(self, "_codes", dict(self.line_directives))
        object.__setattr__(self, "_spans", {line: (first, last) for line, first, last in self.spans})

    def statement_lines(self, line: int) -> tuple[int, int]:
        """First and last line of the statement(s) containing ``line`` (``line`` itself if none)."""
        return self._spans.get(line, (line, line))  # type: ignore[attr-defined]

    def _directives_for(self, line: int) -> Iterable[tuple[int, frozenset[str]]]:
        first, last = self.statement_lines(line)
        lines: list[int] = self._lines  # type: ignore[attr-defined]
        codes: dict[int, frozenset[str]] = self._codes  # type: ignore[attr-defined]
        for index in range(bisect.bisect_left(lines, first), bisect.bisect_right(lines, last)):
            yield lines[index], codes[lines[index]]
        yield from self.file_directives

    def is_suppressed(self, code: str, line: int) -> bool:
        """Whether a finding ``code`` reported at (1-based) ``line`` is suppressed."""
        code = code.upper()
        return any(ALL in codes or code in codes for _, codes in self._directives_for(line))

    def unused(
        self, used: set[tuple[int, str]], *, prefix: str | None = "PEFT", blanket: bool = True
    ) -> list[tuple[int, str]]:
        """Directives that matched nothing: sorted (comment line, code or ``ALL``).

        ``used`` holds (line, code) of the findings of the file (all of them, or only the suppressed
        ones: the result is the same). Only codes starting with ``prefix`` are reported (codes of other
        tools, like ruff's ``E501``, are theirs to judge; ``None`` reports all); ``blanket=False`` leaves
        out line-level bare ``# noqa`` (often meant for another linter). File-level blanket
        ``# peftlint: noqa`` is reported whenever it matched nothing.
        """
        matched: set[tuple[int, str]] = set()
        for line, code in used:
            code = code.upper()
            for directive, codes in self._directives_for(line):
                if code in codes:
                    matched.add((directive, code))
                if ALL in codes:
                    matched.add((directive, ALL))
        report: set[tuple[int, str]] = set()
        for directives, file_level in ((self.line_directives, False), (self.file_directives, True)):
            for directive, codes in directives:
                for code in codes:
                    if (directive, code) in matched:
                        continue
                    if code == ALL:
                        if blanket or file_level:
                            report.add((directive, code))
                    elif prefix is None or code.startswith(prefix.upper()):
                        report.add((directive, code))
        return sorted(report)


def parse_suppressions(text: str) -> Suppressions:
    """Find the noqa directives of a Python text (the concatenated code cells, for a notebook)."""
    comments = _comments(text)
    line_directives: dict[int, set[str]] = {}
    file_directives: dict[int, set[str]] = {}
    for line, comment, own_line in comments:
        if own_line:
            codes = _file_codes(comment)
            if codes is not None:
                file_directives.setdefault(line, set()).update(codes)
        for match in _NOQA.finditer(comment):
            codes = _codes_after(comment, match)
            if codes is not None:
                line_directives.setdefault(line, set()).update(codes)
    return Suppressions(
        tuple(sorted((line, frozenset(codes)) for line, codes in line_directives.items())),
        tuple(sorted((line, frozenset(codes)) for line, codes in file_directives.items())),
        _statement_spans(text) if line_directives else (),
    )


def _codes_after(comment: str, match: re.Match[str]) -> set[str] | None:
    """The codes of a directive: ``{ALL}`` without a colon, None for a colon followed by no code."""
    if not match.group("colon"):
        return {ALL}
    codes: set[str] = set()
    position = match.end()
    while True:
        position = _SEPARATORS.match(comment, position).end()  # type: ignore[union-attr]
        code = _CODE.match(comment, position)
        if not code:
            break
        codes.add(code.group().upper())
        position = code.end()
    return codes or None


def _file_codes(comment: str) -> set[str] | None:
    match = _FILE_NOQA.match(comment)
    return _codes_after(comment, match) if match else None


def _comments(text: str) -> list[tuple[int, str, bool]]:
    """(line, comment text, whether the comment is alone on its line) for every real comment."""
    lines = _NEWLINE.split(text)
    found: list[tuple[int, str, bool]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if token.type == tokenize.COMMENT:
                row, column = token.start
                found.append((row, token.string, not lines[row - 1][:column].strip()))
    except (tokenize.TokenError, SyntaxError, ValueError, RecursionError, MemoryError, IndexError):
        found = []
        for row, line in enumerate(lines, start=1):
            column = line.find("#")
            if column >= 0:
                found.append((row, line[column:], not line[:column].strip()))
    return found


def _statement_spans(text: str) -> tuple[tuple[int, int, int], ...]:
    try:
        tree = parse_python(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    lines = _NEWLINE.split(text)
    spans: dict[int, tuple[int, int]] = {}
    for first, last in _ranges(tree, lines):
        if last <= first:
            continue
        for line in range(first, last + 1):
            low, high = spans.get(line, (first, last))
            spans[line] = (min(low, first), max(high, last))
    return tuple(sorted((line, low, high) for line, (low, high) in spans.items()))


def _ranges(tree: ast.AST, lines: list[str]) -> Iterable[tuple[int, int]]:
    """Line ranges of simple statements, compound-statement headers and decorators."""
    match_case = getattr(ast, "match_case", ())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for decorator in node.decorator_list:
                yield decorator.lineno, decorator.end_lineno or decorator.lineno
        if not isinstance(node, (ast.stmt, ast.excepthandler, match_case)):
            continue
        body = getattr(node, "body", None)
        if isinstance(body, list) and body:
            first, last = _header(node, body, lines)
            yield first, _continued(lines, last)
        elif isinstance(node, ast.stmt):
            yield node.lineno, _continued(lines, node.end_lineno or node.lineno)


def _continued(lines: list[str], last: int) -> int:
    """A backslash at the end of a statement's last line carries it onto the next line."""
    while last < len(lines) and lines[last - 1].endswith("\\"):
        last += 1
    return last


def _header(node: ast.AST, body: list[ast.stmt], lines: list[str]) -> tuple[int, int]:
    """From the keyword to the colon of a compound statement (``if``, ``with``, ``def``, ``case``...)."""
    parts = [
        value
        for name, value in ast.iter_fields(node)
        if name not in _BODIES and name != "decorator_list" and isinstance(value, (ast.AST, list))
    ]
    first = getattr(node, "lineno", None)
    last = first or 0
    for part in parts:
        for child in ast.walk(part) if isinstance(part, ast.AST) else _walk_all(part):
            end = getattr(child, "end_lineno", None)
            if end is not None:
                last = max(last, end)
                line = getattr(child, "lineno", end)
                first = line if first is None else min(first, line)
    first = first or last
    start_of_body = min([body[0].lineno, *(d.lineno for d in getattr(body[0], "decorator_list", ()))])
    # Closing brackets of the header (``):``) sit on lines no child node reaches.
    while last + 1 < start_of_body and _is_code(lines, last + 1):
        last += 1
    if start_of_body == last + 1 and _code_before(lines, body[0]):
        last = start_of_body  # the body starts on the header's last line: ``): return x``
    return first, last


def _walk_all(values: list[object]) -> Iterable[ast.AST]:
    for value in values:
        if isinstance(value, ast.AST):
            yield from ast.walk(value)


def _is_code(lines: list[str], line: int) -> bool:
    if line - 1 >= len(lines):
        return False
    stripped = lines[line - 1].strip()
    return bool(stripped) and not stripped.startswith("#")


def _code_before(lines: list[str], node: ast.stmt) -> bool:
    if node.lineno - 1 >= len(lines):
        return False
    before = lines[node.lineno - 1].encode("utf-8")[: node.col_offset].decode("utf-8", errors="ignore")
    return bool(before.strip())
