"""Reading a file into text the analysis can use, with one-line reasons when that fails."""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass


class SourceError(Exception):
    """A file that cannot be analysed; the message is the one-line reason shown to the user."""


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str


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
