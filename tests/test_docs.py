"""Rule pages under docs/rules/ are generated from the rules' own documentation and kept current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from peftlint.docs import INDEX, pages, rule_page, stale, write
from peftlint.rules import all_rules

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "rules"


def test_rule_pages_are_up_to_date() -> None:
    """Fails when a rule's docstring changed without `python -m peftlint.docs` being run."""
    assert stale(DOCS, pages(all_rules())) == []
    check = subprocess.run([sys.executable, "-m", "peftlint.docs", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert (check.returncode, check.stderr) == (0, "")


def test_every_discovered_rule_has_a_page_made_of_its_docstring() -> None:
    rules = all_rules()
    assert sorted(pages(rules)) == sorted([f"{rule.code}.md" for rule in rules] + [INDEX])
    index = (DOCS / INDEX).read_text(encoding="utf-8")
    for rule in rules:
        page = rule_page(rule)
        assert page.splitlines()[2] == f"# {rule.code}: {rule.name}"
        assert rule.documentation() in page and rule.summary in page
        assert f"| [{rule.code}]({rule.code}.md) | {rule.name} |" in index


def test_check_names_a_changed_missing_or_orphaned_page(tmp_path: Path) -> None:
    wanted = pages(all_rules())
    assert sorted(write(tmp_path, wanted)) == sorted(wanted)
    assert stale(tmp_path, wanted) == [] and write(tmp_path, wanted) == []
    (tmp_path / "PEFT001.md").write_text("edited by hand\n", encoding="utf-8")
    (tmp_path / "PEFT002.md").unlink()
    (tmp_path / "PEFT999.md").write_text("a rule that is gone\n", encoding="utf-8")
    check = subprocess.run(
        [sys.executable, "-m", "peftlint.docs", "--check", "--directory", str(tmp_path)], capture_output=True, text=True
    )
    assert check.returncode == 1
    assert [line.split(" is out of date")[0] for line in check.stderr.splitlines()] == [
        str(tmp_path / name) for name in ("PEFT001.md", "PEFT002.md", "PEFT999.md")
    ]
    regenerate = subprocess.run(
        [sys.executable, "-m", "peftlint.docs", "--directory", str(tmp_path)], capture_output=True, text=True
    )
    assert regenerate.returncode == 0 and "removed" in regenerate.stdout
    assert stale(tmp_path, wanted) == [] and not (tmp_path / "PEFT999.md").exists()
