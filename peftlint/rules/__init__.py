"""The rule catalog: every module here named ``peftNNN_*`` defines one ``Rule`` subclass.

Rules are discovered, not listed by hand: adding a rule means adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from peftlint.rules.base import Rule


@cache
def all_rules() -> tuple[type[Rule], ...]:
    found: list[type[Rule]] = []
    for module_info in pkgutil.iter_modules(__path__):
        if not module_info.name.startswith("peft"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Rule)
                and value is not Rule
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return tuple(sorted(found, key=lambda rule: rule.code))


def rule_by_code(code: str) -> type[Rule] | None:
    for rule in all_rules():
        if rule.code == code.upper():
            return rule
    return None


def select_rules(select: tuple[str, ...], ignore: tuple[str, ...]) -> tuple[type[Rule], ...]:
    """Codes or prefixes (``PEFT``, ``PEFT00``, ``PEFT001``); the longest matching prefix wins."""

    def strength(patterns: tuple[str, ...], code: str) -> int:
        matches = [len(p) for p in patterns if code.startswith(p.upper()) or p.upper() == "ALL"]
        return max(matches, default=-1)

    chosen = []
    for rule in all_rules():
        selected = strength(select, rule.code)
        if selected >= 0 and selected > strength(ignore, rule.code):
            chosen.append(rule)
    return tuple(chosen)
