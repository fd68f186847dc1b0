"""What a rule is: a code, a name, the registry facts it reports at, its documentation, and
call-site callbacks.

A rule never prints and never walks the tree: the shared flow analysis hands it every evaluated
call whose registry fact it declared (``reports_at``), as a ``CallSite`` of libcst nodes and
abstract values, and the rule reports findings through its ``RuleContext``. Its prefilter (the
tokens a file must contain) and the calls Reach follows are derived from the same declaration,
so a rule cannot be pruned by a screen it forgot to declare.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from peftlint import suppression
from peftlint.analysis import registry
from peftlint.findings import Finding, Fix, Position, Related, Severity

if TYPE_CHECKING:
    import libcst as cst

    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.prescreen import Screen
    from peftlint.analysis.units import ParsedUnit
    from peftlint.analysis.values import Origin, Value


@dataclass(frozen=True)
class CrossFileFact:
    """Something one file contributes to a rule that pairs facts across the run (PEFT002)."""

    code: str
    path: str  # where the call is
    kind: str
    start: Position
    end: Position
    shapes: tuple[Any, ...]
    data: tuple[tuple[str, Any], ...] = ()
    anchor: str = ""  # the file whose run this belongs to (a helper's call: its caller's file)
    noqa: tuple[tuple[int, tuple[str, ...]], ...] = ()


class RuleContext:
    """A rule's window on one analysed file: positions, source text, findings, cross-file facts."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.findings: list[Finding] = []
        self.facts: list[CrossFileFact] = []

    def at_call(self, site: CallSite, note: str, node: cst.CSTNode | None = None) -> list[Related]:
        """A related location at the call (or at ``node`` in it), said with ``note``."""
        unit = site.unit
        return [Related(unit.path, unit.start(node or site.node), note)] if unit is not None else []

    def related(self, origin: Origin) -> Related:
        unit = origin.unit
        return Related(unit.path if unit is not None else self.path, _start(unit, origin.node), origin.note)

    def report(
        self,
        rule: Rule,
        site: CallSite,
        message: str,
        related: Sequence[Related] = (),
        facts: dict[str, Any] | None = None,
        fix: Fix | None = None,
        node: cst.CSTNode | None = None,
        at: Origin | None = None,
        severity: Severity | None = None,
        statement: cst.CSTNode | None = None,
    ) -> None:
        """A finding at the call (or ``node`` in it), or ``at`` an origin elsewhere in the run."""
        unit = at.unit if at is not None else site.unit
        statement = statement or (at.statement if at is not None else site.statement)
        where = at.node if at is not None else (node or site.node)
        start, end = unit.range(where) if unit is not None else (Position(1, 1), Position(1, 1))
        self.findings.append(
            Finding(
                code=rule.code,
                name=rule.name,
                message=message,
                path=unit.path if unit is not None else self.path,
                start=start,
                end=end,
                severity=severity or rule.severity,
                related=tuple(dict.fromkeys(related)),
                fix=fix,
                facts=tuple(sorted((facts or {}).items())),
                noqa=statement_noqa(unit, statement),
            )
        )

    def remember(self, rule: Rule, site: CallSite, kind: str, shapes: Sequence[Any], data: dict[str, Any]) -> None:
        """A cross-file fact about this call, for the rule's ``join``."""
        unit = site.unit
        if unit is None:
            return
        start, end = unit.range(site.node)
        self.facts.append(
            CrossFileFact(
                rule.code, unit.path, kind, start, end, tuple(shapes), tuple(sorted(data.items())),
                anchor=self.path, noqa=statement_noqa(unit, site.statement),
            )
        )  # fmt: skip


def _start(unit: ParsedUnit | None, node: cst.CSTNode) -> Position:
    return unit.start(node) if unit is not None else Position(1, 1)


def statement_noqa(unit: ParsedUnit | None, statement: cst.CSTNode | None) -> tuple[tuple[int, tuple[str, ...]], ...]:
    """The ``# noqa`` directives on the lines of the statement around a finding, from libcst's
    comments of that statement (its header only, for a compound statement), with their lines."""
    if unit is None or statement is None:
        return ()
    found = []
    for comment in _statement_comments(statement):
        for codes in suppression.line_directive_codes(comment.value):
            found.append((unit.start(comment).line, tuple(sorted(codes))))
    return tuple(sorted(set(found)))


_NOT_THE_STATEMENT = frozenset({"leading_lines", "lines_after_decorators", "footer", "decorators"})
_BODIES = frozenset({"body", "orelse", "handlers", "finalbody", "cases"})


