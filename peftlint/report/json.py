"""``--output-format json`` and ``json-lines``: ruff's message shape, keys sorted as ruff sorts them.

Per finding: ``cell`` (null for a ``.py`` file, the 1-based notebook cell otherwise, counting every
cell as Jupyter and ruff do), ``code``, ``end_location``, ``filename``, ``fix``, ``location``,
``message``, ``name``, ``noqa_row`` (the row a ``# noqa`` comment silences it on), ``severity`` and
``url`` (the rule's page), as ruff writes them; rows and columns are 1-based and, in notebooks, rows
inside the cell. peftlint adds ``related`` (the other places that explain the finding) and, with
``--verify``, ``verification``; each fix edit also names its ``filename`` and ``cell`` (a PEFT002 fix
edits the file that saved, not the one that loads).
"""

from __future__ import annotations

import json
from typing import Any

from peftlint.docs import rule_url
from peftlint.engine import LintResult
from peftlint.findings import Finding, Fix, Position


def _location(position: Position) -> dict[str, int]:
    return {"column": position.column, "row": position.line}


def _fix(fix: Fix | None) -> dict[str, Any] | None:
    if fix is None:
        return None
    return {
        "applicability": "safe" if fix.safe else "unsafe",
        "edits": [
            {
                "cell": edit.start.cell,
                "content": edit.content,
                "end_location": _location(edit.end),
                "filename": edit.path,
                "location": _location(edit.start),
            }
            for edit in fix.edits
        ],
        "message": fix.message,
    }


def finding_to_json(finding: Finding) -> dict[str, Any]:
    return {
        "cell": finding.start.cell,
        "code": finding.code,
        "end_location": _location(finding.end),
        "filename": finding.path,
        "fix": _fix(finding.fix),
        "location": _location(finding.start),
        "message": finding.message,
        "name": finding.name,
        # A suppression on any line of the statement counts; the first line always does.
        "noqa_row": finding.start.line,
        "related": [
            {"cell": r.start.cell, "filename": r.path, "location": _location(r.start), "message": r.message}
            for r in finding.related
        ],
        "severity": finding.severity.value,
        "url": rule_url(finding.code),
    }


def _items(result: LintResult, extra: dict[Finding, dict[str, Any]] | None) -> list[dict[str, Any]]:
    items = []
    for finding in result.findings:
        item = finding_to_json(finding)
        if extra and finding in extra:
            item.update(extra[finding])
        items.append(item)
    return items


def render_json(result: LintResult, extra: dict[Finding, dict[str, Any]] | None = None) -> str:
    """``extra`` adds keys per finding (the verifier's ``verification`` object)."""
    return json.dumps(_items(result, extra), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def render_json_lines(result: LintResult, extra: dict[Finding, dict[str, Any]] | None = None) -> str:
    """One compact JSON object per line, as ruff's ``json-lines``; nothing at all for no findings."""
    lines = [
        json.dumps(item, ensure_ascii=False, sort_keys=True, separators=(",", ":")) for item in _items(result, extra)
    ]
    return "".join(line + "\n" for line in lines)
