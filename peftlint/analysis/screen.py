"""The second-stage screen: from CPython's AST (which the syntax check builds anyway), the call
shapes a file contains, so a rule can say "my calls cannot occur here" before the flow analysis
runs; and, per def, the names it calls, from which ``flow.Reach`` decides which defs are worth
analysing on their own.

The first stage is a bytes search; it admits every file of the peft package itself, whose
docstrings mention ``PeftModel.from_pretrained`` everywhere. Only real calls count here.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field


@dataclass
class CallShapes:
    """``receiver.method(...)`` as (last name of the receiver, method); plain ``f(...)`` by name."""

    methods: set[tuple[str, str]] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    peft_names: set[str] = field(default_factory=set)  # local names bound to something from peft
    # id(def node) -> the names it calls (``f(...)`` and ``x.f(...)`` both give "f"), its nested defs' included
    calls_in: dict[int, set[str]] = field(default_factory=dict)
    # a def's name -> ids of the defs of that name; a class's name -> ids of its methods
    defined: dict[str, list[int]] = field(default_factory=dict)

    def calls_named(self, names: frozenset[str]) -> bool:
        """Some ``f(...)`` or ``x.f(...)`` call with ``f`` in ``names``."""
        return not names.isdisjoint(self.functions) or any(attr in names for _, attr in self.methods)

    def peft_method(self, method: str) -> bool:
        """A ``X.method(...)`` call where X names a peft class (``PeftModel``, an alias, ``peft.X``)."""
        return any(attr == method and ("Peft" in owner or owner in self.peft_names) for owner, attr in self.methods)


def call_shapes(tree: ast.AST) -> CallShapes:
    """One walk over every node, without recursion (so no tree is too deep for it)."""
    shapes = CallShapes()
    calls_in, defined, methods, functions = shapes.calls_in, shapes.defined, shapes.methods, shapes.functions
    nested: list[tuple[set[str], set[str]]] = []  # (inner def's names, enclosing def's names)
    scopes: list[tuple[ast.AST, set[str] | None]] = [(tree, None)]  # each def is walked as a scope of its own
    while scopes:
        root, owner = scopes.pop()
        stack: list[ast.AST] = []
        _push_children(root, stack)
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind is ast.Call:
                func = node.func  # type: ignore[attr-defined]
                if type(func) is ast.Attribute:
                    methods.add((_last_name(func.value), func.attr))
                    if owner is not None:
                        owner.add(func.attr)
                elif type(func) is ast.Name:
                    functions.add(func.id)
                    if owner is not None:
                        owner.add(func.id)
            elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
                inner: set[str] = set()
                calls_in[id(node)] = inner
                defined.setdefault(node.name, []).append(id(node))  # type: ignore[attr-defined]
                if owner is not None:
                    nested.append((inner, owner))
                inner.update(_peft_annotations(node))  # type: ignore[arg-type]
                scopes.append((node, inner))
                continue
            elif kind is ast.ClassDef:
                bound = defined.setdefault(node.name, [])  # type: ignore[attr-defined]
                bound += [id(s) for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]  # type: ignore[attr-defined]
            elif kind is ast.ImportFrom:
                if (node.module or "").split(".")[0] == "peft":  # type: ignore[attr-defined]
                    shapes.peft_names.update(alias.asname or alias.name for alias in node.names)  # type: ignore[attr-defined]
            elif kind is ast.Import:
                for alias in node.names:  # type: ignore[attr-defined]
                    if alias.name.split(".")[0] == "peft":
                        shapes.peft_names.add(alias.asname or alias.name.split(".")[0])
            _push_children(node, stack)
    for inner, outer in reversed(nested):  # innermost first: a def's calls include its nested defs'
        outer |= inner
    return shapes


# Per node type, the fields that can hold child nodes: not ``ctx`` and operators (leaves that are
# never calls), not lists of plain strings (``global a, b``, a class pattern's keyword names).
_SKIPPED_FIELDS = frozenset({"ctx", "op", "ops", "type_comment", "kind"})
_STRING_LISTS = {ast.Global: "names", ast.Nonlocal: "names", ast.MatchClass: "kwd_attrs"}
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _push_children(node: ast.AST, stack: list[ast.AST]) -> None:
    kind = type(node)
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        skipped = _SKIPPED_FIELDS | {_STRING_LISTS.get(kind, "")}  # type: ignore[call-overload]
        fields = _CHILD_FIELDS[kind] = tuple(f for f in getattr(kind, "_fields", ()) if f not in skipped)
    for name in fields:
        value = getattr(node, name, None)
        if type(value) is list:
            stack.extend(item for item in value if item is not None)  # a dict's ``**d`` key is None
        elif isinstance(value, ast.AST):
            stack.append(value)


def _peft_annotations(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """Peft class names a def's parameters are annotated with (``model: PeftModel`` makes a PEFT
    model without a call): counted with the names it calls, so the def is analysed."""
    arguments = node.args
    found = []
    for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
        annotation = arg.annotation
        name = getattr(annotation, "id", None) or getattr(annotation, "attr", None)
        if isinstance(name, str) and "Peft" in name:
            found.append(name)
    return found


def _last_name(node: ast.AST) -> str:
    """``peft.PeftModel`` -> "PeftModel"; ``model`` -> "model"; anything else -> ""."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""
