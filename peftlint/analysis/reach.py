"""Which defs are worth analysing on their own: those that can reach a call some rule needs.

A def reaches when it calls (by the ``f`` of ``f(...)`` or ``x.f(...)``) a trigger: a call the
enabled rules report at or depend on (the registry says which names those are), a name with
``Peft`` in it, or a def of the file (a method of any class, matched by name) that reaches. A
conservative over-approximation on the pre-screen's call names: a def that cannot reach is never
parsed, and nothing in it could have been reported.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from peftlint.analysis.hooks import hooks_run_by
from peftlint.analysis.prescreen import CLASS, DEF, Screen, Unit
from peftlint.analysis.registry import PEFT_HELPER_CALLS


class Reach:
    def __init__(
        self,
        screen: Screen,
        triggers: frozenset[str],
        producers: frozenset[str] = frozenset(),
        member_triggers: frozenset[str] = frozenset(),
        helpers: frozenset[str] = frozenset(),
    ) -> None:
        # ``from peft import get_peft_model as wrap``: ``wrap(...)`` is a call of the same name
        aliases = {local: qualname.rsplit(".", 1)[-1] for local, qualname in screen.imports.items()}
        self.triggers = triggers | helpers | {local for local, name in aliases.items() if name in triggers}
        # names the file imports from modules of the run that reach a call some rule needs
        # (admission.py): followed from a def analysed on its own, whatever they make
        self.helpers = helpers
        # a method sees what ``__init__`` put on ``self`` (a PEFT model): its own calls count too
        self.member_triggers = self.triggers | member_triggers
        producers = producers | triggers
        self.producers = producers | {local for local, name in aliases.items() if name in producers}
        self.defined: dict[str, list[Unit]] = {}
        for unit in screen.units:
            if unit.kind == DEF and unit.name:
                self.defined.setdefault(unit.name, []).append(unit)
            elif unit.kind == CLASS and unit.name:
                members = unit.members or [unit]
                self.defined.setdefault(unit.name, []).extend(members)
                for member in unit.members:
                    if member.kind == DEF and member.name:
                        self.defined.setdefault(member.name, []).append(member)
        # the defs a call of something unknown may run: those the file names as values
        self.taken = [unit for name in sorted(screen.taken) for unit in self.defined.get(name, ())]
        # a helper module's functions taken as values (``PHASES = (bootstrap.init, ...)``)
        self.helpers_taken = not helpers.isdisjoint(screen.taken_from) or not helpers.isdisjoint(screen.taken)
        self.imports = frozenset(screen.imports)
        self._known: dict[tuple[int, bool], bool] = {}
        self._wraps: dict[int, bool] = {}
        self._nodes: dict[int, tuple[cst.CSTNode, bool]] = {}

    def unit_reaches(self, unit: Unit) -> bool:
        """The unit can reach a call some rule reports at: worth analysing on its own."""
        return self._cached(unit, broad=False)

    def unit_produces(self, unit: Unit) -> bool:
        """The unit can reach a call that makes what some rule looks for: worth following into."""
        return self._cached(unit, broad=True)

    def unit_wraps(self, unit: Unit) -> bool:
        """The unit can reach a call that gives a model PEFT layers (``get_peft_model``...)."""
        known = self._wraps.get(id(unit))
        if known is None:
            seen: set[int] = set()
            stack, known = [unit], False
            while stack and not known:
                current = stack.pop()
                if id(current) not in seen:
                    seen.add(id(current))
                    known = not PEFT_HELPER_CALLS.isdisjoint(current.calls)
                    stack.extend(u for name in current.calls for u in self.callees(name))
            self._wraps[id(unit)] = known
        return known

    def _cached(self, unit: Unit, broad: bool) -> bool:
        key = (id(unit), broad)
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = self._search(unit, broad)
        return known

    def _search(self, start: Unit, broad: bool) -> bool:
        seen: set[int] = set()
        stack = [start]
        while stack:
            unit = stack.pop()
            if id(unit) in seen:
                continue
            seen.add(id(unit))
            if self._known.get((id(unit), broad)):
                return True
            calls = unit.calls if not unit.members else set().union(*(m.calls for m in unit.members))
            owners = unit.owners if not unit.members else set().union(*(m.owners for m in unit.members))
            # ``fit.run()`` of a module of the run admission named (``import fit``): a helper's call
            if (
                self.triggered(calls, broad)
                or not self.helpers.isdisjoint(owners)
                or (not broad and (unit.member or unit.kind == CLASS) and not self.member_triggers.isdisjoint(calls))
            ):
                return True
            for name in calls:
                stack.extend(self.callees(name))
            if unit.member and unit.parameters and unit.parameters[0] == "cls" and "cls" in calls:
                stack.extend(self.callees("__init__"))  # ``obj = cls(**kwargs)`` in a classmethod
            if (self.taken or self.helpers_taken) and self.calls_unknown(unit):
                if self.helpers_taken:
                    return True  # ``phase()`` over them may run one
                stack.extend(self.taken)
        return False

    def calls_unknown(self, unit: Unit) -> bool:
        """The unit calls something that is neither a def, a class, an import nor a builtin
        (``fn(model)`` of a parameter, ``HOOKS[event](model)``): it may run a def taken as a value."""
        units = unit.members or [unit]
        return any(u.indirect or not self.imports.issuperset(u.dynamic) for u in units)

    def callees(self, name: str) -> list[Unit]:
        """The defs of the file a call by ``name`` can run: those of that name, the Trainer
        overrides a Trainer method calls (``train`` runs ``_load_from_checkpoint``, ``_save``), and
        the events ``train`` fires on the trainer's callbacks (``on_train_end``)."""
        found = list(self.defined.get(name, ()))
        for hook in hooks_run_by(name):
            found += self.defined.get(hook, ())
        return found

    def triggered(self, calls: set[str], broad: bool = False) -> bool:
        names = self.producers if broad else self.triggers
        return not names.isdisjoint(calls) or any("Peft" in name for name in calls)

    def method_triggered(self, calls: set[str]) -> bool:
        """A method makes a call some rule reports at (it sees what ``__init__`` set on ``self``)."""
        return self.triggered(calls) or not self.member_triggers.isdisjoint(calls)

    def node_reaches(self, node: cst.FunctionDef, parsed: Any) -> bool:
        """A def met inside a unit (a nested def, or any def of a file parsed whole)."""
        key = id(node)
        held = self._nodes.get(key)
        known = held[1] if held is not None and held[0] is node else None  # (an id is reused once freed)
        if known is None:
            calls = call_names(node)
            method = bool(node.params.params) and node.params.params[0].name.value == "self"
            known = (
                self.triggered(calls)
                or (method and not self.member_triggers.isdisjoint(calls))
                or any(self.unit_reaches(unit) for name in calls for unit in self.callees(name))
            )
            self._nodes[key] = (node, known)
        return known


