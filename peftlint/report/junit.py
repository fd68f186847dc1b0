"""``--output-format junit``: JUnit XML for Jenkins, Azure DevOps, GitLab and other CI test reports.

One ``testsuite`` per file with findings (named by its path), one ``testcase`` per finding with a
``failure`` whose text is the finding and its notes; a file that could not be analysed is a testcase
with an ``error``. A run without findings or errors is one suite with one passing testcase, so a
reader that rejects an empty report still sees that the lint ran. ``classname`` is the path without
its extension (as ruff writes it: readers split class names at dots), ``file`` and ``line`` say where.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from peftlint.engine import LintResult
from peftlint.findings import FileError, Finding, Position
from peftlint.report.github import display_path

# Characters XML 1.0 cannot hold, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _where(position: Position) -> str:
    cell = f"cell {position.cell}:" if position.cell is not None else ""
    return f"{cell}{position.line}:{position.column}"


def _classname(path: str) -> str:
    stem, dot, suffix = path.rpartition(".")
    return stem if dot and "/" not in suffix else path


def _suite(parent: ET.Element, name: str, tests: int, failures: int, errors: int) -> ET.Element:
    return ET.SubElement(
        parent,
        "testsuite",
        {"name": _text(name), "tests": str(tests), "failures": str(failures), "errors": str(errors), "skipped": "0"},
    )


def _finding_case(suite: ET.Element, finding: Finding, path: str, root: str | None) -> None:
    attributes = {
        "name": _text(f"{finding.code} {finding.name} at {_where(finding.start)}"),
        "classname": _text(_classname(path)),
    }
    attributes["file"] = _text(path)
    if finding.start.cell is None:
        attributes["line"] = str(finding.start.line)
    case = ET.SubElement(suite, "testcase", attributes)
    body = [f"{path}:{_where(finding.start)}: {finding.code} {finding.message}"]
    body += [f"  {display_path(r.path, root)}:{_where(r.start)}: note: {r.message}" for r in finding.related]
    failure = ET.SubElement(case, "failure", {"message": _text(finding.message), "type": finding.code})
    failure.text = _text("\n".join(body))


def _error_case(suite: ET.Element, error: FileError, path: str) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        {"name": "file could not be analysed", "classname": _text(_classname(path)), "file": _text(path)},
    )
    ET.SubElement(case, "error", {"message": _text(error.reason), "type": "file-error"}).text = _text(
        f"{path}: {error.reason}"
    )


def render_junit(result: LintResult, root: str | None = None) -> str:
    by_path: dict[str, tuple[list[Finding], list[FileError]]] = {}
    for finding in sorted(result.findings, key=Finding.sort_key):
        by_path.setdefault(finding.path, ([], []))[0].append(finding)
    for error in result.errors:
        by_path.setdefault(error.path, ([], []))[1].append(error)
    failures = len(result.findings)
    errors = len(result.errors)
    tests = failures + errors or 1
    top = ET.Element(
        "testsuites",
        {"name": "peftlint", "tests": str(tests), "failures": str(failures), "errors": str(errors), "skipped": "0"},
    )
    for raw_path in sorted(by_path):
        found, failed = by_path[raw_path]
        path = display_path(raw_path, root)
        suite = _suite(top, path, len(found) + len(failed), len(found), len(failed))
        for finding in found:
            _finding_case(suite, finding, path, root)
        for error in failed:
            _error_case(suite, error, path)
    if not by_path:
        _passing(top, result.files_checked)
    ET.indent(top, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(top, encoding="unicode") + "\n"


def _passing(top: ET.Element, files: int) -> None:
    suite = _suite(top, "peftlint", 1, 0, 0)
    name = f"no problems found in {files} file{'s' if files != 1 else ''}"
    ET.SubElement(suite, "testcase", {"name": name, "classname": "peftlint"})
