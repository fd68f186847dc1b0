"""``--format json``: ruff's field names where they exist, sorted, 1-based rows and columns."""

from __future__ import annotations

import json
from typing import Any

from peftlint.engine import LintResult
from peftlint.findings import Finding, Fix, Position


def _location(position: Position) -> dict[str, int]:
    location = {"row": position.line, "column": position.column}
    if position.cell is not None:
        location["cell"] = position.cell
    return location


def _fix(fix: Fix | None) -> dict[str, Any] | None:
    if fix is None:
        return None
    return {
        "message": fix.message,
        "applicability": "safe" if fix.safe else "unsafe",
        "edits": [
            {"content": e.content, "location": _location(e.start), "end_location": _location(e.end)} for e in fix.edits
        ],
    }


def finding_to_json(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "name": finding.name,
        "message": finding.message,
        "filename": finding.path,
        "location": _location(finding.start),
        "end_location": _location(finding.end),
        "severity": finding.severity.value,
        "fix": _fix(finding.fix),
        "url": None,
        "related": [
            {"filename": r.path, "location": _location(r.start), "message": r.message} for r in finding.related
        ],
    }


def render_json(result: LintResult, extra: dict[Finding, dict[str, Any]] | None = None) -> str:
    """``extra`` adds keys per finding (the verifier's ``verification`` object)."""
    items = []
    for finding in result.findings:
        item = finding_to_json(finding)
        if extra and finding in extra:
            item.update(extra[finding])
        items.append(item)
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"
