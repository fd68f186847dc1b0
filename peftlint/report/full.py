"""``--output-format full`` (the default): each finding with its source, as ruff's default output.

::

    PEFT001 `PeftModel.from_pretrained` loads the adapter onto `unet`, which already has PEFT layers: ...
      --> examples/resume_lora.py:25:12
       |
    24 |     text_encoder = PeftModel.from_pretrained(text_encoder, os.path.join(model_path, "text_encoder"))
    25 |     unet = PeftModel.from_pretrained(unet, os.path.join(model_path, "unet"))
       |            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
       |
      ::: examples/resume_lora.py:22:8
       |
    22 | unet = get_peft_model(unet, lora_config)
       |        ^^^^^^^^^^^^^^ the model got PEFT layers here (get_peft_model)
       |

The flagged span is underlined with one line of context around it; each related location gets its
own snippet with its note; a fix is shown as the lines it removes (``-``) and adds (``+``), and
``[*]`` after the code marks a safe one. Related locations carry no end, so their underline covers
the dotted name they start with. Tabs are expanded and wide characters counted twice so the carets
stay under the text; control characters are shown as U+FFFD, never sent to the terminal. Without the
source of a file (``sources`` lacks it) a location is shown without its snippet.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from peftlint.engine import LintResult
from peftlint.findings import Edit, Finding, Position, Related
from peftlint.report.text import location, style, summary
from peftlint.snippets import SourceLines, split_lines

CONTEXT_LINES = 1
MAX_SPAN_LINES = 6  # a longer span shows its first and last lines around a "..." row
TAB_WIDTH = 4
_NAME = re.compile(r"[A-Za-z_][\w.]*\w|[A-Za-z_]")


@dataclass(frozen=True)
class _Row:
    """One row of a snippet: a numbered source line, or an annotation under the previous one."""

    number: int | None
    text: str
    mark: str = "|"  # "|" for source and annotations, "-" and "+" for fix lines
    carets: bool = False  # ``text`` is the underline of the line above
    label: str = ""


def _display(line: str) -> tuple[str, list[int]]:
    """``line`` as shown and the display column where each character (and the end) starts."""
    shown: list[str] = []
    columns = [0]
    for char in line:
        if char == "\t":
            width = TAB_WIDTH - columns[-1] % TAB_WIDTH
            shown.append(" " * width)
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            width = 1
            shown.append("\ufffd")
        else:
            width = 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
            shown.append(char)
        columns.append(columns[-1] + width)
    return "".join(shown), columns


def _underline(line: str, start: int, end: int) -> str:
    """Carets under characters ``start`` to ``end`` (0-based, end exclusive) of ``line``."""
    _, columns = _display(line)
    start, end = min(max(start, 0), len(line)), min(max(end, 0), len(line))
    width = max(columns[end] - columns[start], 1)
    return " " * columns[start] + "^" * width


def _span_rows(lines: tuple[str, ...], start: Position, end: Position, label: str, context: int) -> list[_Row]:
    first, last = start.line, max(end.line, start.line)
    if end.line > start.line and end.column == 1:
        last -= 1  # the span ends at the start of that line (end exclusive)
    marked: list[_Row] = []
    numbers = list(range(first, last + 1))
    if len(numbers) > MAX_SPAN_LINES:
        numbers = numbers[: MAX_SPAN_LINES - 2] + [0] + numbers[-2:]
    for number in numbers:
        if number == 0:
            marked.append(_Row(None, "..."))
            continue
        text = lines[number - 1]
        begin = start.column - 1 if number == first else len(text) - len(text.lstrip())
        stop = end.column - 1 if number == end.line else len(text.rstrip())
        marked.append(_Row(number, _display(text)[0]))
        marked.append(_Row(None, _underline(text, begin, max(stop, begin + 1)), carets=True))
    marked[-1] = _Row(None, marked[-1].text, carets=True, label=label)
    before = list(range(max(first - context, 1), first))
    after = list(range(last + 1, min(last + context, len(lines)) + 1))
    while before and not lines[before[0] - 1].strip():
        before.pop(0)
    while after and not lines[after[-1] - 1].strip():
        after.pop()
    return [
        *(_Row(n, _display(lines[n - 1])[0]) for n in before),
        *marked,
        *(_Row(n, _display(lines[n - 1])[0]) for n in after),
    ]


def _snippet(
    sources: Mapping[str, SourceLines], path: str, start: Position, end: Position, label: str, context: int
) -> list[_Row] | None:
    lines = sources[path].lines(start.cell) if path in sources else ()
    if not 0 < start.line <= len(lines) or end.cell != start.cell or end.line > len(lines) + 1:
        return None
    return _span_rows(lines, start, end, label, context)


def _related_end(sources: Mapping[str, SourceLines], related: Related) -> Position:
    line = sources[related.path].line(related.start) if related.path in sources else None
    match = _NAME.match(line or "", related.start.column - 1)
    length = match.end() - match.start() if match else 1
    return Position(related.start.line, related.start.column + length, related.start.cell)


def _fix_rows(sources: Mapping[str, SourceLines], edit: Edit) -> list[_Row] | None:
    lines = sources[edit.path].lines(edit.start.cell) if edit.path in sources else ()
    if edit.end.cell != edit.start.cell or not 0 < edit.start.line <= edit.end.line <= len(lines):
        return None
    old = lines[edit.start.line - 1 : edit.end.line]
    new = split_lines(old[0][: edit.start.column - 1] + edit.content + old[-1][edit.end.column - 1 :])
    rows = [_Row(edit.start.line + i, _display(text)[0], "-") for i, text in enumerate(old)]
    return rows + [_Row(edit.start.line + i, _display(text)[0], "+") for i, text in enumerate(new)]


class _Block:
    """One finding's lines; snippets are laid out once the gutter width is known."""

    def __init__(self, color: bool) -> None:
        self.color = color
        self.parts: list[tuple[str, str | list[_Row]]] = []  # ("text", line) or ("header", text) or ("rows", rows)

    def text(self, line: str) -> None:
        self.parts.append(("text", line))

    def header(self, arrow: str, where: str) -> None:
        self.parts.append(("header", f"{arrow} {where}"))

    def rows(self, rows: list[_Row]) -> None:
        self.parts.append(("rows", rows))

    def lines(self) -> list[str]:
        numbers = [row.number for _, rows in self.parts if isinstance(rows, list) for row in rows if row.number]
        width = len(str(max(numbers, default=1)))
        out: list[str] = []
        for kind, value in self.parts:
            if kind == "text":
                assert isinstance(value, str)
                out.append(value)
            elif kind == "header":
                assert isinstance(value, str)
                arrow, _, where = value.partition(" ")
                out.append(f"{' ' * width}{self.gutter(arrow)} {where}")
            else:
                assert isinstance(value, list)
                out.append(self.gutter(f"{' ' * (width + 1)}|"))
                out += [self._row(row, width) for row in value]
                out.append(self.gutter(f"{' ' * (width + 1)}|"))
        return out

    def gutter(self, text: str) -> str:
        return style(text, self.color, fg="blue", bold=True)

    def _row(self, row: _Row, width: int) -> str:
        number = f"{row.number:>{width}}" if row.number is not None else " " * width
        if row.mark != "|":
            text = style(f"{row.mark} {row.text}", self.color, fg="red" if row.mark == "-" else "green")
            return f"{self.gutter(number)} {text}".rstrip()
        body = row.text
        if row.carets:
            indent = body[: len(body) - len(body.lstrip())]
            body = indent + style(body.lstrip(), self.color, fg="red", bold=True)
            body += f" {row.label}" if row.label else ""
        return f"{self.gutter(number + ' |')} {body}".rstrip()


