"""The verbs of the registry for records: dataclasses and namedtuples, their fields' defaults, and
the copies ``_replace``/``dataclasses.replace`` make. (Their instances are made in objects.py.)"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import libcst as cst

from peftlint.analysis import conditions, registry
from peftlint.analysis.values import UNKNOWN, Kind, Value, Values

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.interpreter import Interpreter


def named_tuple(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``namedtuple("Setup", ["model", "tokenizer"])`` (or ``"model tokenizer"``, or typing's
    ``NamedTuple("Setup", [("model", Any), ...])``): a class built like a dataclass, whose instances
    carry their fields as attributes."""
    from peftlint.analysis.frames import ClassInfo

    name = site.node.args[0].value if site.node.args else None
    fields_node = site.node.args[1].value if len(site.node.args) > 1 else None
    fields = _field_names(fields_node)
    if not isinstance(name, cst.SimpleString) or fields is None:
        return UNKNOWN
    info = ClassInfo(
        name=str(conditions.evaluated(name)),
        parent=interpreter.frame,
        fields=fields,
        decorators=("dataclasses.dataclass",),
    )
    return frozenset({Value(Kind.CLASS, site=("class", id(site.node)), facts=(("class", info),))})


def _field_names(node: cst.BaseExpression | None) -> list[str] | None:
    """The field names of a namedtuple: a literal list/tuple of names or of (name, type) pairs, or
    one string of names separated by spaces or commas."""
    if isinstance(node, cst.SimpleString):
        text = conditions.evaluated(node)
        return text.replace(",", " ").split() if isinstance(text, str) else None
    if not isinstance(node, (cst.List, cst.Tuple)):
        return None
    names = []
    for element in node.elements:
        value = element.value
        if isinstance(value, cst.Tuple) and value.elements:
            value = value.elements[0].value
        if not isinstance(value, cst.SimpleString) or not isinstance(conditions.evaluated(value), str):
            return None
        names.append(conditions.evaluated(value))
    return names


def field_default(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``field(default=x)`` is ``x``; ``field(default_factory=PathsConfig)`` what calling it makes (a
    dataclass field's default, made once here for every instance)."""
    if "default" in site.kwargs:
        return site.kwargs["default"]
    factory = site.kwargs.get("default_factory")
    if not factory or site.spread:
        return UNKNOWN
    return interpreter.call_values(factory, site.with_arguments((), {}), None, site.node.func)


def replaced(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``plan._replace(stages=stages)`` of a namedtuple, ``dataclasses.replace(cfg, lr=1e-4)``: a new
    record of the same class, with the original's fields but for those given."""
    originals = site.receiver if site.method in api.methods else site.role(api, "record")
    if site.spread or not originals or any(v.kind is not Kind.INSTANCE or v.fact("class") is None for v in originals):
        return UNKNOWN
    return frozenset(replace(v.with_attrs(site.kwargs), site=("replaced", id(site.node), v.site)) for v in originals)
