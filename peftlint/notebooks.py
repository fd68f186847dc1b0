"""Jupyter notebooks as one Python flow, and fixed code written back into the cells it came from.

The code cells of a notebook, in order, form one text (markdown and raw cells are skipped). Each cell
keeps its own number of lines and every line keeps its columns, so a position in the text maps back to
``(cell, line in cell, column)`` with a table lookup; ``cell`` is the 1-based index of the cell among
*all* cells of the notebook, as Jupyter shows it.

IPython syntax is neutralised by ``peftlint.ipython`` so the flow is plain Python the analysis can parse.
A code cell that still does not parse on its own (IPython compiles each cell alone) is unknown code:
it keeps its number of lines, its first line becomes ``__peftlint_unknown_code__()  # peftlint: unparsed
cell`` and the others comment lines, and the reason (``cell 5: syntax error at line 2: ...``) is one of
the notebook's ``problems``. The analysis forgets everything it knew at that call, so the other cells
are still analysed and no finding depends on what the broken cell may have changed.

Only stdlib is used here: ``json`` to read, a positional walk of the original JSON text to write back
(so every byte outside the changed ``source`` values stays as it was).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from json.decoder import scanstring  # type: ignore[attr-defined]  # public since Python 2, untyped

from peftlint.analysis.prescreen import libcst_accepts, parse_python
from peftlint.errors import SourceError
from peftlint.ipython import CELL_MAGIC, MAGIC_MARK, UNKNOWN_CODE, Line, dedented, shell_cell

_NEWLINE = re.compile(r"\r\n|\r|\n")
UNPARSED_MARK = "# peftlint: unparsed cell"
UNKNOWN_CODE_LINE = f"{UNKNOWN_CODE}()  {UNPARSED_MARK}"


@dataclass(frozen=True)
class NotebookSource:
    """The code cells as one text; ``lines[i]`` is (cell, line in cell) of line ``i + 1`` of ``text``."""

    text: str
    lines: tuple[tuple[int, int], ...]
    problems: tuple[str, ...] = ()  # one per code cell that does not parse
    # per line of ``text``, the columns the user's line has before it (IPython's removed indentation)
    shifts: tuple[int, ...] = ()

    def shift(self, line: int) -> int:
        """The columns line ``line`` (1-based) of ``text`` lost to IPython's dedent of its cell."""
        return self.shifts[line - 1] if 0 < line <= len(self.shifts) else 0

    def to_cell(self, line: int, column: int) -> tuple[int, int, int]:
        """(cell, line in cell, column) of a 1-based ``line`` of ``text``; columns are unchanged but
        in a cell IPython dedents.

        A line past the end (an end-of-file position) continues the last cell; a notebook without code
        lines maps everything to cell 1.
        """
        if line < 1:
            raise ValueError(f"line {line} is not a 1-based line number")
        if line <= len(self.lines):
            cell, row = self.lines[line - 1]
            return cell, row, column + self.shift(line)
        if not self.lines:
            return 1, line, column
        cell, row = self.lines[-1]
        return cell, row + line - len(self.lines), column


# --- reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cell:
    number: int  # 1-based index among all cells
    position: int  # index among code cells, in the order of the notebook
    source: object  # the JSON value as read (str or list of str)
    lines: tuple[Line, ...]
    trailing_newline: bool
    newline: str
    magic_line: int | None = None  # index of a cell magic's line (``%%time``) in the cell


@dataclass(frozen=True)
class _Notebook:
    cells: tuple[_Cell, ...]
    source_key: str  # "source" (nbformat 4) or "input" (nbformat 3)
    worksheets: bool  # nbformat 3 layout
    problems: tuple[str, ...] = ()


def notebook_source(data: bytes) -> NotebookSource:
    """The code cells of an ``.ipynb`` file as one Python text; ``SourceError`` with a one-line reason."""
    return _flow(_read(data))


def cell_lines(data: bytes) -> dict[int | None, tuple[str, ...]]:
    """Each code cell's lines as the user wrote them, by cell number (what reports quote)."""
    return {cell.number: tuple(line.original for line in cell.lines) for cell in _read(data).cells}


def _flow(notebook: _Notebook) -> NotebookSource:
    parts: list[str] = []
    mapping: list[tuple[int, int]] = []
    shifts: list[int] = []
    for cell in notebook.cells:
        for row, line in enumerate(cell.lines, start=1):
            parts.append(line.rewritten + "\n")
            mapping.append((cell.number, row))
            shifts.append(line.column if line.kind == "dedent" else 0)
    return NotebookSource("".join(parts), tuple(mapping), notebook.problems, tuple(shifts) if any(shifts) else ())


