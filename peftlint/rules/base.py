"""What a rule is: a code, a name, trigger tokens, its documentation, and call-site callbacks.

A rule never prints and never walks the tree: it receives evaluated call sites from the shared
flow analysis and reports findings through its ``RuleContext``.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from peftlint.findings import Finding, Fix, Position, Related, Severity

if TYPE_CHECKING:
    import libcst as cst

    from peftlint.analysis.flow import CallSite
    from peftlint.analysis.screen import CallShapes
    from peftlint.analysis.values import Origin, Value


@dataclass(frozen=True)
class CrossFileFact:
    """Something one file contributes to a rule that pairs facts across the run (PEFT002)."""

    code: str
    path: str
    kind: str
    start: Position
    end: Position
    shapes: tuple[Any, ...]
    data: tuple[tuple[str, Any], ...] = ()


class RuleContext:
    """A rule's window on one file: positions, findings, cross-file facts."""

    def __init__(self, path: str, module: cst.Module, tree: ast.Module | None = None) -> None:
        self.path = path
        self.module = module
        self.tree = tree  # CPython's AST of the same text, when the engine has it
        self.findings: list[Finding] = []
        self.facts: list[CrossFileFact] = []
        self._positions: Any = None
        self._located: dict[Any, tuple[Any, int] | None] = {}
        self._line_offsets: dict[Any, tuple[int, Any]] | None = None
        self._method_owner: dict[Any, Any] | None = None

    def span(self, node: cst.CSTNode, unit: cst.CSTNode | None = None) -> tuple[Position, Position]:
        """1-based start and end of ``node``. ``unit``, the module-level statement (or method of a
        module-level class) that contains it, makes this cheap: positions are computed for that
        unit alone, not the whole file, and shifted by the lines before it."""
        located = self._locate(unit) if unit is not None else None
        code_range = located[0].get(node) if located is not None else None
        if located is None or code_range is None:
            return self._whole_file_span(node)
        shift = located[1]
        return (
            Position(code_range.start.line + shift, code_range.start.column + 1),
            Position(code_range.end.line + shift, code_range.end.column + 1),
        )

    def _locate(self, unit: cst.CSTNode) -> tuple[Any, int] | None:
        if unit in self._located:
            return self._located[unit]
        import libcst as cst
        from libcst.metadata import MetadataWrapper, PositionProvider

        result = None
        tops = self._tops()
        if unit in tops:
            alone = self.module.with_changes(body=[unit], header=(), footer=())
            result = (MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider), tops[unit][0])
        elif unit in self._methods():
            owner = self._methods()[unit]
            offset = self._method_offset(owner, unit)
            if offset is not None:
                # the method alone, inside a one-line stand-in class: same indentation, same columns
                stand_in = cst.ClassDef(name=cst.Name("_"), body=owner.body.with_changes(body=[unit]))
                alone = self.module.with_changes(body=[stand_in], header=(), footer=())
                result = (MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider), offset - 1)
        self._located[unit] = result
        return result

    def _tops(self) -> dict[Any, tuple[int, Any]]:
        """Each module-level statement -> (lines before it, its CPython statement)."""
        if self._line_offsets is None:
            found = _ast_offsets(self.module.body, self.tree.body) if isinstance(self.tree, ast.Module) else None
            self._line_offsets = dict(found) if found is not None else self._offsets_from_codegen()
        return self._line_offsets

    def _methods(self) -> dict[Any, Any]:
        """Each def directly in the body of a module-level class -> that class."""
        if self._method_owner is None:
            import libcst as cst

            self._method_owner = {
                statement: top
                for top in self.module.body
                if isinstance(top, cst.ClassDef) and isinstance(top.body, cst.IndentedBlock)
                for statement in top.body.body
                if isinstance(statement, cst.FunctionDef)
            }
        return self._method_owner

    def _method_offset(self, owner: Any, method: Any) -> int | None:
        class_ast = self._tops().get(owner, (0, None))[1]
        if not isinstance(class_ast, ast.ClassDef):
            return None
        found = _ast_offsets(owner.body.body, class_ast.body)
        return found[method][0] if found is not None and method in found else None

    def _offsets_from_codegen(self) -> dict[Any, tuple[int, Any]]:
        offsets: dict[Any, tuple[int, Any]] = {}
        lines = sum(self.module.code_for_node(line).count("\n") for line in self.module.header)
        for statement in self.module.body:
            offsets[statement] = (lines, None)
            lines += self.module.code_for_node(statement).count("\n")
        return offsets

    def _whole_file_span(self, node: cst.CSTNode) -> tuple[Position, Position]:
        if self._positions is None:
            from libcst.metadata import MetadataWrapper, PositionProvider

            self._positions = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)
        code_range = self._positions[node]
        return (
            Position(code_range.start.line, code_range.start.column + 1),
            Position(code_range.end.line, code_range.end.column + 1),
        )

    def related(self, origin: Origin) -> Related:
        return Related(self.path, self.span(origin.node, origin.top)[0], origin.note)

    def report(
        self,
        rule: Rule,
        node: cst.CSTNode,
        message: str,
        related: Sequence[Related] = (),
        facts: dict[str, Any] | None = None,
        fix: Fix | None = None,
        top: cst.CSTNode | None = None,
    ) -> None:
        start, end = self.span(node, top)
        self.findings.append(
            Finding(
                code=rule.code,
                name=rule.name,
                message=message,
                path=self.path,
                start=start,
                end=end,
                severity=rule.severity,
                related=tuple(dict.fromkeys(related)),
                fix=fix,
                facts=tuple(sorted((facts or {}).items())),
            )
        )