def _statement_comments(statement: cst.CSTNode) -> list[cst.Comment]:
    import libcst as cst

    found: list[cst.Comment] = []
    stack: list[Any] = [statement]
    compound = isinstance(statement, (cst.BaseCompoundStatement, cst.ExceptHandler, cst.MatchCase))
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Comment):
            found.append(node)
            continue
        if isinstance(node, (list, tuple)):
            stack.extend(node)
            continue
        if not isinstance(node, cst.CSTNode):
            continue
        for name in _child_fields(type(node)):
            if name in _NOT_THE_STATEMENT:
                continue
            child = getattr(node, name)
            if compound and node is statement and name in _BODIES:
                if name == "body" and isinstance(child, cst.IndentedBlock):
                    stack.append(child.header)  # the comment after the colon
                elif name == "body" and isinstance(child, cst.SimpleStatementSuite):
                    stack.append(child)
                continue
            stack.append(child)
    return found


_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    found = _FIELDS.get(kind)
    if found is None:
        import dataclasses

        found = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind))  # type: ignore[arg-type]
    return found


def with_peft_layers(values: frozenset[Value]) -> list[Value]:
    """The models among ``values`` known to carry PEFT layers: a PEFT wrapper, or a base a wrap
    injected its layers into (with the place it happened), in a stable order."""
    from peftlint.analysis.values import Kind, stable_key

    found = (v for v in values if v.kind is Kind.PEFT_MODEL or (v.kind is Kind.INJECTED_BASE and v.origin))
    return sorted(found, key=stable_key)


def model_facts(value: Value) -> dict[str, Any]:
    """What the verifier needs to rebuild a value's model: id or path, class, peft config keywords."""
    facts: dict[str, Any] = {}
    for key, fact in value.facts:
        if key in ("model_id", "model_class", "local_module", "wrapped_by", "tuner", "submodule"):
            facts[key] = fact
        elif key == "config_class":
            facts["peft_config_class"] = fact
        elif key == "peft_config":
            facts[key] = {name: list(v) if isinstance(v, tuple) else v for name, v in fact}
    model_id = facts.get("model_id")
    if isinstance(model_id, str) and model_id.startswith((".", "/", "~")):
        facts["local_dirs"] = [model_id]
    return facts


@lru_cache(maxsize=64)
def _token_groups(facts: frozenset[str]) -> list[tuple[tuple[bytes, ...], ...]]:
    return [api.tokens for api in registry.apis_for(facts)]


