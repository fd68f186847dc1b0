"""Reporters: each a pure function from a lint result to the text to print."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from peftlint.engine import LintResult
    from peftlint.findings import Finding
    from peftlint.verify import Verdict


def render(
    result: LintResult,
    output_format: str,
    *,
    statistics: bool,
    color: bool,
    fixed: int,
    verdicts: Mapping[Finding, Verdict] | None = None,
) -> str:
    """``verdicts`` (from --verify) add a ``verification`` object (json) or a ``verified:`` line (text)."""
    if statistics:
        return render_statistics(result, output_format)
    if output_format == "json":
        from peftlint.report.json import render_json

        extra = {f: {"verification": v.to_json()} for f, v in verdicts.items()} if verdicts else None
        return render_json(result, extra)
    if output_format == "sarif":
        from peftlint.report.sarif import render_sarif
        from peftlint.rules import all_rules

        return render_sarif(result, all_rules())
    if output_format == "github":
        from peftlint.report.github import render_github

        return render_github(result)
    from peftlint.report.text import render_text

    notes = {f: v.summary() for f, v in verdicts.items()} if verdicts else None
    return render_text(result, color=color, fixed=fixed, notes=notes)


def render_statistics(result: LintResult, output_format: str) -> str:
    """Findings per rule, most frequent first (``--statistics``)."""
    import json

    from peftlint.rules import rule_by_code

    counts = Counter(f.code for f in result.findings)
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if output_format == "json":
        items = [{"code": code, "name": rule_by_code(code).name, "count": n} for code, n in rows]  # type: ignore[union-attr]
        return json.dumps(items, indent=2) + "\n"
    width = max((len(str(n)) for _, n in rows), default=1)
    lines = [f"{n:>{width}}  {code}  {rule_by_code(code).name}" for code, n in rows]  # type: ignore[union-attr]
    return "".join(line + "\n" for line in lines)
