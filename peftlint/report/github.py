"""``--format github``: GitHub Actions workflow commands, one annotation per finding.

``::error title=peftlint (PEFT001),file=a.py,line=3,col=9,endLine=3,endColumn=40::message``,
escaped as the runner expects (data: ``%`` ``\\r`` ``\\n``; properties also ``:`` and ``,``). Notebook findings
annotate the file without a line (cell rows are not lines of the .ipynb) and name the cell in
the message.
"""

from __future__ import annotations

import os

from peftlint.engine import LintResult
from peftlint.findings import Finding, Position, Severity

_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def display_path(path: str, root: str | None = None) -> str:
    """Relative to ``root`` (default: the working directory, where the runner checks out the repo)
    with forward slashes; left as given when outside it."""
    base = os.path.abspath(root if root is not None else os.getcwd())
    try:
        relative = os.path.relpath(os.path.abspath(path), base)
    except ValueError:
        return path.replace(os.sep, "/")
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return path.replace(os.sep, "/")
    return relative.replace(os.sep, "/")


def _where(path: str, position: Position, root: str | None) -> str:
    shown = display_path(path, root)
    if position.cell is not None:
        return f"{shown}:cell {position.cell}:{position.line}:{position.column}"
    return f"{shown}:{position.line}:{position.column}"


def _command(name: str, properties: list[tuple[str, object]], message: str) -> str:
    rendered = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties)
    return f"::{name} {rendered}::{escape_data(message)}"


def _annotation(finding: Finding, root: str | None) -> str:
    message = finding.message
    properties: list[tuple[str, object]] = [
        ("title", f"peftlint ({finding.code})"),
        ("file", display_path(finding.path, root)),
    ]
    if finding.start.cell is None:
        properties += [
            ("line", finding.start.line),
            ("col", finding.start.column),
            ("endLine", finding.end.line),
            ("endColumn", finding.end.column),
        ]
    else:
        # A notebook's cell rows are not lines of the .ipynb file: annotate the file, name the cell.
        message = f"cell {finding.start.cell}:{finding.start.line}:{finding.start.column}: {message}"
    for related in finding.related:
        message += f" (see {_where(related.path, related.start, root)}: {related.message})"
    return _command(_COMMANDS.get(finding.severity, "warning"), properties, message)


def render_github(result: LintResult, root: str | None = None) -> str:
    lines = [_annotation(finding, root) for finding in sorted(result.findings, key=Finding.sort_key)]
    lines += [
        _command(
            "error",
            [("file", display_path(error.path, root)), ("title", "peftlint")],
            f"could not analyse: {error.reason}",
        )
        for error in result.errors
    ]
    return "".join(line + "\n" for line in lines)
