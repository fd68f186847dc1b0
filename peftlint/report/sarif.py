"""``--format sarif``: SARIF 2.1.0 as GitHub code scanning reads it.

Every rule passed is described in ``tool.driver.rules`` from its own documentation (the same text
``peftlint explain`` prints; ``helpUri`` links to its page under ``docs/rules/``); every finding is a
result with a repo-relative ``%SRCROOT%`` URI, a region, its related locations and a fingerprint that
survives code moving up or down.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from peftlint import __version__
from peftlint.docs import rule_url
from peftlint.engine import LintResult
from peftlint.findings import Finding, Position, Related, Severity
from peftlint.rules.base import Rule

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://pypi.org/project/peftlint/"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "peftlint/v1"
RULE_TAGS = ("peft", "correctness")

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_HEADING = re.compile(r"^##\s+(.+?)\s*$", re.MULTILINE)
_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


def level(severity: Severity) -> str:
    return _LEVELS.get(severity, "warning")


def doc_section(documentation: str, heading: str) -> str:
    """The body of ``## heading`` in a rule's documentation ('' when absent)."""
    matches = list(_HEADING.finditer(documentation))
    for index, match in enumerate(matches):
        if match.group(1).lower() == heading.lower():
            end = matches[index + 1].start() if index + 1 < len(matches) else len(documentation)
            return documentation[match.end() : end].strip()
    return ""


def plain_text(markdown: str) -> str:
    """Markdown prose as plain text: backticks and link syntax dropped, lines of a paragraph joined."""
    text = _LINK.sub(r"\1 (\2)", markdown.replace("`", ""))
    paragraphs = [" ".join(block.split()) for block in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)


def artifact_uri(path: str, root: str | None = None) -> tuple[str, bool]:
    """``(uri, under_root)``: a forward-slash URI relative to ``root`` (default: the working
    directory), or an absolute ``file:`` URI for a file outside it."""
    base = os.path.abspath(root if root is not None else os.getcwd())
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, base)
    except ValueError:  # another drive on Windows
        relative = None
    if relative is None or relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return Path(absolute).as_uri(), False
    return quote(relative.replace(os.sep, "/"), safe="/"), True


def _artifact(path: str, root: str | None) -> dict[str, Any]:
    uri, relative = artifact_uri(path, root)
    return {"uri": uri, "uriBaseId": SRCROOT} if relative else {"uri": uri}


def _cell_properties(start: Position, end: Position | None = None) -> dict[str, Any] | None:
    if start.cell is None:
        return None
    properties: dict[str, Any] = {"cell": start.cell}
    if end is not None and end.cell is not None and end.cell != start.cell:
        properties["endCell"] = end.cell
    return properties


def _location(path: str, start: Position, end: Position | None, root: str | None) -> dict[str, Any]:
    region: dict[str, int] = {"startLine": start.line, "startColumn": start.column}
    if end is not None:
        region["endLine"] = end.line
        region["endColumn"] = end.column
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": _artifact(path, root), "region": region}}
    properties = _cell_properties(start, end)
    if properties:
        location["properties"] = properties
    return location


def _related(index: int, related: Related, root: str | None) -> dict[str, Any]:
    location = _location(related.path, related.start, None, root)
    return {"id": index, **location, "message": {"text": related.message}}


def fingerprint(finding: Finding, root: str | None = None, occurrence: int = 0) -> str:
    """Stable across runs and line moves: the code, the relative path, the message, and which of
    several identical findings of one file this is (in file order)."""
    uri, _ = artifact_uri(finding.path, root)
    material = "\0".join((finding.code, uri, finding.message, str(occurrence)))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _rule(rule: type[Rule]) -> dict[str, Any]:
    documentation = rule.documentation()
    what = doc_section(documentation, "What it does")
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": plain_text(what) if what else rule.summary},
        "helpUri": rule_url(rule.code),
        "help": {"text": documentation or rule.summary, "markdown": documentation or rule.summary},
        "defaultConfiguration": {"level": level(rule.severity)},
        "properties": {"tags": list(RULE_TAGS)},
    }


def _result(finding: Finding, index: int | None, root: str | None, occurrence: int) -> dict[str, Any]:
    result: dict[str, Any] = {"ruleId": finding.code}
    if index is not None:
        result["ruleIndex"] = index
    result["level"] = level(finding.severity)
    result["message"] = {"text": finding.message}
    result["locations"] = [_location(finding.path, finding.start, finding.end, root)]
    if finding.related:
        result["relatedLocations"] = [_related(i, r, root) for i, r in enumerate(finding.related, start=1)]
    result["partialFingerprints"] = {FINGERPRINT_KEY: fingerprint(finding, root, occurrence)}
    return result


def _invocation(result: LintResult, root: str | None) -> dict[str, Any]:
    invocation: dict[str, Any] = {"executionSuccessful": not result.errors}
    if result.errors:
        invocation["toolExecutionNotifications"] = [
            {
                "level": "error",
                "message": {"text": f"could not analyse {error.path}: {error.reason}"},
                "locations": [{"physicalLocation": {"artifactLocation": _artifact(error.path, root)}}],
                "descriptor": {"id": "file-error"},
            }
            for error in result.errors
        ]
    return invocation


def render_sarif(result: LintResult, rules: Sequence[type[Rule]], root: str | None = None) -> str:
    """The run as one SARIF log; ``root`` is what URIs are relative to (default: the working directory)."""
    ordered = sorted({rule.code: rule for rule in rules}.values(), key=lambda rule: rule.code)
    indices = {rule.code: index for index, rule in enumerate(ordered)}
    seen: dict[tuple[str, str, str], int] = {}
    results = []
    for finding in sorted(result.findings, key=Finding.sort_key):
        key = (finding.code, artifact_uri(finding.path, root)[0], finding.message)
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        results.append(_result(finding, indices.get(finding.code), root, occurrence))
    log = {
        "$schema": SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "peftlint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(rule) for rule in ordered],
                    }
                },
                "invocations": [_invocation(result, root)],
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
