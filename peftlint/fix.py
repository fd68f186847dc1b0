"""Applying fixes: edits by position, made on libcst's concrete syntax tree, written atomically,
never producing code that does not parse.

A rule states a fix as the expression to put where a node of libcst's tree is (its position, as
the analysis had it); here that node is found again in libcst's tree of the file as it is now and
replaced, so comments and formatting around it survive, and a file that changed since it was
linted is refused. A file is decoded once; it keeps its encoding, BOM and line endings; on any
error it is left untouched.
"""

from __future__ import annotations

import bisect
import difflib
import io
import os
import tempfile
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from peftlint.analysis.units import line_starts
from peftlint.findings import Edit, Finding, Position
from peftlint.sources import NOTEBOOK_SUFFIX, SourceError, load_source

if TYPE_CHECKING:
    from peftlint.config import Settings
    from peftlint.engine import LintResult


@dataclass(frozen=True)
class FixedFile:
    path: str
    original: bytes
    fixed: bytes
    applied: tuple[Finding, ...]
    encoding: str = "utf-8"  # the file's own (PEP 263), for showing the diff

    def diff(self) -> str:
        before = self.original.decode(self.encoding, errors="replace").splitlines(keepends=True)
        after = self.fixed.decode(self.encoding, errors="replace").splitlines(keepends=True)
        return "".join(difflib.unified_diff(before, after, f"a/{self.path}", f"b/{self.path}"))


class FixError(Exception):
    """A fix that could not be applied; the message says why in one line."""


def fixable(findings: Iterable[Finding], unsafe: bool) -> list[Finding]:
    return [f for f in findings if f.fix is not None and (f.fix.safe or unsafe)]


def plan_fixes(findings: Sequence[Finding], unsafe: bool) -> tuple[list[FixedFile], list[tuple[str, str]]]:
    """The new contents of every file the fixes touch, and (path, reason) for files left alone."""
    by_path: dict[str, list[tuple[Edit, Finding]]] = {}
    for finding in fixable(findings, unsafe):
        assert finding.fix is not None
        for edit in finding.fix.edits:
            by_path.setdefault(edit.path, []).append((edit, finding))
    planned, failed = [], []
    for path in sorted(by_path):
        try:
            planned.append(_fix_file(path, by_path[path]))
        except FixError as error:
            failed.append((path, str(error)))
    return planned, failed


