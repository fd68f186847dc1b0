"""``--output-format gitlab``: a GitLab Code Quality report (``artifacts:reports:codequality``).

GitLab reads a JSON array of issues with ``description``, ``check_name``, ``fingerprint``,
``severity`` (info, minor, major, critical, blocker) and ``location.path`` with
``location.positions.begin.line`` (or ``location.lines.begin``); ``type`` and ``categories`` are
there for other Code Climate readers. Paths are relative to the working directory, where the runner
checks the repository out.

The fingerprint is what GitLab compares between the source and target branches to tell new issues
from old ones, so it must not change when unrelated lines move: it hashes the rule code, the path,
the flagged source text with its whitespace collapsed, and which of several identical ones of the
file this is (in file order) - never a line number. Without the source (a library call that passes
none), the message stands in for the flagged text.

A notebook finding has no line of the ``.ipynb`` file: it points at line 1 and names the cell.
A file that could not be analysed is an issue too (``check_name`` ``peftlint/file-error``), so a
merge request does not look clean when it was not checked.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from peftlint.engine import LintResult
from peftlint.findings import Finding, Severity
from peftlint.report.github import display_path
from peftlint.snippets import SourceLines

FILE_ERROR = "peftlint/file-error"
_SEVERITIES = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def flagged_text(finding: Finding, sources: Mapping[str, SourceLines] | None) -> str:
    """The flagged span's source text, whitespace collapsed (so re-indenting keeps the fingerprint)."""
    lines = (sources or {}).get(finding.path)
    text = lines.span(finding.start, finding.end) if lines is not None else None
    return " ".join((text if text else finding.message).split())


def fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _issue(finding: Finding, path: str, print_: str) -> dict[str, Any]:
    description = f"{finding.code}: {finding.message}"
    if finding.start.cell is None:
        positions = {
            "begin": {"line": finding.start.line, "column": finding.start.column},
            "end": {"line": finding.end.line, "column": finding.end.column},
        }
    else:  # a cell's rows are not lines of the .ipynb file
        description = f"{finding.code}: cell {finding.start.cell}:{finding.start.line}:{finding.start.column}: "
        description += finding.message
        positions = {"begin": {"line": 1, "column": 1}, "end": {"line": 1, "column": 1}}
    return {
        "type": "issue",
        "check_name": finding.code,
        "description": description,
        "categories": ["Bug Risk"],
        "severity": _SEVERITIES.get(finding.severity, "minor"),
        "fingerprint": print_,
        "location": {"path": path, "positions": positions},
    }


def render_gitlab(result: LintResult, sources: Mapping[str, SourceLines] | None = None, root: str | None = None) -> str:
    issues = []
    seen: Counter[tuple[str, str, str]] = Counter()
    for finding in sorted(result.findings, key=Finding.sort_key):
        path = display_path(finding.path, root)
        key = (finding.code, path, flagged_text(finding, sources))
        issues.append(_issue(finding, path, fingerprint(*key, str(seen[key]))))
        seen[key] += 1
    for error in result.errors:
        path = display_path(error.path, root)
        issues.append(
            {
                "type": "issue",
                "check_name": FILE_ERROR,
                "description": f"peftlint could not analyse this file: {error.reason}",
                "categories": ["Bug Risk"],
                "severity": "major",
                "fingerprint": fingerprint(FILE_ERROR, path, error.reason),
                "location": {"path": path, "lines": {"begin": 1}},
            }
        )
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"
