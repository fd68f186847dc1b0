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

from peftlint.analysis.segments import Segments
from peftlint.findings import Finding, Fix, Position, Related, Severity

if TYPE_CHECKING:
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
    """A rule's window on one file: positions, source text, findings, cross-file facts."""

    def __init__(self, path: str, text: str | Segments) -> None:
        self.path = path
        self.segments = text if isinstance(text, Segments) else Segments(text)
        self.findings: list[Finding] = []
        self.facts: list[CrossFileFact] = []

    def span(self, node: ast.AST) -> tuple[Position, Position]:
        """1-based start and end of ``node`` (end exclusive), columns in characters."""
        return self.segments.span(node)

    def code(self, node: ast.AST) -> str:
        """``node``'s source text, exactly as written."""
        return self.segments.code(node)

    def related(self, origin: Origin) -> Related:
        return Related(self.path, self.span(origin.node)[0], origin.note)

    def report(
        self,
        rule: Rule,
        node: ast.AST,
        message: str,
        related: Sequence[Related] = (),
        facts: dict[str, Any] | None = None,
        fix: Fix | None = None,
    ) -> None:
        start, end = self.span(node)
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
    # The names (``f`` of ``f(...)`` or ``x.f(...)``) of the calls at which the rule can report
    # or record a fact; None: any call. A function that can reach none of them, itself or through
    # the functions of its file it calls, is not analysed on its own.
    calls: ClassVar[frozenset[str] | None] = None
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
        """Second stage, on the calls CPython's AST shows: a call the rule reports at occurs at all."""
        return cls.calls is None or shapes.calls_named(cls.calls)

    @classmethod
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")
