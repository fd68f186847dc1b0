"""A rule's documentation is checked by the engine: the code under ``## Example`` (what
``peftlint explain`` and the rule's page show as the misuse) gets the rule's finding, and the code
under ``## Fix`` gets none."""

from __future__ import annotations

import re

import pytest

from peftlint import lint_source
from peftlint.config import Settings
from peftlint.rules import all_rules
from peftlint.rules.base import Rule

_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _section(rule: type[Rule], heading: str) -> str:
    text = rule.documentation()
    start = text.index(f"## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


ANALYSED = [rule for rule in all_rules() if rule.analysed]


@pytest.mark.parametrize("rule", ANALYSED, ids=lambda rule: rule.code)
def test_the_example_is_reported_and_the_fix_is_not(rule: type[Rule]) -> None:
    example = _BLOCK.search(_section(rule, "Example"))
    fix = _BLOCK.search(_section(rule, "Fix"))
    assert example is not None and fix is not None, f"{rule.code} documents an example and a fix as code"
    selected = Settings(select=(rule.code,))  # a rule off by default runs when selected by its code
    assert rule.code in {f.code for f in lint_source(example.group(1), "example.py", selected).findings}
    assert rule.code not in {f.code for f in lint_source(fix.group(1), "fix.py", selected).findings}