class Tokens(dict[bytes, bool]):
    """Which tokens a file's bytes contain, each searched for once, when first asked."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.data = data

    def __missing__(self, token: bytes | re.Pattern[bytes]) -> bool:
        if isinstance(token, re.Pattern):
            found = self[token] = token.search(self.data) is not None
        else:
            found = self[token] = token in self.data
        return found


def necessary_tokens(rules: Sequence[type[Rule]]) -> tuple[bytes, ...] | None:
    """Tokens one of which every file some rule ``wants`` contains (one group of each rule's
    conjunction: its first required group, or the first group of each call it reports at), so a
    file with none of them is passed over with a few searches instead of every rule's; None when
    some rule can want a file without any token."""
    found: set[bytes] = set()
    for rule in rules:
        required = rule.required_tokens()
        if required:
            found.update(required[0])
            continue
        for groups in _token_groups(rule.reports_at):
            if not groups:
                return None
            found.update(groups[0])
    return tuple(sorted(t for t in found if not any(other != t and other in t for other in found)))


def makes_peft_models(screen: Screen) -> bool:
    """The file makes a model carry PEFT layers itself (``get_peft_model``, a peft ``from_pretrained``,
    ``PeftModel(...)``, a config handed to a trainer): a library module that only receives models
    from its callers is analysed from those callers, not on its own."""
    return (
        screen.calls_named(registry.PEFT_HELPER_CALLS)
        or screen.peft_method("from_pretrained")
        or screen.peft_call(lambda name: name.startswith(("PeftModel", "AutoPeftModel")))
        or screen.calls_with_keyword("peft_config")
    )


class Rule:
    """Subclass per rule, one module each; the class docstring is what ``explain`` prints.

    The docstring uses fixed headings: ``## What it does``, ``## Why is this bad?``,
    ``## Example``, ``## Fix``, ``## References``.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]  # one line for the rules table
    severity: ClassVar[Severity] = Severity.ERROR
    # Registry facts (analysis/registry.py) of the calls the rule reports at or records facts at:
    # the engine hands the rule exactly those call sites.
    reports_at: ClassVar[frozenset[str]] = frozenset()
    # Registry facts whose calls make the values the rule looks for (Reach follows them too).
    needs: ClassVar[frozenset[str]] = frozenset()
    # Registry facts of calls the rule is also handed, that neither make a file wanted nor a def
    # worth analysing (``shutil.move`` of a file the rule saw written: it matters only beside a
    # call the rule reports at)
    observes: ClassVar[frozenset[str]] = frozenset()
    # False for rules the engine reports itself (PEFT100): they never make a file be parsed.
    analysed: ClassVar[bool] = True
    # "safe", "unsafe" or None: what --fix may do for this rule's findings.
    fix_safety: ClassVar[str | None] = None
    # Token groups a file must also contain (every group, one token of each).
    requires: ClassVar[tuple[tuple[bytes, ...], ...]] = ()
    # Codes whose finding at the same call this rule's finding contradicts, with better evidence:
    # the engine drops those (PEFT002 knows the run pickled a whole module to the file PEFT009
    # takes, by its name, for an adapter state dict)
    refutes: ClassVar[frozenset[str]] = frozenset()
    # A rule about PEFT models: a file matters only if it imports from peft (``optimizer.step()``
    # or ``.train()`` alone does not make a file analysed); a file that does not is still
    # analysed when it calls a helper of the run that makes a peft call (admission.py).
    peft_only: ClassVar[bool] = False
    # False: the rule runs only when selected by its own code (``--select PEFT015``), not by a
    # prefix or ALL (an information rule whose precision on real code is not perfect)
    default_enabled: ClassVar[bool] = True

    def __init__(self, context: RuleContext) -> None:
        self.context = context

    def on_call(self, site: CallSite) -> None:
        """Called for every evaluated call the rule reports at, in flow order (again per inlined context)."""

    @classmethod
    def join(cls, facts: Sequence[CrossFileFact]) -> list[Finding]:
        """Findings that need every file of the run."""
        return []

    @classmethod
    def token_groups(cls) -> list[tuple[tuple[bytes, ...], ...]]:
        """Per fact it reports at, the token groups a file must contain to make that call."""
        return _token_groups(cls.reports_at)

    @classmethod
    def wants(cls, data: bytes | Tokens) -> bool:
        """First stage, on the raw bytes: some call the rule reports at can occur. Given ``Tokens``,
        each token is looked for once for all the rules that ask about one file."""
        found = data if isinstance(data, Tokens) else Tokens(data)
        if not all(any(found[t] for t in group) for group in cls.required_tokens()):
            return False
        if cls.peft_only and not found[registry.PEFT_IMPORT]:  # type: ignore[index]
            return False  # the pre-screen would find no import from peft
        return any(all(any(found[t] for t in group) for group in groups) for groups in _token_groups(cls.reports_at))

    @classmethod
    def required_tokens(cls) -> tuple[tuple[bytes, ...], ...]:
        """Token groups a file must all contain (one token of each) for the rule to want it: its
        own ``requires``, and for a rule about PEFT models, peft's name and a maker's."""
        return (*cls.requires, *(registry.PEFT_TOKENS + registry.PEFT_MAKER_TOKENS if cls.peft_only else ()))

    @classmethod
    def screen(cls, screen: Screen) -> bool:
        """Second stage, on the calls CPython's AST shows: a call the rule reports at occurs at all
        (and, for a rule about PEFT models, the file imports from peft)."""
        if cls.peft_only and not ((screen.peft_names or screen.unsloth) and makes_peft_models(screen)):
            return False
        return any(api.occurs_in(screen) for api in registry.apis_for(cls.reports_at))

    @classmethod
    def triggers(cls) -> frozenset[str]:
        """The names of the calls it reports at: a def that cannot reach one is not analysed alone.
        For a rule about PEFT models, the names of peft's calls: a def analysed alone has unknown
        arguments, so it holds a PEFT model only if it makes one (``optimizer.step()`` alone is
        not worth a walk)."""
        if cls.peft_only:
            return registry.PEFT_CALL_NAMES
        return registry.call_names(cls.reports_at)

    @classmethod
    def member_triggers(cls) -> frozenset[str]:
        """For a method analysed alone (it sees what ``__init__`` set on ``self``): the names of the
        calls the rule reports at."""
        return registry.call_names(cls.reports_at)

    @classmethod
    def helper_triggers(cls) -> frozenset[str]:
        """The calls that make another module's helper worth following from a file the rule does
        not want by its own tokens (admission.py)."""
        # a rule reporting at peft's own calls (PEFT001 at a peft class's from_pretrained) needs a
        # helper that makes one: not every def that loads a base model with from_pretrained
        peft_calls = bool(cls.reports_at) and all(fact.startswith("peft.") for fact in cls.reports_at)
        return registry.PEFT_HELPER_CALLS if cls.peft_only or cls.requires or peft_calls else cls.triggers()

    @classmethod
    def producers(cls) -> frozenset[str]:
        """The names of the calls that make what it looks for: another module's def that cannot
        reach one of these (or a trigger) is not followed into. A call the rule reports at counts
        too: a helper that steps the optimizer it is given is followed from where it is called."""
        return registry.call_names(cls.needs) | registry.call_names(cls.reports_at)

    @classmethod
    def documentation(cls) -> str:
        import inspect

        return inspect.cleandoc(cls.__doc__ or "")