def write(fixed: FixedFile) -> None:
    """Replace the file atomically (temporary file + rename), keeping its permissions."""
    directory = os.path.dirname(os.path.abspath(fixed.path))
    mode = os.stat(fixed.path).st_mode & 0o7777
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".peftlint-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(fixed.fixed)
        os.chmod(temporary, mode)
        os.replace(temporary, fixed.path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _fix_file(path: str, edits: list[tuple[Edit, Finding]]) -> FixedFile:
    try:
        with open(path, "rb") as handle:
            original = handle.read()
    except OSError as error:
        raise FixError(f"cannot read: {error.strerror or error}") from None
    if path.endswith(NOTEBOOK_SUFFIX):
        return _apply_notebook(path, original, edits)
    return _apply(path, original, edits)


def _apply_notebook(path: str, original: bytes, edits: list[tuple[Edit, Finding]]) -> FixedFile:
    """Edits come in cell coordinates: apply them to the cells' flow, then write the cells back."""
    from peftlint.notebooks import apply_text_to_notebook

    try:
        source = load_source(path, original)
        in_text = [
            (replace(e, start=source.text_position(e.start), end=source.text_position(e.end)), f) for e, f in edits
        ]
    except SourceError as error:
        raise FixError(str(error)) from None
    new_text, applied = _apply_text(source.text, in_text)
    try:
        notebook = apply_text_to_notebook(original, new_text, source.notebook)  # type: ignore[arg-type]
    except ValueError as error:
        raise FixError(f"cannot write the fix back into the notebook: {error}") from None
    return FixedFile(path, original, notebook, applied)


def _apply(path: str, original: bytes, edits: list[tuple[Edit, Finding]]) -> FixedFile:
    """A Python file: decoded once as PEP 263 says, fixed, encoded back (BOM kept)."""
    bom = original.startswith(b"\xef\xbb\xbf")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(original).readline)
        text = original.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as error:
        raise FixError(f"cannot decode: {error}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    new_text, applied = _apply_text(text, edits)
    try:
        fixed = new_text.encode(encoding)
    except UnicodeEncodeError as error:
        raise FixError(f"the fix cannot be written in {encoding}: {error.reason}") from None
    if bom and encoding != "utf-8-sig":
        fixed = b"\xef\xbb\xbf" + fixed
    return FixedFile(path, original, fixed, applied, encoding)


def _apply_text(text: str, edits: list[tuple[Edit, Finding]]) -> tuple[str, tuple[Finding, ...]]:
    """The text with the edits made (overlapping ones left for the next run), and the findings
    whose edits were made."""
    starts = line_starts(text)
    applied: list[Finding] = []
    pieces: list[tuple[int, int, str]] = []
    for edit, finding in sorted(edits, key=lambda item: (item[0].start.line, item[0].start.column)):
        start, end = _offset(starts, edit.start), _offset(starts, edit.end)
        if (start, end, edit.content) in pieces:
            applied.append(finding)  # the same edit, reached from another finding
            continue
        if pieces and start < pieces[-1][1]:
            continue  # overlaps an earlier edit: left for the next --fix run
        pieces.append((start, end, edit.content))
        applied.append(finding)
    return _rewrite(text, starts, pieces), tuple(dict.fromkeys(applied))


def _rewrite(text: str, starts: list[int], pieces: list[tuple[int, int, str]]) -> str:
    """Apply the edits to libcst's concrete syntax tree of the file: each must span exactly one
    expression node (libcst's positions, like CPython's, leave out the node's own parentheses) and
    is replaced by the expression its text parses to, parentheses kept; everything else, comments
    and formatting included, is written back as it was. An insertion where an expression statement
    starts (``model = `` before ``model.merge_and_unload()``) makes that statement anew from the
    inserted text and the expression. An edit that spans no whole expression
    (the file changed since it was linted) or does not parse leaves the file alone."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    try:
        module = cst.parse_module(text)
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    except cst.ParserSyntaxError as error:
        raise FixError(
            f"libcst cannot parse this file (line {error.raw_line}: {error.message}); fixes not applied"
        ) from None
    except RecursionError:
        raise FixError("too deeply nested for libcst; fixes not applied") from None
    wanted = {(start, end) for start, end, _ in pieces}
    found: dict[tuple[int, int], cst.BaseExpression] = {}
    statements: dict[int, cst.Expr] = {}  # expression statements by where they start
    for node, where in positions.items():
        span = (starts[where.start.line - 1] + where.start.column, starts[where.end.line - 1] + where.end.column)
        if isinstance(node, cst.BaseExpression):
            if span in wanted and (span not in found or _contains(node, found[span])):
                found[span] = node  # of nested nodes with one span, the outermost
        elif isinstance(node, cst.Expr) and (span[0], span[0]) in wanted:
            statements[span[0]] = node
    replacements: dict[cst.CSTNode, cst.CSTNode] = {}
    for start, end, content in pieces:
        if start == end and start in statements:  # text put before an expression statement: ``model = ``
            statement = statements[start]
            try:
                parsed = cst.parse_statement(content + module.code_for_node(statement.value) + "\n")
            except (cst.ParserSyntaxError, RecursionError) as error:
                raise FixError(f"the fixed code would not parse ({error}); file left unchanged") from None
            small = parsed.body[0] if isinstance(parsed, cst.SimpleStatementLine) and len(parsed.body) == 1 else None
            if small is None:
                raise FixError("the fixed code is not one statement; file left unchanged")
            replacements[statement] = small.with_changes(semicolon=statement.semicolon)
            continue
        target = found.get((start, end))
        if target is None:
            line = bisect.bisect_right(starts, start)
            raise FixError(f"no whole expression at line {line} where the fix applies (changed since it was linted?)")
        try:
            # parenthesised so that an expression written over several lines parses on its own
            parsed = cst.parse_expression(f"({content})").with_changes(lpar=[], rpar=[])
        except (cst.ParserSyntaxError, RecursionError) as error:
            raise FixError(f"the fixed code would not parse ({error}); file left unchanged") from None
        replacements[target] = parsed.with_changes(lpar=target.lpar, rpar=target.rpar)

    class _Replace(cst.CSTTransformer):
        def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:  # type: ignore[override]
            return replacements.get(original_node, updated_node)

    return module.visit(_Replace()).code


def _contains(outer: object, inner: object) -> bool:
    import libcst as cst

    stack = list(outer.children) if isinstance(outer, cst.CSTNode) else []
    while stack:
        node = stack.pop()
        if node is inner:
            return True
        stack.extend(node.children)
    return False


def _offset(starts: list[int], position: Position) -> int:
    if position.line - 1 >= len(starts):
        raise FixError(f"edit at line {position.line} is past the end of the file")
    return starts[position.line - 1] + position.column - 1


def fix_text(data: bytes, path: str, result: LintResult, unsafe: bool, settings: Settings) -> tuple[bytes, LintResult]:
    """Fix an in-memory source (stdin): the fixed bytes and what remains to report."""
    from peftlint.engine import lint_source

    edits = [
        (edit, finding)
        for finding in fixable(result.findings, unsafe)
        for edit in finding.fix.edits  # type: ignore[union-attr]
        if edit.path == path
    ]
    if not edits:
        return data, result
    try:
        fixed = _apply(path, data, edits)
    except FixError:
        return data, result
    return fixed.fixed, lint_source(fixed.fixed, path, settings)