def call_names(node: cst.CSTNode) -> set[str]:
    """The ``f`` of every ``f(...)`` and ``x.f(...)`` under ``node``, and Peft annotations."""
    found: set[str] = set()
    stack: list[Any] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Call):
            func = current.func
            if isinstance(func, cst.Name):
                found.add(func.value)
            elif isinstance(func, cst.Attribute):
                found.add(func.attr.value)
        elif isinstance(current, cst.Annotation):
            annotation = current.annotation
            if isinstance(annotation, cst.Name) and "Peft" in annotation.value:
                found.add(annotation.value)
            elif isinstance(annotation, cst.Attribute) and "Peft" in annotation.attr.value:
                found.add(annotation.attr.value)
        if isinstance(current, cst.CSTNode):
            stack.extend(current.children)
    return found


class Everything(Reach):
    """No pruning: every def is analysed (a file CPython could not parse, or tests)."""

    def __init__(self) -> None:
        self.triggers = self.producers = self.member_triggers = self.helpers = frozenset()
        self.helpers_taken = False
        self.defined = {}
        self.taken = []
        self.imports = frozenset()
        self._known = {}
        self._wraps = {}
        self._nodes = {}

    def unit_reaches(self, unit: Unit) -> bool:
        return True

    def unit_produces(self, unit: Unit) -> bool:
        return True

    def method_triggered(self, calls: set[str]) -> bool:
        """A method makes a call some rule reports at (it sees what ``__init__`` set on ``self``)."""
        return self.triggered(calls) or not self.member_triggers.isdisjoint(calls)

    def node_reaches(self, node: cst.FunctionDef, parsed: Any) -> bool:
        return True
