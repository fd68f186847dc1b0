"""The rule catalog: every module here named ``peftNNN_*`` defines one ``Rule`` subclass.

Rules are discovered, not listed by hand: adding a rule means adding a module. Third-party rules
come from the ``peftlint.rules`` entry-point group, so a team can ship its own rules package.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

from peftlint.rules.base import Rule

ENTRY_POINT_GROUP = "peftlint.rules"


@cache
def all_rules() -> tuple[type[Rule], ...]:
    """peftlint's own rules, then every third-party rule a package registers in the
    ``peftlint.rules`` entry-point group (a Rule subclass, or a module defining some)."""
    found: list[type[Rule]] = []
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name.startswith("peft"):
            found += _rules_in(importlib.import_module(f"{__name__}.{module_info.name}"))
    own = {rule.code for rule in found}
    for rule in plugin_rules():
        if rule.code not in own:
            own.add(rule.code)
            found.append(rule)
    return tuple(sorted(found, key=lambda rule: rule.code))


def plugin_rules() -> list[type[Rule]]:
    """Rules from installed packages; one that fails to load is reported once on stderr and left out."""
    import sys
    from importlib.metadata import entry_points

    found: list[type[Rule]] = []
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            loaded = entry.load()
        except Exception as error:  # noqa: BLE001 - a broken plugin must not stop the run
            print(f"peftlint: warning: rule plugin {entry.name!r} did not load: {error}", file=sys.stderr)
            continue
        if isinstance(loaded, type) and issubclass(loaded, Rule):
            found.append(loaded)
        elif isinstance(loaded, ModuleType):
            found += _rules_in(loaded)
    return [rule for rule in found if getattr(rule, "code", None)]


def _rules_in(module: ModuleType) -> list[type[Rule]]:
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Rule)
        and value is not Rule
        and value.__module__ == module.__name__
    ]


def code_matches(pattern: str, code: str) -> bool:
    """A rule code or prefix (``PEFT``, ``PEFT00``, ``PEFT001``), or ``ALL``, matching ``code``."""
    pattern = pattern.upper()
    return pattern == "ALL" or code.upper().startswith(pattern)


def known_pattern(pattern: str) -> bool:
    """Whether ``pattern`` names some rule (a code, a prefix of one, or ``ALL``)."""
    return bool(pattern) and any(code_matches(pattern, rule.code) for rule in all_rules())


def rule_by_code(code: str) -> type[Rule] | None:
    for rule in all_rules():
        if rule.code == code.upper():
            return rule
    return None


def select_rules(select: tuple[str, ...], ignore: tuple[str, ...]) -> tuple[type[Rule], ...]:
    """Codes or prefixes (``PEFT``, ``PEFT00``, ``PEFT001``); the longest matching prefix wins."""

    def strength(patterns: tuple[str, ...], code: str) -> int:
        matches = [len(p) for p in patterns if code_matches(p, code)]
        return max(matches, default=-1)

    chosen = []
    for rule in all_rules():
        selected = strength(select, rule.code)
        if selected >= 0 and selected > strength(ignore, rule.code):
            chosen.append(rule)
    return tuple(chosen)
