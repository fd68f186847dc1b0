"""Every fix a fixture's snapshot offers is applied, on a copy of the fixture: the file is written
(no edit refused), the finding it fixes is gone when the copy is linted again, and nothing else
changes. A snapshot only shows the edit; this test shows the edit works (PEFT004's insertion,
``model = `` before ``model.merge_and_unload()``, was refused for a while and no test saw it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_fixtures import EVERY_RULE, _runs

from peftlint import lint_paths
from peftlint.fix import plan_fixes, write
from peftlint.rules import all_rules


def _with_fixes() -> list[Path]:
    return [run for run in _runs() if "\n  fix (" in (run.parent / f"{run.name}.expected").read_text(encoding="utf-8")]


@pytest.mark.parametrize("run", _with_fixes(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_fix_applies_and_removes_its_finding(run: Path, tmp_path: Path) -> None:
    copy = tmp_path / run.name
    if run.is_dir():
        shutil.copytree(run, copy)
    else:
        shutil.copy(run, copy)
    before = lint_paths([str(copy)], EVERY_RULE)
    fixed_findings = [f for f in before.findings if f.fix is not None]
    assert fixed_findings, "the snapshot offers a fix: linting the copy must too"
    planned, failed = plan_fixes(before.findings, unsafe=True)
    assert failed == [], failed
    for fixed in planned:
        write(fixed)
    after = lint_paths([str(copy)], EVERY_RULE)
    assert not after.errors, after.errors
    left = {(f.path, f.code, f.start.cell, f.start.line) for f in after.findings}
    applied = {finding for fixed in planned for finding in fixed.applied}
    assert applied, "some fix was applied"
    for finding in applied:
        assert (finding.path, finding.code, finding.start.cell, finding.start.line) not in left, finding.message


def test_every_rule_with_a_fix_has_a_fixture_whose_fix_is_applied() -> None:
    offering = {rule.code.lower() for rule in all_rules() if rule.fix_safety is not None}
    assert offering, "some rule offers a fix"
    assert offering <= {run.parent.name for run in _with_fixes()}
