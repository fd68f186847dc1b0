"""The second-stage screen: from CPython's AST (which the syntax check builds anyway), the call
shapes a file contains, so a rule can say "my calls cannot occur here" before libcst parses it.

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
    pathological: bool = False  # nesting or operand chains too deep to parse in this process

    def peft_method(self, method: str) -> bool:
        """A ``X.method(...)`` call where X names a peft class (``PeftModel``, an alias, ``peft.X``)."""
        return any(attr == method and ("Peft" in owner or owner in self.peft_names) for owner, attr in self.methods)


def call_shapes(tree: ast.AST, max_depth: int, max_operands: int) -> CallShapes:
    shapes = CallShapes()
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            shapes.pathological = True
            return shapes
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                shapes.methods.add((_last_name(func.value), func.attr))
            elif isinstance(func, ast.Name):
                shapes.functions.add(func.id)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "peft":
            shapes.peft_names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "peft":
                    shapes.peft_names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.BoolOp) and len(node.values) > max_operands:
            shapes.pathological = True
            return shapes
        elif isinstance(node, ast.Compare) and len(node.comparators) > max_operands:
            shapes.pathological = True
            return shapes
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return shapes


def _last_name(node: ast.AST) -> str:
    """``peft.PeftModel`` -> "PeftModel"; ``model`` -> "model"; anything else -> ""."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""
