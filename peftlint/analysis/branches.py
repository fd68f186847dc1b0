"""The statements that branch: ``if`` (refinements and guards, conditions.py), ``try``, ``match``.

A mixin of the interpreter (interpreter.py): each branch starts from the state before it, refined
by what its test says, and the branches join with the guards that tell them apart (values.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import libcst as cst

from peftlint.analysis import conditions
from peftlint.analysis.scopes import root
from peftlint.analysis.units import statements_of
from peftlint.analysis.values import (
    UNKNOWN,
    Guard,
    Kind,
    State,
    Value,
    Values,
    join_branches,
    join_states,
    option_given,
)

if TYPE_CHECKING:
    from peftlint.analysis.frames import Frame


class Branches:
    # provided by Interpreter / Scopes / Expressions / Calls
    frames: list[Frame]
    guards: list[Guard]
    effect_logs: list[list[Any]]
    statement_node: cst.CSTNode | None
    expression: Callable[..., Values]
    statement: Callable[[cst.CSTNode], None]
    block: Callable[..., None]
    bind: Callable[[str, Values], None]
    code: Callable[[cst.CSTNode], str]
    quietly: Callable[[Callable[[], Values]], Values]
    resolve_import: Callable[..., Values | None]
    resolve_classes: Callable[..., tuple[str, ...]]

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    def if_statement(self, node: cst.If) -> None:
        self.expression(node.test)
        before = self.frame.state
        true_guards = self.test_guards(node.test, True)
        false_guards = self.test_guards(node.test, False)
        true_entry = self.refined(before, node.test, True)
        after_true, true_writes = self.writing_elsewhere(
            lambda: self.branch(true_entry, true_guards, lambda: self.block(node.body))
        )
        false_entry = self.refined(before, node.test, False)
        orelse = node.orelse
        false_writes: dict[tuple[int, str], list[Any]] = {}
        if isinstance(orelse, cst.If):  # ``elif``: an ``if`` alone in the else branch
            after_false, false_writes = self.writing_elsewhere(
                lambda: self.branch(false_entry, false_guards, lambda: self.statement(orelse))
            )
        elif isinstance(orelse, cst.Else):
            after_false, false_writes = self.writing_elsewhere(
                lambda: self.branch(false_entry, false_guards, lambda: self.block(orelse.body))
            )
        else:
            after_false = false_entry
        if true_writes or false_writes:
            self.join_written_elsewhere(true_writes, false_writes, true_guards[0], false_guards[0])
        if before is not None and (true_entry is None or false_entry is None):
            # the test is decided here (``previous_dir = None`` then ``if previous_dir is not None:``):
            # the one branch that runs puts no guard on what follows. A guard would outlive the name
            # it tests: after ``previous_dir = phase_dir``, a later pass's load under the test of the
            # new value would take the model for one that exists only while it was None.
            self.frame.state = after_true if false_entry is None else after_false
            return
        self.frame.state = join_branches([(after_true, true_guards[0]), (after_false, false_guards[0])])
        if after_true is None and after_false is not None:
            self.guards.extend(false_guards)  # `if c: return`: the rest of the block runs only when not c
        elif after_false is None and after_true is not None:
            self.guards.extend(true_guards)

    def writing_elsewhere(
        self, walk: Callable[[], State | None]
    ) -> tuple[State | None, dict[tuple[int, str], list[Any]]]:
        """Walk a branch and take back what it wrote to other frames than this one (a ``global``,
        ``app.state.model`` of a module's object): those frames are not copied per branch, so the
        next branch must not see the writes. Gives the branch's end and, per (frame, key), the
        frame, the key, the value before the branch and the value the branch left."""
        log: list[Any] = []
        here = self.frame
        self.effect_logs.append(log)
        try:
            end = walk()
        finally:
            self.effect_logs.pop()
        writes: dict[tuple[int, str], list[Any]] = {}
        for entry in log:
            if entry[0] != "global" or entry[1] is here:
                continue
            _, frame, key, values, old = entry
            writes.setdefault((id(frame), key), [frame, key, old, values])[3] = values
        for frame, key, old, _ in writes.values():
            if frame.state is not None:
                if old is None:
                    frame.state.pop(key, None)
                else:
                    frame.state[key] = old
        return end, writes

    def join_written_elsewhere(
        self,
        true_writes: dict[tuple[int, str], list[Any]],
        false_writes: dict[tuple[int, str], list[Any]],
        true_guard: Guard,
        false_guard: Guard,
    ) -> None:
        """After an ``if``: what either branch wrote to another frame, joined as the branches' own
        names are (each value under its branch's guard; a branch that did not write it keeps the
        value from before). A branch that returns wrote it too: the frame outlives the call."""
        for place in sorted(true_writes.keys() | false_writes.keys(), key=lambda p: p[1]):
            frame, key, old, _ = true_writes.get(place) or false_writes[place]
            sides = []
            for writes, guard in ((true_writes, true_guard), (false_writes, false_guard)):
                values = writes[place][3] if place in writes else old
                sides.append(({key: values} if values is not None else {}, guard))
            joined = join_branches(sides) or {}
            if frame.state is not None and key in joined:
                previous = frame.state.get(key)
                frame.state[key] = joined[key]
                for log in self.effect_logs:
                    log.append(("global", frame, key, joined[key], previous))

    def test_guards(self, test: cst.BaseExpression, polarity: bool) -> list[Guard]:
        """The guards of a branch; a name bound to a test brings that test's guards too."""
        found = conditions.guards(test, polarity, self.code)
        while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            test, polarity = test.expression, not polarity
        if isinstance(test, cst.Name) and test.value in self.frame.tests:
            found += conditions.guards(self.frame.tests[test.value], polarity, self.code)
        return (
            found
            + self.alias_guards(found[:1])
            + self.option_guards(test, polarity)
            + self.constant_guards(test, polarity)
        )

    def constant_guards(self, test: cst.BaseExpression, polarity: bool) -> list[Guard]:
        """``args.mode == TRAIN`` where ``TRAIN`` holds one known string or number here: the test
        also with that constant written out (``args.mode == 'train'``), so it excludes
        ``args.mode == EVAL`` as the tests of the literals do."""
        named = conditions.named_equality(test, polarity)
        if named is None or self.frame.state is None:
            return []
        test, target, polarity = named
        sides = [test.left, target.comparator]
        written = [_written(self.single_constant(self.frame.state, side)) for side in sides]
        if sum(node is not None for node in written) != 1:
            return []  # (two constants decide the test)
        left, right = (w or side for w, side in zip(written, sides, strict=True))
        resolved = test.with_changes(left=left, comparisons=[target.with_changes(comparator=right)])
        return conditions.guards(resolved, polarity, self.code)

    def alias_guards(self, found: list[Guard]) -> list[Guard]:
        """A test of ``cfg['mode']`` where another name of this frame holds the same object
        (``mgr.cfg``, set by ``ExperimentManager(cfg)``): the same test, of that name too, so the
        values a method made under its own test of ``self.cfg['mode']`` are told apart here."""
        state = self.frame.state
        if not found or state is None:
            return []
        text, polarity = found[0]
        name = root(text.partition(" ")[0])
        held = state.get(name)
        function = self.frame.function
        if name == text or held is None or not any(v.kind in _OBJECTS for v in held):
            return []
        if function is not None and name == function.first_parameter():
            return []  # (a method's ``self``: its own attributes are named through it)
        aliases: set[str] = set()
        for key, values in state.items():
            if key == name or "[" in key:
                continue
            if values == held:
                aliases.add(key)
            for value in values:  # an object that keeps it (``self.cfg = cfg`` in its ``__init__``)
                aliases.update(f"{key}.{attr}" for attr, kept in value.fact("attrs", ()) if kept == held)
        return [(conditions.rebase(text, name, key), polarity) for key in sorted(aliases)]

    def option_guards(self, test: cst.BaseExpression, polarity: bool) -> list[Guard]:
        """``if args.adapter:`` or ``if args.adapter is not None:``, true, on an option of an
        argparse mutually exclusive group whose default is None: it was given, so no other option
        of its group was (argparse exits when two are)."""
        subject, given = conditions.option_test(test, polarity)
        if not given or not isinstance(subject, cst.Attribute):
            return []
        dest = subject.attr.value
        namespaces = self.quietly(lambda: self.expression(subject.value))
        groups = {
            group
            for value in namespaces
            if value.kind is Kind.NAMESPACE
            for group in value.fact("exclusive", ())
            if dest in group
        }
        return [(option_given(group, dest), True) for group in sorted(groups)]

    def refined(self, state: State | None, test: cst.BaseExpression, polarity: bool) -> State | None:
        """``state`` as a branch sees it when ``test`` has truth value ``polarity``; None if it cannot."""
        if state is None:
            return None
        constant = conditions.literal(test)  # ``while True:`` is left only through a ``break``
        if constant is not conditions.UNKNOWN_LITERAL:
            return dict(state) if bool(constant) == polarity else None
        branch = dict(state)
        named = conditions.named_comparison_refinements(test, polarity, lambda side: self.single_constant(branch, side))
        for refinement in [*conditions.refinements(test, polarity, self.resolve_classes), *named]:
            values = branch.get(refinement.key)
            if values is None:
                if self.frame.kind != "function" and root(refinement.key) not in branch:
                    continue  # a name of an enclosing scope: binding it here would hide it
                saved, self.frame.state = self.frame.state, branch
                try:
                    values = self.quietly(lambda node=refinement.node: self.expression(node))  # type: ignore[misc]
                finally:
                    self.frame.state = saved
            values = self.resolved_constants(values)
            kept = conditions.refine(values, refinement)
            if not kept:
                return None  # no value the name can hold makes the test come out this way
            if kept != values:
                branch[refinement.key] = kept
        return branch

    def single_constant(self, state: State, node: cst.BaseExpression) -> object:
        """The one constant (a number, a string, None) a name or attribute holds in ``state``, or
        UNKNOWN_LITERAL."""
        key = conditions.key_of(node)
        values = state.get(key) if key is not None else None
        if values is None and key is not None:
            saved, self.frame.state = self.frame.state, state
            try:
                values = self.quietly(lambda: self.expression(node))
            finally:
                self.frame.state = saved
        if not values:
            return conditions.UNKNOWN_LITERAL
        held = set()
        for value in self.resolved_constants(values):
            if value.kind is Kind.CONST:
                held.add((type(value.fact("value")), value.fact("value")))
            elif value.kind is Kind.STRING and value.fact("text") is not None:
                held.add((str, value.fact("text")))
            else:
                return conditions.UNKNOWN_LITERAL
        return held.pop()[1] if len(held) == 1 else conditions.UNKNOWN_LITERAL

    def resolved_constants(self, values: Values) -> Values:
        """Imported names as the modules of the run define them: a constant decides a branch by its
        value (``from config import USE_LORA``), a dict is indexed (``MODEL_BUILDERS["lora"]``), a
        class is a base whose methods are inherited."""
        if not any(v.kind is Kind.IMPORT and v.fact("importer") for v in values):
            return values
        found: set[Value] = set()
        for value in values:
            resolved = self.resolve_import(value) if value.kind is Kind.IMPORT else None
            found |= resolved if resolved is not None and value.fact("importer") else {value}
        return frozenset(found)

    def branch(self, entry: State | None, guards: list[Guard], walk: Callable[[], None]) -> State | None:
        self.frame.state = entry
        if entry is None:
            return None
        depth = len(self.guards)
        self.guards.extend(guards)
        try:
            walk()
        finally:
            del self.guards[depth:]
        return self.frame.state

    def try_statement(self, node: cst.Try | cst.TryStar) -> None:
        # A handler starts from the state before any statement of the body that may raise: one
        # simple statement that raises (``model = PeftModel.from_pretrained(...)``) binds nothing;
        # a compound one may raise after some of its own bindings. A logging call or a print does
        # not raise (``pm = PeftModel.from_pretrained(m, p); log.info(...)`` reaches the handler
        # only from the load, before it changed ``m``). States are copied: binding changes the
        # dict in place.
        seen: list[State | None] = []
        depth = len(self.guards)
        for statement in statements_of(node.body):
            if self.frame.state is None:
                break
            if not seen or not _cannot_raise(statement):
                seen.append(dict(self.frame.state))
            self.statement(statement)
            simple = isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
            if not simple and self.frame.state is not None:
                seen.append(dict(self.frame.state))
        del self.guards[depth:]
        if node.orelse is not None and self.frame.state is not None:
            self.block(node.orelse.body)
        ends = [self.frame.state]
        handler_entry = join_states(seen)
        for handler in node.handlers:
            self.frame.state = None if handler_entry is None else dict(handler_entry)
            if handler.type is not None:
                saved, self.statement_node = self.statement_node, handler
                try:
                    self.expression(handler.type)
                finally:
                    self.statement_node = saved
            if handler.name is not None:
                self.bind(as_name(handler.name), UNKNOWN)
            self.block(handler.body)
            ends.append(self.frame.state)
        after = join_states(ends)
        if node.finalbody is not None:
            self.frame.state = after if after is not None else handler_entry
            self.block(node.finalbody.body)
            if after is None:
                self.frame.state = None
        else:
            self.frame.state = after

    def match_statement(self, node: cst.Match) -> None:
        """Each case is a branch; ``case "eval":`` is ``subject == "eval"`` for guards (values made
        in it carry it, so ``if args.mode != "eval":`` later does not see them), and a case runs
        only when the literal cases before it did not match."""
        self.expression(node.subject)
        before = self.frame.state
        subject = conditions.condition_text(node.subject, self.code)
        branches: list[tuple[State | None, Guard | None]] = []
        missed: list[Guard] = []
        irrefutable = False
        for case in node.cases:
            own = _case_guard(subject, case.pattern, self.code)
            guards = [own, *missed] if own is not None else list(missed)

            def walk(case: cst.MatchCase = case) -> None:
                self.bind_pattern(case.pattern)
                if case.guard is not None:
                    saved, self.statement_node = self.statement_node, case
                    try:
                        self.expression(case.guard)
                    finally:
                        self.statement_node = saved
                self.block(case.body)

            branches.append((self.branch(None if before is None else dict(before), guards, walk), own))
            if own is not None and case.guard is None:
                missed.append((own[0], False))
            if _captures_all(case.pattern) and case.guard is None:
                irrefutable = True
                break
        if not irrefutable:
            branches.append((None if before is None else dict(before), None))  # no case matched
        self.frame.state = join_branches(branches)

    def bind_pattern(self, pattern: cst.MatchPattern) -> None:
        """Names a case pattern captures hold something the analysis does not follow."""
        stack: list[Any] = [pattern]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.MatchAs) and node.name is not None:
                self.bind(node.name.value, UNKNOWN)
            elif isinstance(node, cst.MatchStar) and node.name is not None:
                self.bind(node.name.value, UNKNOWN)
            elif isinstance(node, cst.MatchMapping) and node.rest is not None:
                self.bind(node.rest.value, UNKNOWN)
            for name in ("pattern", "patterns", "elements", "kwds", "value"):
                child = getattr(node, name, None)
                if isinstance(child, (list, tuple)):
                    stack.extend(child)
                elif isinstance(child, cst.CSTNode):
                    stack.append(child)