def _read(data: bytes) -> _Notebook:
    try:
        document = json.loads(data)
    except json.JSONDecodeError as error:
        raise SourceError(
            f"notebook is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except UnicodeDecodeError as error:
        raise SourceError(
            f"notebook is not valid JSON: cannot decode as {error.encoding} "
            f"(invalid byte 0x{error.object[error.start]:02x} at offset {error.start})"
        ) from None
    except (RecursionError, MemoryError):
        raise SourceError("notebook is not valid JSON: too deeply nested") from None
    except ValueError as error:  # e.g. an unknown encoding detected from the first bytes
        raise SourceError(f"notebook is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise SourceError(f"not a notebook: the JSON top level is {_json_type(document)}, not an object")
    _check_language(document.get("metadata"))
    if isinstance(document.get("cells"), list):
        raw_cells, source_key, worksheets = document["cells"], "source", False
    elif isinstance(document.get("worksheets"), list):
        raw_cells, source_key, worksheets = [], "input", True
        for sheet in document["worksheets"]:
            if isinstance(sheet, dict) and isinstance(sheet.get("cells"), list):
                raw_cells.extend(sheet["cells"])
    elif "cells" in document:
        raise SourceError("not a notebook: 'cells' is not a list")
    else:
        raise SourceError("notebook has no cells")
    cells: list[_Cell] = []
    problems: list[str] = []
    for number, raw in enumerate(raw_cells, start=1):
        if not isinstance(raw, dict):
            raise SourceError(f"cell {number}: not a JSON object")
        if raw.get("cell_type") != "code":
            continue
        source = raw.get(source_key)
        if isinstance(source, str):
            text = source
        elif isinstance(source, list) and all(isinstance(part, str) for part in source):
            text = "".join(source)
        else:
            raise SourceError(f"cell {number}: source is neither a string nor a list of strings")
        lines, trailing, newline = _split(text)
        neutralised = dedented(lines)
        reason = _unparsable(neutralised)
        if reason is not None and shell_cell(lines):
            neutralised, reason = tuple(Line(line, MAGIC_MARK, "whole") for line in lines), None
        if reason is not None:
            problems.append(f"cell {number}: {reason}")
            neutralised = _unknown_code(neutralised)
        magic = next((row for row, line in enumerate(neutralised) if line.original.strip()), None)
        if magic is not None and not CELL_MAGIC.match(neutralised[magic].original.lstrip()):
            magic = None
        cells.append(_Cell(number, len(cells), source, neutralised, trailing, newline, magic))
    return _Notebook(tuple(cells), source_key, worksheets, tuple(problems))


def _unparsable(lines: tuple[Line, ...]) -> str | None:
    """Why a cell's neutralised code does not parse on its own, or None when it does (by CPython's
    parser, or by libcst's when the cell uses a newer grammar than the running interpreter's)."""
    code = "".join(line.rewritten + "\n" for line in lines)
    try:
        parse_python(code, "<cell>")
    except SyntaxError as error:
        if libcst_accepts(code):
            return None
        return f"syntax error at line {error.lineno}: {error.msg}"
    except ValueError:
        return "the cell contains a NUL byte"
    except (RecursionError, MemoryError):
        return "too deeply nested to analyse"
    return None


def _unknown_code(lines: tuple[Line, ...]) -> tuple[Line, ...]:
    """The cell as code the analysis cannot see: one marker call, then comments (same line count)."""
    return tuple(
        Line(line.original, UNKNOWN_CODE_LINE if row == 0 else UNPARSED_MARK, "whole") for row, line in enumerate(lines)
    )


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _check_language(metadata: object) -> None:
    if not isinstance(metadata, dict):
        return
    candidates = []
    for key, field in (("kernelspec", "language"), ("language_info", "name")):
        section = metadata.get(key)
        if isinstance(section, dict):
            candidates.append(section.get(field))
    for language in candidates:
        if isinstance(language, str) and language.strip():
            name = language.strip().lower()
            if not name.startswith(("python", "ipython")):
                raise SourceError(f"not a Python notebook (kernel language: {name})")


def _split(text: str) -> tuple[list[str], bool, str]:
    """Lines without endings, whether the text ends with a newline, and the newline the cell uses."""
    if not text:
        return [], False, "\n"
    pieces = _NEWLINE.split(text)
    trailing = pieces[-1] == ""
    if trailing:
        pieces.pop()
    found = _NEWLINE.search(text)
    return pieces, trailing, found.group() if found else "\n"


# --- writing back ------------------------------------------------------------------------------------


def apply_text_to_notebook(data: bytes, new_text: str, source: NotebookSource) -> bytes:
    """Write ``new_text`` (an edited ``source.text``) back into the notebook ``data`` it was read from.

    Only the ``source`` values of cells whose code changed are rewritten, in the list-or-string form and
    the JSON layout they had; every other byte (outputs, metadata, execution counts, indentation, the
    trailing newline) is kept. Lines neutralised from IPython syntax come back as the original text.

    Line counts may change: new lines are attributed to cells by a minimal line diff against
    ``source.text``. Whole lines inserted exactly at a cell boundary go to the cell of the line they
    precede (at the end of the text: the last code cell), except before a cell magic (``%%time``), where
    they go to the end of the previous cell. ``ValueError`` is raised, and nothing should be written, when:
    an edit that changes the number of lines spans two cells; an edit changes, deletes or replaces a line
    neutralised from IPython syntax (a ``%time``/``x = %time`` line may be edited outside its magic
    word); lines would go before the cell magic of the first cell; ``data`` no longer reads as
    ``source``; or the result would not read back as ``new_text`` (e.g. an edit that closes a bracket so
    a following ``!cmd`` line becomes a shell escape).
    """
    if new_text == source.text:
        return data
    try:
        notebook = _read(data)
    except SourceError as error:
        raise ValueError(f"cannot read the notebook back: {error}") from None
    if _flow(notebook).text != source.text:
        raise ValueError("the notebook no longer matches the source it was read into")
    new_cells = _distribute(notebook, _lines_of(new_text))
    encoding = json.detect_encoding(data)
    document = data.decode(encoding)
    spans = _source_spans(document, notebook.source_key, notebook.worksheets)
    style = _Style.detect(document)
    replacements: list[tuple[int, int, str]] = []
    for cell in notebook.cells:
        lines = new_cells[cell.position]
        if lines == [line.original for line in cell.lines]:
            continue
        span = spans.get(cell.number)
        if span is None:
            raise ValueError(f"cannot find the source of cell {cell.number} in the notebook text")
        start, end = span
        # A last empty line only exists if a newline follows it.
        ends = bool(lines) and (cell.trailing_newline or lines[-1] == "")
        text = cell.newline.join(lines) + (cell.newline if ends else "")
        replacements.append((start, end, style.value(document, start, end, text, isinstance(cell.source, list))))
    for start, end, value in sorted(replacements, reverse=True):
        document = document[:start] + value + document[end:]
    fixed = document.encode(encoding)
    if not _same_code(_lines_of(notebook_source(fixed).text), _lines_of(new_text)):
        raise ValueError("the edited notebook would not read back as the edited code")
    return fixed


def _same_code(read: list[str], wanted: list[str]) -> bool:
    """Equal lines, except that a neutralised line may read back neutralised another way."""
    return len(read) == len(wanted) and all(
        a == b or (a.endswith(MAGIC_MARK) and b.endswith(MAGIC_MARK)) for a, b in zip(read, wanted, strict=True)
    )


def _lines_of(text: str) -> list[str]:
    lines = _NEWLINE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _distribute(notebook: _Notebook, new: list[str]) -> list[list[str]]:
    """The new original-text lines of each code cell (indexed by ``_Cell.position``)."""
    old: list[tuple[_Cell, Line]] = [(cell, line) for cell in notebook.cells for line in cell.lines]
    result: list[list[str]] = [[] for _ in notebook.cells]
    starts = {cell.position: sum(len(c.lines) for c in notebook.cells[: cell.position]) for cell in notebook.cells}
    for tag, i1, i2, j1, j2 in _opcodes([line.rewritten for _, line in old], new):
        if tag == "equal":
            for k in range(i2 - i1):
                cell, line = old[i1 + k]
                result[cell.position].append(line.original)
        elif tag == "delete":
            for _, line in old[i1:i2]:
                if line.kind != "code":
                    raise ValueError(f"an edit deletes a line rewritten from IPython syntax: {line.original!r}")
        elif i1 == i2:  # pure insertion
            if not old:
                if not notebook.cells:
                    raise ValueError("the notebook has no code cell to write the text into")
                target = notebook.cells[0]
            else:
                target = old[i1][0] if i1 < len(old) else old[-1][0]
                if target.magic_line is not None and i1 - starts[target.position] <= target.magic_line:
                    if i1 != starts[target.position] or i1 == 0:
                        raise ValueError(f"an edit inserts lines before the cell magic of cell {target.number}")
                    target = old[i1 - 1][0]  # at the end of the cell before instead
            result[target.position].extend(new[j1:j2])
        else:
            region = old[i1:i2]
            if i2 - i1 == j2 - j1:
                for (cell, line), text in zip(region, new[j1:j2], strict=True):
                    result[cell.position].append(_restore(line, text))
                continue
            if len({cell.position for cell, _ in region}) > 1:
                raise ValueError("an edit that changes the number of lines spans more than one notebook cell")
            cell = region[0][0]
            if any(line.kind != "code" for _, line in region[1:]) or region[0][1].kind == "whole":
                raise ValueError("an edit that changes the number of lines touches a line rewritten from IPython")
            result[cell.position].append(_restore(region[0][1], new[j1]))
            result[cell.position].extend(new[j1 + 1 : j2])
    return result


Opcode = tuple[str, int, int, int, int]


def _opcodes(old: list[str], new: list[str]) -> list[Opcode]:
    """A line diff in ``difflib``'s opcode form: the common prefix and suffix, then a minimal diff.

    A minimal diff (Myers) matters: ``difflib`` may align repeated lines (blank lines, neutralised
    magics) far from where an edit happened, which would move lines between cells.
    """
    n, m = len(old), len(new)
    prefix = 0
    while prefix < min(n, m) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(n, m) - prefix and old[n - 1 - suffix] == new[m - 1 - suffix]:
        suffix += 1
    a, b = old[prefix : n - suffix], new[prefix : m - suffix]
    middle: list[Opcode] | None = _myers(a, b)
    if middle is None:
        middle = list(difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes())
    ops: list[Opcode] = [("equal", 0, prefix, 0, prefix)] if prefix else []
    ops += [(tag, i1 + prefix, i2 + prefix, j1 + prefix, j2 + prefix) for tag, i1, i2, j1, j2 in middle]
    if suffix:
        ops.append(("equal", n - suffix, n, m - suffix, m))
    return ops


def _myers(a: list[str], b: list[str], budget: int = 1000) -> list[Opcode] | None:
    """Myers' O(ND) shortest edit script as opcodes; None when more than ``budget`` edits are needed."""
    n, m = len(a), len(b)
    frontier: dict[int, int] = {1: 0}
    trace: list[dict[int, int]] = []
    for d in range(min(n + m, budget) + 1):
        trace.append(dict(frontier))
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and frontier[k - 1] < frontier[k + 1]):
                x = frontier[k + 1]
            else:
                x = frontier[k - 1] + 1
            y = x - k
            while x < n and y < m and a[x] == b[y]:
                x, y = x + 1, y + 1
            frontier[k] = x
            if x >= n and y >= m:
                return _matches_to_opcodes(_backtrack(trace, n, m), n, m)
    return None


def _backtrack(trace: list[dict[int, int]], x: int, y: int) -> list[tuple[int, int]]:
    matches: list[tuple[int, int]] = []
    for d in range(len(trace) - 1, -1, -1):
        frontier, k = trace[d], x - y
        previous = k + 1 if k == -d or (k != d and frontier[k - 1] < frontier[k + 1]) else k - 1
        start_x = frontier[previous]
        start_y = start_x - previous
        while x > start_x and y > start_y:
            x, y = x - 1, y - 1
            matches.append((x, y))
        x, y = start_x, start_y
    return matches[::-1]


def _matches_to_opcodes(matches: list[tuple[int, int]], n: int, m: int) -> list[Opcode]:
    ops: list[Opcode] = []
    i = j = 0
    for x, y in [*matches, (n, m)]:
        if i < x or j < y:
            tag = "replace" if i < x and j < y else "delete" if i < x else "insert"
            ops.append((tag, i, x, j, y))
        if (x, y) == (n, m):
            break
        if ops and ops[-1][0] == "equal" and ops[-1][2] == x and ops[-1][4] == y:
            ops[-1] = ("equal", ops[-1][1], x + 1, ops[-1][3], y + 1)
        else:
            ops.append(("equal", x, x + 1, y, y + 1))
        i, j = x + 1, y + 1
    return ops


def _restore(line: Line, text: str) -> str:
    """The user's text for a (possibly edited) rewritten line."""
    if line.kind == "code":
        return text
    if line.kind == "whole":
        if text == line.rewritten:
            return line.original
        raise ValueError(f"an edit changes a line rewritten from IPython syntax: {line.original!r}")
    if line.kind == "dedent":
        return line.old + text
    prefix, end = line.rewritten[: line.column], line.column + len(line.new)
    if text.startswith(prefix) and text[line.column : end] == line.new:
        return text[: line.column] + line.old + text[end:]
    raise ValueError(f"an edit changes the IPython part of {line.original!r}")


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def _members(text: str, index: int) -> Iterator[tuple[str, int, int]]:
    """The members of the JSON object starting at ``text[index]``: (key, value start, value end)."""
    decoder = json.JSONDecoder()
    index = _skip_space(text, index)
    if text[index] != "{":
        return
    index = _skip_space(text, index + 1)
    if text[index] == "}":
        return
    while True:
        key, index = scanstring(text, index + 1)
        index = _skip_space(text, _skip_space(text, index) + 1)  # past the colon
        _, end = decoder.raw_decode(text, index)
        yield key, index, end
        index = _skip_space(text, end)
        if text[index] == "}":
            return
        index = _skip_space(text, index + 1)  # past the comma


def _items(text: str, index: int) -> Iterator[tuple[int, int]]:
    decoder = json.JSONDecoder()
    index = _skip_space(text, index)
    if text[index] != "[":
        return
    index = _skip_space(text, index + 1)
    if text[index] == "]":
        return
    while True:
        _, end = decoder.raw_decode(text, index)
        yield index, end
        index = _skip_space(text, end)
        if text[index] == "]":
            return
        index = _skip_space(text, index + 1)


def _source_spans(text: str, source_key: str, worksheets: bool) -> dict[int, tuple[int, int]]:
    """Cell number -> span of its source value in the JSON text (the last occurrence of a key wins)."""
    top = {key: (start, end) for key, start, end in _members(text, 0)}
    cell_lists: list[int] = []
    if worksheets:
        for sheet_start, _ in _items(text, top["worksheets"][0]):
            sheet = {key: start for key, start, _ in _members(text, sheet_start)}
            if "cells" in sheet and text[sheet["cells"]] == "[":
                cell_lists.append(sheet["cells"])
    else:
        cell_lists.append(top["cells"][0])
    spans: dict[int, tuple[int, int]] = {}
    number = 0
    for cells_start in cell_lists:
        for cell_start, _ in _items(text, cells_start):
            number += 1
            for key, start, end in _members(text, cell_start):
                if key == source_key:
                    spans[number] = (start, end)
    return spans


@dataclass(frozen=True)
class _Style:
    indent: int | None  # the document's indentation step; None for a one-line document
    ensure_ascii: bool
    newline: str

    @classmethod
    def detect(cls, text: str) -> _Style:
        found = re.search(r"\n( +)\S", text)
        newline = "\r\n" if "\r\n" in text else "\n"
        indent = len(found.group(1)) if found else None
        if any(ord(char) > 127 for char in text):
            ensure_ascii = False
        else:
            ensure_ascii = re.search(r"\\u(?:00[89a-fA-F]|0[1-9a-fA-F]|[1-9a-fA-F])", text) is not None
        return cls(indent, ensure_ascii, newline)

    def value(self, document: str, start: int, end: int, text: str, as_list: bool) -> str:
        """The JSON for ``text`` laid out like the value it replaces (``document[start:end]``)."""
        if not as_list:
            return json.dumps(text, ensure_ascii=self.ensure_ascii)
        items = [json.dumps(part, ensure_ascii=self.ensure_ascii) for part in re.findall(r"[^\n]*\n|[^\n]+", text)]
        if not items:
            return "[]"
        old = document[start:end]
        line_start = document.rfind("\n", 0, start) + 1
        indent = re.match(r"[ \t]*", document[line_start:start])
        base = indent.group() if indent is not None else ""
        if "\n" in old:
            item_indent = re.match(r"\[[ \t\r]*\n([ \t]*)", old)
            close_indent = re.search(r"\n([ \t]*)\]$", old)
            inner = item_indent.group(1) if item_indent else base + " " * (self.indent or 1)
            outer = close_indent.group(1) if close_indent else base
        elif old.strip() == "[]" and self.indent is not None:
            inner, outer = base + " " * self.indent, base
        else:
            separator = "," if re.search(r'",\S', old) else ", "
            return "[" + separator.join(items) + "]"
        newline = self.newline
        return "[" + newline + ("," + newline).join(inner + item for item in items) + newline + outer + "]"
