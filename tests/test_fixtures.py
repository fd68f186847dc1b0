"""Every ``# expect: CODE`` line of fixtures/ fires, nothing else does, and each run's whole
output (code, range, message, related notes, fix) is its snapshot.

Each top-level entry of ``fixtures/<rule>/`` is one run: a file, or a directory whose files are
linted together (cross-file cases). Beside it, ``<run>.expected`` holds what peftlint reports on
it, written for a reviewer to read without reading code; ``python -m pytest tests/test_fixtures.py
--update-snapshots`` rewrites every snapshot, and the diff is what a change did.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from peftlint import lint_paths
from peftlint.config import Settings
from peftlint.findings import Finding, Position
from peftlint.rules import all_rules

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# every rule, those off by default (selected by their own code) included
EVERY_RULE = Settings(select=tuple(rule.code for rule in all_rules()))
EXPECT = re.compile(r"#\s*expect:\s*((?:PEFT\d{3}[,\s]*)+)")


def _runs() -> list[Path]:
    return sorted(
        entry
        for folder in sorted(FIXTURES.iterdir())
        if folder.is_dir()
        for entry in folder.iterdir()
        if entry.suffix in (".py", ".ipynb") or entry.is_dir()
    )


def _lines(file: Path) -> list[tuple[int, int, str]]:
    """(cell, line, text): cell 0 for a .py file; for a notebook, its cells as Jupyter numbers them."""
    if file.suffix != ".ipynb":
        return [(0, n, text) for n, text in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1)]
    cells = json.loads(file.read_text(encoding="utf-8"))["cells"]
    found = []
    for index, cell in enumerate(cells, start=1):
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        found += [(index, n, text) for n, text in enumerate(source.splitlines(), start=1)]
    return found


def _expected(run: Path) -> set[tuple[str, int, int, str]]:
    files = sorted(p for p in run.rglob("*") if p.suffix in (".py", ".ipynb")) if run.is_dir() else [run]
    expected = set()
    for file in files:
        for cell, number, line in _lines(file):
            match = EXPECT.search(line)
            if match:
                for code in re.findall(r"PEFT\d{3}", match.group(1)):
                    expected.add((str(file), cell, number, code))
    return expected


def _where(position: Position, folder: Path, path: str) -> str:
    name = Path(path).resolve().relative_to(folder).as_posix()
    cell = f"cell {position.cell}:" if position.cell is not None else ""
    return f"{name}:{cell}{position.line}:{position.column}"


def snapshot(findings: Sequence[Finding], folder: Path) -> str:
    """What peftlint reports on a run, one block per finding, paths relative to the rule's folder."""
    blocks = []
    for finding in findings:
        lines = [
            f"{finding.code} {finding.name} [{finding.severity.value}]",
            f"  at {_where(finding.start, folder, finding.path)} to {_where(finding.end, folder, finding.path)}",
            f"  {finding.message}",
        ]
        lines += [f"  note: {_where(r.start, folder, r.path)}: {r.message}" for r in finding.related]
        if finding.fix is not None:
            lines.append(f"  fix ({'safe' if finding.fix.safe else 'unsafe'}): {finding.fix.message}")
            for edit in finding.fix.edits:
                where = f"{_where(edit.start, folder, edit.path)} to {_where(edit.end, folder, edit.path)}"
                lines.append(f"    replace {where} with {edit.content!r}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n" if blocks else "(no findings)\n"


@pytest.mark.parametrize("run", _runs(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture(run: Path, update_snapshots: bool) -> None:
    result = lint_paths([str(run)], EVERY_RULE)
    assert not result.errors, result.errors
    code_under_test = run.parent.name.upper()
    actual = {(str(Path(f.path).resolve()), f.start.cell or 0, f.start.line, f.code) for f in result.findings}
    expected = _expected(run)
    assert actual == expected, f"unexpected: {sorted(actual - expected)}\nmissing: {sorted(expected - actual)}"
    assert all(f.related for f in result.findings), "every finding names where its cause is"
    if run.name.startswith("fire"):
        assert any(code == code_under_test for *_, code in expected), "a fire_ fixture marks a finding of its rule"
    else:
        assert not any(code == code_under_test for *_, code in expected), "an ok_ fixture must not expect its rule"
    stored = run.parent / f"{run.name}.expected"
    output = snapshot(result.findings, run.parent)
    if update_snapshots:
        stored.write_text(output, encoding="utf-8")
    assert stored.is_file(), "no snapshot: run python -m pytest tests/test_fixtures.py --update-snapshots"
    assert output == stored.read_text(encoding="utf-8"), f"{stored.name} is out of date (--update-snapshots)"


def test_every_snapshot_belongs_to_a_run() -> None:
    runs = {run.parent / f"{run.name}.expected" for run in _runs()}
    assert set(FIXTURES.glob("*/*.expected")) == runs


def test_fixture_counts() -> None:
    """The catalog's promise: enough firing and look-alike cases per rule."""
    minimum = {"peft001": (15, 15), "peft002": (10, 10)}
    for rule, (fire, ok) in minimum.items():
        runs = [run.name for run in _runs() if run.parent.name == rule]
        assert sum(name.startswith("fire") for name in runs) >= fire
        assert sum(name.startswith("ok") for name in runs) >= ok
