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
The analysis reads those directives from libcst's tree, the comments of the statement around the finding
(rules/base.py ``statement_noqa``), and each finding carries them. This module parses a directive's text,
and lists every directive of a file (with ``tokenize``, so ``"# noqa"`` inside a string does not count;
if the text does not tokenize, a per-line regex) for file-level directives and ``--report-unused-noqa``.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

ALL = "ALL"

_NOQA = re.compile(r"#\s*noqa(?=\s|:|#|$)(?P<colon>\s*:)?", re.IGNORECASE)
_FILE_NOQA = re.compile(r"#\s*peftlint\s*:\s*noqa(?=\s|:|#|$)(?P<colon>\s*:)?", re.IGNORECASE)
_CODE = re.compile(r"[A-Za-z]+[0-9]+(?![A-Za-z0-9_])")
_SEPARATORS = re.compile(r"[\s,]*")
_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Suppressions:
    """The noqa directives of one text. Codes are upper-case; ``ALL`` stands for a blanket directive."""

    # (line of the comment, codes) for line-level and file-level directives, sorted by line.
    line_directives: tuple[tuple[int, frozenset[str]], ...] = ()
    file_directives: tuple[tuple[int, frozenset[str]], ...] = ()

    def file_level(self, code: str) -> list[tuple[int, str]]:
        """The file-level directives that suppress ``code``: (line, matched code or ``ALL``)."""
        code = code.upper()
        return [
            (line, code if code in codes else ALL)
            for line, codes in self.file_directives
            if code in codes or ALL in codes
        ]

    def unused(
        self, matched: set[tuple[int, str]], *, prefix: str | None = "PEFT", blanket: bool = True
    ) -> list[tuple[int, str]]:
        """Directives that matched nothing: sorted (comment line, code or ``ALL``).

        ``matched`` holds (directive line, code or ``ALL``) of every directive that suppressed a finding.
        Only codes starting with ``prefix`` are reported (codes of other tools, like ruff's ``E501``, are
        theirs to judge; ``None`` reports all); ``blanket=False`` leaves out line-level bare ``# noqa``
        (often meant for another linter). File-level blanket ``# peftlint: noqa`` is reported whenever it
        matched nothing.
        """
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
        for codes in line_directive_codes(comment):
            line_directives.setdefault(line, set()).update(codes)
    return Suppressions(
        tuple(sorted((line, frozenset(codes)) for line, codes in line_directives.items())),
        tuple(sorted((line, frozenset(codes)) for line, codes in file_directives.items())),
    )


def line_directive_codes(comment: str) -> list[set[str]]:
    """The codes of each line-level directive in one comment's text (``{ALL}`` for a bare one)."""
    found = []
    for match in _NOQA.finditer(comment):
        codes = _codes_after(comment, match)
        if codes is not None:
            found.append(codes)
    return found


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