def _case_guard(subject: str, pattern: cst.MatchPattern, code: Callable[[cst.CSTNode], str]) -> Guard | None:
    """``case "eval":`` (a literal or a dotted constant) as the guard ``subject == "eval"``."""
    if isinstance(pattern, cst.MatchValue):
        return (f"{subject} == {conditions.condition_text(pattern.value, code)}", True)
    if isinstance(pattern, cst.MatchSingleton):
        return (f"{subject} is {code(pattern.value)}", True) if code(pattern.value) == "None" else None
    return None


def _captures_all(pattern: cst.MatchPattern) -> bool:
    """``case _:`` or ``case name:``: every subject matches."""
    return isinstance(pattern, cst.MatchAs) and pattern.pattern is None


def as_name(asname: cst.AsName) -> str:
    name = asname.name
    return name.value if isinstance(name, cst.Name) else ""


_OBJECTS = frozenset({Kind.DICT, Kind.INSTANCE, Kind.NAMESPACE})
# peft's in-memory bookkeeping on a model it built: merging the adapter into the base layers and
# counting parameters. A handler after ``model = PeftModel.from_pretrained(model, d); model =
# model.merge_and_unload()`` is there for the load that failed (a missing directory), not the merge.
_BOOKKEEPING = frozenset({"merge_and_unload", "print_trainable_parameters"})
_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})