def model_facts(value: Value) -> dict[str, Any]:
    """What the verifier needs to rebuild a value's model: id or path, class, peft config keywords."""
    facts: dict[str, Any] = {}
    for key, fact in value.facts:
        if key in ("model_id", "model_class", "local_module", "wrapped_by"):
            facts[key] = fact
        elif key == "config_class":
            facts["peft_config_class"] = fact
        elif key == "peft_config":
            facts[key] = {name: list(v) if isinstance(v, tuple) else v for name, v in fact}
    model_id = facts.get("model_id")
    if isinstance(model_id, str) and model_id.startswith((".", "/", "~")):
        facts["local_dirs"] = [model_id]
    return facts


def _ast_offsets(statements: Sequence[Any], parsed: Sequence[ast.stmt]) -> dict[Any, tuple[int, ast.stmt]] | None:
    """libcst statements -> (lines before each, its CPython statement), from CPython's line numbers
    (the syntax screen already paid for them): a libcst statement starts with its ``leading_lines``
    (blank and comment lines) before its first decorator or keyword. ``a; b`` is one libcst
    statement and two CPython ones. None when the two do not line up."""
    import libcst as cst

    offsets: dict[Any, tuple[int, ast.stmt]] = {}
    index = 0
    for statement in statements:
        if index >= len(parsed):
            return None
        first = parsed[index]
        decorators = getattr(first, "decorator_list", None) or ()
        line = min([first.lineno, *(d.lineno for d in decorators)])
        offsets[statement] = (line - 1 - len(statement.leading_lines), first)
        index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
    return offsets if index == len(parsed) else None


class Rule:
    """Subclass per rule, one module each; the class docstring is what ``explain`` prints.

    The docstring uses fixed headings: ``## What it does``, ``## Why is this bad?``,
    ``## Example``, ``## Fix``, ``## References``.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]  # one line for the rules table
    severity: ClassVar[Severity] = Severity.ERROR
    # Every group must occur in a file's bytes (any token of the group) for the rule to run on it.
    tokens: ClassVar[tuple[tuple[bytes, ...], ...]] = ()
    # False for rules the engine reports itself (PEFT100): they never make a file be parsed.
    analysed: ClassVar[bool] = True
    # "safe", "unsafe" or None: what --fix may do for this rule's findings.
    fix_safety: ClassVar[str | None] = None

    def __init__(self, context: RuleContext) -> None:
        self.context = context

    def on_call(self, site: CallSite) -> None:
        """Called for every evaluated call of the file, in flow order (and again per inlined context)."""

    @classmethod
    def join(cls, facts: Sequence[CrossFileFact], resolve: Any) -> list[Finding]:
        """Findings that need every file of the run (``resolve`` maps imported constants)."""
        return []

    @classmethod
    def wants(cls, data: bytes) -> bool:
        """First stage, on the raw bytes: every token group occurs."""
        return all(any(token in data for token in group) for group in cls.tokens)

    @classmethod
    def screen(cls, shapes: CallShapes) -> bool:
        """Second stage, on the calls CPython's AST shows: the rule's calls can occur at all."""
        return True

    @classmethod
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")
