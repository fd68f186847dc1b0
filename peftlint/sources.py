"""Reading a file into the text the analysis sees, and mapping positions back for notebooks.

A notebook's code cells form one flow: positions inside the analysis are lines of that flow
("text coordinates"); findings leave the engine in cell coordinates (``Position.cell``).
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from peftlint.errors import SourceError
from peftlint.findings import Position

if TYPE_CHECKING:
    from peftlint.notebooks import NotebookSource

NOTEBOOK_SUFFIX = ".ipynb"
__all__ = ["NOTEBOOK_SUFFIX", "SourceError", "SourceFile", "decode", "load_source"]


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str
    notebook: NotebookSource | None = None
    # Parts that could not be analysed, one line each (``cell 5: syntax error at line 2: invalid
    # syntax``): errors of the file, reported beside the findings of the rest of it.
    problems: tuple[str, ...] = ()

    def cell_position(self, position: Position) -> Position:
        """Text coordinates -> (cell, line in cell, column) for notebooks; unchanged otherwise."""
        if self.notebook is None or position.cell is not None:
            return position
        cell, line, column = self.notebook.to_cell(position.line, position.column)
        return Position(line, column, cell)

    def text_position(self, position: Position) -> Position:
        """The inverse of ``cell_position``."""
        if self.notebook is None or position.cell is None:
            return position
        for index, (cell, line) in enumerate(self.notebook.lines, start=1):
            if (cell, line) == (position.cell, position.line):
                return replace(position, line=index, column=position.column - self.notebook.shift(index), cell=None)
        last_cell, last_line = self.notebook.lines[-1] if self.notebook.lines else (1, 0)
        if position.cell == last_cell and position.line > last_line:  # an end-of-file position
            return Position(len(self.notebook.lines) + position.line - last_line, position.column)
        raise SourceError(f"cell {position.cell} line {position.line} is not in the notebook")


def load_source(path: str, data: bytes) -> SourceFile:
    if path.endswith(NOTEBOOK_SUFFIX):
        from peftlint.notebooks import notebook_source

        notebook = notebook_source(data)
        return SourceFile(path, notebook.text, notebook, notebook.problems)
    return decode(path, data)


def decode(path: str, data: bytes) -> SourceFile:
    """Decode per PEP 263 (BOM, coding cookie, else UTF-8)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        raise SourceError(f"cannot decode: {error.msg}") from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise SourceError(f"cannot decode as {encoding}: {_reason(error)}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return SourceFile(path, text)


def _reason(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"invalid byte 0x{error.object[error.start]:02x} at offset {error.start}"
    return str(error)
