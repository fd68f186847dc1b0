"""Reporters: each a pure function from a lint result (and the quoted source lines) to the text to print."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peftlint.engine import LintResult
    from peftlint.findings import Finding
    from peftlint.snippets import SourceLines
    from peftlint.verify import Verdict

FORMATS = ("full", "concise", "json", "json-lines", "sarif", "github", "gitlab", "junit")
ALIASES = {"text": "concise"}  # the one-line form's name before ``full`` became the default
# Formats that quote the source: the caller reads it (``peftlint.snippets.read_sources``).
QUOTING = frozenset({"full", "gitlab"})


def render(
    result: LintResult,
    output_format: str,
    *,
    statistics: bool,
    color: bool,
    fixed: int,
    verdicts: Mapping[Finding, Verdict] | None = None,
    sources: Mapping[str, SourceLines] | None = None,
) -> str:
    """``verdicts`` (from --verify) add a ``verification`` object (json) or a ``verified:`` line (text);
    ``sources`` are the lines the ``full`` format shows and ``gitlab`` fingerprints."""
    output_format = ALIASES.get(output_format, output_format)
    if statistics:
        return render_statistics(result, output_format)
    if output_format in ("json", "json-lines"):
        from peftlint.report.json import render_json, render_json_lines

        extra = {f: {"verification": v.to_json()} for f, v in verdicts.items()} if verdicts else None
        return (render_json if output_format == "json" else render_json_lines)(result, extra)
    if output_format == "sarif":
        from peftlint.report.sarif import render_sarif
        from peftlint.rules import all_rules

        return render_sarif(result, all_rules())
    if output_format == "github":
        from peftlint.report.github import render_github

        return render_github(result)
    if output_format == "gitlab":
        from peftlint.report.gitlab import render_gitlab

        return render_gitlab(result, sources)
    if output_format == "junit":
        from peftlint.report.junit import render_junit

        return render_junit(result)
    notes = {f: v.summary() for f, v in verdicts.items()} if verdicts else None
    if output_format == "concise":
        from peftlint.report.text import render_text

        return render_text(result, color=color, fixed=fixed, notes=notes)
    from peftlint.report.full import render_full

    return render_full(result, sources, color=color, fixed=fixed, notes=notes)


def render_statistics(result: LintResult, output_format: str) -> str:
    """Findings per rule, most frequent first (``--statistics``)."""
    import json

    from peftlint.rules import rule_by_code

    counts = Counter(f.code for f in result.findings)
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if output_format in ("json", "json-lines"):
        items = [{"code": code, "name": rule_by_code(code).name, "count": n} for code, n in rows]  # type: ignore[union-attr]
        if output_format == "json-lines":
            return "".join(json.dumps(item, separators=(",", ":")) + "\n" for item in items)
        return json.dumps(items, indent=2) + "\n"
    width = max((len(str(n)) for _, n in rows), default=1)
    lines = [f"{n:>{width}}  {code}  {rule_by_code(code).name}" for code, n in rows]  # type: ignore[union-attr]
    return "".join(line + "\n" for line in lines)