def _finding(finding: Finding, sources: Mapping[str, SourceLines], color: bool, note: str | None) -> list[str]:
    block = _Block(color)
    fixable = " [*]" if finding.fix is not None and finding.fix.safe else ""
    block.text(
        f"{style(finding.code + fixable, color, fg='red', bold=True)} {style(finding.message, color, bold=True)}"
    )
    block.header("-->", location(finding.path, finding.start))
    rows = _snippet(sources, finding.path, finding.start, finding.end, "", CONTEXT_LINES)
    if rows is not None:
        block.rows(rows)
    for related in finding.related:
        where = location(related.path, related.start)
        rows = _snippet(sources, related.path, related.start, _related_end(sources, related), related.message, 0)
        if rows is None:
            block.header(":::", f"{where}: note: {related.message}")
        else:
            block.header(":::", where)
            block.rows(rows)
    if finding.fix is not None:
        unsafe = "" if finding.fix.safe else " (unsafe fix: --unsafe-fixes applies it)"
        block.text(f"{style('help:', color, fg='cyan', bold=True)} {finding.fix.message}{unsafe}")
        for edit in finding.fix.edits:
            fix_rows = _fix_rows(sources, edit)
            if fix_rows is None:
                continue
            if (edit.path, edit.start.cell) != (finding.path, finding.start.cell):
                cell = f":cell {edit.start.cell}" if edit.start.cell is not None else ""
                block.header(":::", f"{edit.path}{cell}")
            block.rows(fix_rows)
    if note is not None:
        block.text(f"{style('verified:', color, bold=True)} {note}")
    return block.lines()


def render_full(
    result: LintResult,
    sources: Mapping[str, SourceLines] | None = None,
    color: bool = False,
    notes: Mapping[Finding, str] | None = None,
    fixed: int = 0,
) -> str:
    """``notes`` adds a ``verified:`` line per finding (the verifier's summary)."""
    out: list[str] = []
    for finding in result.findings:
        out += _finding(finding, sources or {}, color, (notes or {}).get(finding))
        out.append("")
    out.append(summary(result, fixed))
    fixable = sum(1 for f in result.findings if f.fix is not None and f.fix.safe)
    if fixable and not fixed:
        out.append(f"[*] {fixable} fixable with the --fix option.")
    return "\n".join(out) + "\n"
