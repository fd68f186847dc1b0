"""``--output-format concise``: one clickable ``path:line:col: CODE message`` line per finding."""

from __future__ import annotations

from collections.abc import Mapping

from peftlint.engine import LintResult
from peftlint.findings import Finding, Position


def location(path: str, position: Position) -> str:
    if position.cell is not None:
        return f"{path}:cell {position.cell}:{position.line}:{position.column}"
    return f"{path}:{position.line}:{position.column}"


def style(text: str, color: bool, **styles: object) -> str:
    if not color:
        return text
    import click

    return click.style(text, **styles)  # type: ignore[arg-type]


def summary(result: LintResult, fixed: int) -> str:
    """The last line of both text formats."""
    files = len({f.path for f in result.findings})
    count = len(result.findings)
    failed = len({e.path for e in result.errors})
    if failed:
        problems = f"Found {count} problem{'s' if count != 1 else ''}" if count else "No problems found"
        files_word = "file" if failed == 1 else "files"
        return f"{problems}, but {failed} {files_word} could not be analysed in full (reasons on stderr)."
    if fixed:
        return f"Fixed {fixed} problem{'s' if fixed != 1 else ''}, {count} remaining."
    if count:
        return f"Found {count} problem{'s' if count != 1 else ''} in {files} file{'s' if files != 1 else ''}."
    return f"All checks passed ({result.files_checked} file{'s' if result.files_checked != 1 else ''} checked)."


def render_text(
    result: LintResult, color: bool = False, notes: Mapping[Finding, str] | None = None, fixed: int = 0
) -> str:
    """``notes`` adds one indented line per finding (the verifier's ``verified:`` summary)."""
    lines = []
    for finding in result.findings:
        where = style(location(finding.path, finding.start) + ":", color, bold=True)
        code = style(finding.code, color, fg="red", bold=True)
        lines.append(f"{where} {code} {finding.message}")
        for related in finding.related:
            lines.append(f"  {location(related.path, related.start)}: note: {related.message}")
        if notes and finding in notes:
            lines.append(f"  verified: {notes[finding]}")
    lines.append(summary(result, fixed))
    return "\n".join(lines) + "\n"
