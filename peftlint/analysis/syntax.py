"""Walks over libcst trees that every part of the analysis may need, written once."""

from __future__ import annotations

from typing import Any

import libcst as cst

_SKIP_FIELDS = frozenset({"whitespace", "lpar", "rpar", "comma", "semicolon", "leading_lines", "header", "footer"})


def identifiers_in(node: cst.CSTNode) -> frozenset[str]:
    """Every identifier a function's body mentions (attribute names included: an over-estimate)."""
    found: set[str] = set()
    stack: list[Any] = [node]
    while stack:
        current = stack.pop()
        kind = type(current)  # exact types: libcst's node classes are ABCs, slow to isinstance
        if kind is cst.Name:
            found.add(current.value)
        elif kind is list or kind is tuple:
            stack.extend(current)
        else:
            stack.extend([getattr(current, name) for name in _fields(kind)])
    return frozenset(found)


_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(kind: type) -> tuple[str, ...]:
    found = _FIELDS.get(kind)
    if found is None:
        import dataclasses

        found = _FIELDS[kind] = (
            tuple(
                f.name
                for f in dataclasses.fields(kind)  # type: ignore[arg-type]
                if not f.name.startswith("whitespace") and f.name not in _SKIP_FIELDS
            )
            if issubclass(kind, cst.CSTNode)
            else ()  # a string, a token, None, a sentinel: nothing under it
        )
    return found


def target_names(target: cst.BaseExpression) -> set[str]:
    """The names an assignment or ``for`` target binds (``a``, ``a, (b, c)``)."""
    if isinstance(target, (cst.Tuple, cst.List)):
        return {name for element in target.elements for name in target_names(element.value)}
    return {target.value} if isinstance(target, cst.Name) else set()


def flatten_targets(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The single targets of an assignment, ``for`` or ``del`` target (``a, (b, self.c)``)."""
    if isinstance(node, cst.Del):
        return flatten_targets(node.target)
    if isinstance(node, (cst.Tuple, cst.List)):
        return [leaf for element in node.elements for leaf in flatten_targets(element.value)]
    return [node]


def names_assigned(body: cst.CSTNode) -> frozenset[str]:
    """The plain names a block assigns (``acc = evaluate(...)``, ``i += 1``, a ``for`` target),
    not inside a def, class or lambda in it (a walk of the node fields, as identifiers_in's:
    libcst's ``children`` builds a list through a visitor at every node, ten times slower)."""
    return _names(body, every=False)


def names_bound(body: cst.CSTNode) -> frozenset[str]:
    """Every name a block binds, for Python's rule that such a name is local to the function:
    names_assigned's, and the names of defs and classes in it, imports, ``with ... as``,
    ``except ... as`` and ``:=`` targets (the bodies of the defs, classes and lambdas not entered)."""
    return _names(body, every=True)


def _names(body: cst.CSTNode, every: bool) -> frozenset[str]:
    found: set[str] = set()
    stack: list[Any] = [body]
    while stack:
        current = stack.pop()
        kind = type(current)  # exact types, as in identifiers_in
        if kind is list or kind is tuple:
            stack.extend(current)
            continue
        if kind is cst.Assign:
            for target in current.targets:
                found |= target_names(target.target)
        elif kind is cst.AugAssign or kind is cst.AnnAssign or kind is cst.For:
            found |= target_names(current.target)
        elif kind is cst.FunctionDef or kind is cst.ClassDef or kind is cst.Lambda:
            if every and kind is not cst.Lambda:
                found.add(current.name.value)
            continue
        elif every and (kind is cst.Import or kind is cst.ImportFrom):
            found |= _imported_names(current)
        elif every and (kind is cst.AsName or kind is cst.NamedExpr):
            found |= target_names(current.name if kind is cst.AsName else current.target)
        stack.extend([getattr(current, name) for name in _fields(kind)])
    return frozenset(found)


def _imported_names(node: cst.Import | cst.ImportFrom) -> set[str]:
    """The names an import binds: ``import a.b`` binds ``a``; ``import a as b`` binds ``b``."""
    found: set[str] = set()
    for alias in node.names if isinstance(node.names, (list, tuple)) else ():
        bound = alias.asname.name if alias.asname is not None else alias.name
        while isinstance(bound, cst.Attribute):
            bound = bound.value
        if isinstance(bound, cst.Name):
            found.add(bound.value)
    return found
