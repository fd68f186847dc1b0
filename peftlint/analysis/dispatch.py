"""Calls on objects of the run that a summary would get wrong: a method of one of several classes
(which class runs is a branch of its own), and a method that files what it is given in a
container of its object (a registry)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from peftlint.analysis import conditions
from peftlint.analysis.values import UNKNOWN, UNKNOWN_VALUE, Guard, Kind, Value, Values, put_entry

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.frames import Function


def dispatch_guards(callees: Values, func: cst.CSTNode) -> dict[int, list[Guard]]:
    """``ck.save(model)`` where ``ck`` is one of several classes' objects (``CHECKPOINTERS[name](path)``):
    each class's method runs under a guard that ``ck`` is of that class and of no other, so what
    one class's ``save`` does and another's ``load`` does are told apart as exclusive branches are."""
    key = conditions.key_of(func.value) if isinstance(func, cst.Attribute) and len(callees) > 1 else None
    if key is None:
        return {}
    classes: dict[int, str] = {}
    for callee in callees:
        if callee.kind is Kind.UNKNOWN:
            continue  # (a callable the analysis does not know does nothing it hears)
        this = callee.fact("self") if callee.kind is Kind.FUNCTION else None
        names = {v.fact("class").name for v in this or () if v.fact("class") is not None}
        if len(names) != 1 or len(this) != len(names):
            return {}
        classes[id(callee)] = names.pop()
    distinct = sorted(set(classes.values()))
    if len(distinct) < 2:
        return {}
    text = {name: f"type({key}) is {name}" for name in distinct}
    return {i: [(text[n], True), *((text[o], False) for o in distinct if o != n)] for i, n in classes.items()}


def files_a_def(function: Function, site: CallSite) -> bool:
    """A method that stores into a container of its object (``self._items[key] = builder``)
    handed a def or class of the run (``MODELS.register("lora", build_lora)``) is followed: it
    files it where a later call (``MODELS.get("lora")``) finds it. A summary would only know
    that something unknown went in."""
    unit = function.source_unit
    if unit is None or not unit.stores_on_self:
        return False
    given = [value for values in (*site.args, *site.kwargs.values()) for value in values]
    return any(
        v.fact("function" if v.kind is Kind.FUNCTION else "class") is not None for v in given if v.kind in _FILED
    )


_FILED = frozenset({Kind.FUNCTION, Kind.CLASS})


def opened(value: Value) -> Value:
    """A dict with something unknown put in it under a key the summary does not know."""
    if value.kind is not Kind.DICT:
        return UNKNOWN_VALUE
    entries = value.fact("entries", ())
    return value.updated(entries=put_entry(entries, "*", dict(entries).get("*", frozenset()) | UNKNOWN), open=True)
