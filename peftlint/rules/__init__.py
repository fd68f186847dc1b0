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

    found: list[type[Rule]] = []
    for name, target in entry_points(ENTRY_POINT_GROUP):
        try:
            module, _, attribute = target.partition(":")
            loaded = importlib.import_module(module.strip())
            for part in filter(None, attribute.strip().split(".")):
                loaded = getattr(loaded, part)
        except Exception as error:  # noqa: BLE001 - a broken plugin must not stop the run
            print(f"peftlint: warning: rule plugin {name!r} did not load: {error}", file=sys.stderr)
            continue
        if isinstance(loaded, type) and issubclass(loaded, Rule):
            found.append(loaded)
        elif isinstance(loaded, ModuleType):
            found += _rules_in(loaded)
    return [rule for rule in found if getattr(rule, "code", None)]


def entry_points(group: str) -> list[tuple[str, str]]:
    """(name, "module:attribute") of every installed distribution's entry points in ``group``,
    first distribution on ``sys.path`` winning, sorted by name. What ``importlib.metadata`` gives,
    read straight from each ``.dist-info/entry_points.txt``: its import alone would cost a
    pre-commit run on a clean file more than the rest of peftlint's start."""
    import os
    import sys

    found: dict[str, str] = {}
    seen: set[str] = set()
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            distribution = name.split("-", 1)[0].lower().replace("_", "-")
            if distribution in seen:
                continue
            seen.add(distribution)
            try:
                with open(os.path.join(entry or ".", name, "entry_points.txt"), encoding="utf-8") as handle:
                    text = handle.read()
            except OSError:
                continue
            for key, value in _section(text, group):
                found.setdefault(key, value)
    return sorted(found.items())


def _section(text: str, group: str) -> list[tuple[str, str]]:
    """The ``key = value`` lines of one ``[group]`` of an ``entry_points.txt``."""
    found, inside = [], False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            inside = line[1:-1].strip() == group
        elif inside and "=" in line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            found.append((key.strip(), value.split("[", 1)[0].strip()))
    return found


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
    """Codes or prefixes (``PEFT``, ``PEFT00``, ``PEFT001``); the longest matching prefix wins. A
    rule that is not enabled by default is chosen only by its own full code."""

    def strength(patterns: tuple[str, ...], code: str) -> int:
        matches = [len(p) for p in patterns if code_matches(p, code)]
        return max(matches, default=-1)

    chosen = []
    for rule in all_rules():
        selected = strength(select, rule.code)
        if not rule.default_enabled and selected < len(rule.code):
            continue
        if selected >= 0 and selected > strength(ignore, rule.code):
            chosen.append(rule)
    return tuple(chosen)
