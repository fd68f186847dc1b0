"""``--format text``: one clickable ``path:line:col: CODE message`` line per finding."""

from __future__ import annotations

from collections.abc import Mapping

from peftlint.engine import LintResult
from peftlint.findings import Finding, Position


def location(path: str, position: Position) -> str:
    if position.cell is not None:
        return f"{path}:cell {position.cell}:{position.line}:{position.column}"
    return f"{path}:{position.line}:{position.column}"


def _style(text: str, color: bool, **style: object) -> str:
    if not color:
        return text
    import click

    return click.style(text, **style)  # type: ignore[arg-type]


def render_text(
    result: LintResult, color: bool = False, notes: Mapping[Finding, str] | None = None, fixed: int = 0
) -> str:
    """``notes`` adds one indented line per finding (the verifier's ``verified:`` summary)."""
    lines = []
    for finding in result.findings:
        where = _style(location(finding.path, finding.start) + ":", color, bold=True)
        code = _style(finding.code, color, fg="red", bold=True)
        lines.append(f"{where} {code} {finding.message}")
        for related in finding.related:
            lines.append(f"  {location(related.path, related.start)}: note: {related.message}")
        if notes and finding in notes:
            lines.append(f"  verified: {notes[finding]}")
    files = len({f.path for f in result.findings})
    count = len(result.findings)
    failed = len({e.path for e in result.errors})
    if failed:
        problems = f"Found {count} problem{'s' if count != 1 else ''}" if count else "No problems found"
        files_word = "file" if failed == 1 else "files"
        lines.append(f"{problems}, but {failed} {files_word} could not be analysed (reasons on stderr).")
    elif fixed:
        lines.append(f"Fixed {fixed} problem{'s' if fixed != 1 else ''}, {count} remaining.")
    elif count:
        lines.append(f"Found {count} problem{'s' if count != 1 else ''} in {files} file{'s' if files != 1 else ''}.")
    else:
        lines.append(
            f"All checks passed ({result.files_checked} file{'s' if result.files_checked != 1 else ''} checked)."
        )
    return "\n".join(lines) + "\n"
