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
        self._statement_positions: dict[Any, Any] = {}
        self._line_offsets: dict[Any, int] | None = None

    def span(self, node: cst.CSTNode, top: cst.CSTNode | None = None) -> tuple[Position, Position]:
        """1-based start and end of ``node``; ``top`` (its module-level statement) makes it cheap:
        positions are then computed for that one statement, not the whole file."""
        if top is None or top not in self._tops():
            return self._whole_file_span(node)
        if top not in self._statement_positions:
            from libcst.metadata import MetadataWrapper, PositionProvider

            alone = self.module.with_changes(body=[top], header=(), footer=())
            self._statement_positions[top] = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
        code_range = self._statement_positions[top].get(node)
        if code_range is None:
            return self._whole_file_span(node)
        offset = self._tops()[top]
        return (
            Position(code_range.start.line + offset, code_range.start.column + 1),
            Position(code_range.end.line + offset, code_range.end.column + 1),
        )

    def _tops(self) -> dict[Any, int]:
        """Each module-level statement -> the number of lines before it."""
        if self._line_offsets is None:
            self._line_offsets = self._offsets_from_ast() or self._offsets_from_codegen()
        return self._line_offsets

    def _offsets_from_ast(self) -> dict[Any, int] | None:
        """From CPython's line numbers, which the syntax screen already paid for: a libcst statement
        starts its ``leading_lines`` (blank and comment lines) before its first decorator or keyword."""
        import libcst as cst

        if self.tree is None:
            return None
        statements = list(self.tree.body)
        offsets: dict[Any, int] = {}
        index = 0
        for top in self.module.body:
            if index >= len(statements):
                return None
            first = statements[index]
            decorators = getattr(first, "decorator_list", None)
            line = min([first.lineno, *(d.lineno for d in decorators or ())])
            offsets[top] = line - 1 - len(top.leading_lines)
            index += len(top.body) if isinstance(top, cst.SimpleStatementLine) else 1
        return offsets if index == len(statements) else None

    def _offsets_from_codegen(self) -> dict[Any, int]:
        offsets, lines = {}, sum(self.module.code_for_node(line).count("\n") for line in self.module.header)
        for statement in self.module.body:
            offsets[statement] = lines
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
        return all(any(token in data for token in group) for group in cls.tokens)

    @classmethod
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")