def _cannot_raise(statement: cst.CSTNode) -> bool:
    """A line of ``pass``, ``print(...)``, logging calls (``logger.info(...)``, ``logging.warning``) or
    peft's bookkeeping (``model = model.merge_and_unload()``): logging reports its own failures
    instead of raising them, so no handler is entered from it.
    Nor from ``return model`` (a name, a literal or nothing): the value is already made."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    for small in statement.body:
        if isinstance(small, cst.Pass):
            continue
        if isinstance(small, cst.Return) and (
            small.value is None
            or isinstance(small.value, cst.Name)
            or conditions.literal(small.value) is not conditions.UNKNOWN_LITERAL
        ):
            continue
        if isinstance(small, cst.Assign) and all(isinstance(t.target, cst.Name) for t in small.targets):
            if _bookkeeping(small.value):  # ``model = model.merge_and_unload()``
                continue
            return False
        call = small.value if isinstance(small, cst.Expr) else None
        if not isinstance(call, cst.Call):
            return False
        func = call.func
        if (isinstance(func, cst.Name) and func.value == "print") or _bookkeeping(call):
            continue
        if isinstance(func, cst.Attribute) and func.attr.value in _LOG_METHODS and "log" in _owner_text(func.value):
            continue
        return False
    return True


def _bookkeeping(node: cst.BaseExpression) -> bool:
    """``x.merge_and_unload()`` / ``x.print_trainable_parameters()``, without arguments."""
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in _BOOKKEEPING
        and not node.args
    )


def _owner_text(node: cst.BaseExpression) -> str:
    """``logger`` / ``self.logger`` / ``logging`` -> its last name, lower-cased."""
    if isinstance(node, cst.Attribute):
        return node.attr.value.lower()
    return node.value.lower() if isinstance(node, cst.Name) else ""


def _written(constant: object) -> cst.BaseExpression | None:
    """A string or number as the literal that writes it."""
    if isinstance(constant, str):
        return cst.SimpleString(repr(constant))
    if isinstance(constant, int) and not isinstance(constant, bool):
        return cst.Integer(str(constant)) if constant >= 0 else None
    return None
