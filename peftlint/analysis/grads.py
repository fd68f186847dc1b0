"""Where code makes parameters trainable again: the syntax of ``requires_grad``, read off libcst's
tree of a ``for`` loop over a model's parameters (or of the units of a file)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import libcst as cst

from peftlint.analysis import conditions, registry

if TYPE_CHECKING:
    from peftlint.analysis.units import Source


def loop_parameter(node: cst.For) -> str | None:
    """The name a loop over ``parameters()`` / ``named_parameters()`` gives each parameter."""
    target: cst.BaseExpression = node.target
    if isinstance(target, cst.Tuple) and len(target.elements) == 2:
        target = target.elements[1].value
    return target.value if isinstance(target, cst.Name) else None


def parameters_unfrozen(node: cst.For, guarded: bool = True) -> list[tuple[cst.CSTNode, cst.CSTNode]]:
    """Where the loop body may set the loop's parameter trainable: ``p.requires_grad = <not False>``
    or ``p.requires_grad_(<not False>)``. Not ``guarded``: only the body's own statements, and
    only an unconditional True (``p.requires_grad = "lora_" in n`` decides per parameter).
    Each as (the small statement, its line)."""
    name = loop_parameter(node)
    if name is None:
        return []
    found: list[tuple[cst.CSTNode, cst.CSTNode]] = []
    stack: list[cst.CSTNode] = list(node.body.body) if isinstance(node.body, cst.IndentedBlock) else [node.body]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            found += [(small, current) for small in current.body if _sets_trainable(small, name, exactly=not guarded)]
        elif guarded and isinstance(current, cst.BaseCompoundStatement):
            stack += [c for c in current.children if isinstance(c, cst.CSTNode)]
        elif guarded and isinstance(current, (cst.BaseSuite, cst.Else, cst.ExceptHandler, cst.Finally)):
            stack += [c for c in current.children if isinstance(c, cst.CSTNode)]
    return found


def _sets_trainable(small: cst.BaseSmallStatement, name: str, exactly: bool) -> bool:
    def is_param(expr: cst.BaseExpression) -> bool:
        return isinstance(expr, cst.Name) and expr.value == name

    def trainable(value: cst.BaseExpression | None) -> bool:
        given = conditions.literal(value) if value is not None else True
        return given is True if exactly else given is not False

    if isinstance(small, cst.Assign):
        return trainable(small.value) and any(
            isinstance(t.target, cst.Attribute) and t.target.attr.value == "requires_grad" and is_param(t.target.value)
            for t in small.targets
        )
    call = small.value if isinstance(small, cst.Expr) else None
    if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == "requires_grad_":
        given = call.args[0].value if call.args else None
        return is_param(call.func.value) and trainable(given)
    return False


# A task head named in code: ``.score``, ``"classifier"`` (registry.TASK_HEADS)
_HEAD_WORDS = re.compile(r"""[.'"](?:""" + "|".join(sorted(registry.TASK_HEADS)) + r")\b")


def head_unfrozen_by_hand(source: Source) -> bool:
    """The units of ``source`` the analysis walked make a task head trainable by hand:
    ``for p in model.base_model.model.score.parameters(): p.requires_grad = True``, ``if "classifier"
    in name: p.requires_grad = True`` in a loop over ``named_parameters()``, or
    ``model.classifier.requires_grad_(True)``."""
    for parsed in list(source.parsed_units()):
        stack: list[cst.CSTNode] = [parsed.module]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.For) and parameters_unfrozen(node):
                if _HEAD_WORDS.search(parsed.code(node)):
                    return True
                continue
            if isinstance(node, (cst.Assign, cst.Call)):
                text = parsed.code(node)
                if "requires_grad" in text and _HEAD_WORDS.search(text):
                    return True
            stack.extend(node.children)
    return False
