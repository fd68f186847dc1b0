"""The flow analysis: an abstract interpreter that walks libcst's tree statement by statement.

Per name, attribute path (``self.model``) and constant subscript (``models['policy']``) it keeps
the set of abstract values (values.py) that can reach each point. Branches join with guards and
refinements (conditions.py); loops run to a fixpoint; calls into the analysed code are inlined
with their actual arguments (calls.py); library calls do what the registry says (effects.py).
Every call it evaluates is handed to the rules as a ``CallSite`` (callsite.py): rules never walk
the tree themselves.

This module holds the statements; expressions.py and calls.py the rest of the one visitor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import libcst as cst

from peftlint.analysis import conditions, paths, training
from peftlint.analysis.branches import Branches
from peftlint.analysis.calls import Calls
from peftlint.analysis.definitions import Definitions, def_of
from peftlint.analysis.expressions import Expressions
from peftlint.analysis.frames import (
    MAX_INLINE_DEPTH,
    MAX_INLINE_DEPTH_ALONE,
    ClassInfo,
    Frame,
    Function,
    Loop,
    ModuleScope,
)
from peftlint.analysis.imports import Imports
from peftlint.analysis.objects import Objects
from peftlint.analysis.parameters import Parameters
from peftlint.analysis.prescreen import CLASS, DEF, STATEMENTS, Unit
from peftlint.analysis.pyobjects import yields
from peftlint.analysis.scopes import Scopes
from peftlint.analysis.strings import Strings
from peftlint.analysis.syntax import flatten_targets, identifiers_in, names_assigned
from peftlint.analysis.units import ParsedUnit
from peftlint.analysis.values import (
    NONE,
    UNKNOWN,
    Guard,
    Kind,
    State,
    Value,
    Values,
    join_states,
    make_facts,
    mentions,
    not_empty,
    stable_key,
    without_guards_on,
)
from peftlint.sources import NOTEBOOK_SUFFIX

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.project import Project
    from peftlint.analysis.reach import Reach

MAX_LOOP_PASSES = 3
# A known list or tuple up to this long is walked one pass per element: with its elements joined,
# ``if name == "summarize": get_peft_model(...)`` would be taken again on a later pass
MAX_SEQUENCE = 16
MAX_ALTERNATIVES = 4  # lists a loop may iterate that are walked one by one
# Calls into the analysed code walked per file; past it, a call is summarised from the pre-screen
# (what it can change, what it returns) instead: a bound on pathological files, never reached by
# an ordinary one.
MAX_INLINED_WALKS = 3000


class Interpreter(Scopes, Definitions, Branches, Expressions, Strings, Calls, Parameters, Objects, Imports):
    def __init__(
        self, project: Project, listener: Callable[[CallSite], None] | None = None, reach: Reach | None = None
    ) -> None:
        self.project = project
        self.listener = listener
        self.reach = reach  # None: analyse every function
        self.frames: list[Frame] = []
        self.guards: list[Guard] = []
        self.unit: ParsedUnit | None = None
        self.statement_node: cst.CSTNode | None = None
        self.adapters_disabled = 0  # how many ``with pm.disable_adapter():`` blocks the walk is in
        self.quiet = 0  # > 0: rules hear nothing (an imported module's bindings, default values)
        self.decorating = 0  # > 0: a def statement's decorators are evaluated (definitions.py)
        self.inlining: list[Function] = []
        self.memo: dict[Any, Any] = {}
        self.effect_logs: list[list[Any]] = []
        self.pending: list[Function | ClassInfo] = []
        self.attribute_parents: set[str] = set()
        self.index_names: set[str] = set()  # names used as the index of a subscript key
        self.inlined: set[int] = set()  # functions analysed in some caller's context
        self.object_names: dict[object, str] = {}  # strings.objects_named
        self.anchor = ""  # the analysed file
        self.inline_budget = MAX_INLINED_WALKS
        self.depth_limit = MAX_INLINE_DEPTH
        self._statements: dict[type, Callable[[Any], object]] = {
            cst.SimpleStatementLine: self.simple_line,
            cst.If: self.if_statement,
            cst.For: self.for_statement,
            cst.While: self.while_statement,
            cst.Try: self.try_statement,
            cst.TryStar: self.try_statement,
            cst.With: self.with_statement,
            cst.FunctionDef: self.function_def,
            cst.ClassDef: self.class_def,
            cst.Match: self.match_statement,
        }
        self._small: dict[type, Callable[[Any], object]] = {
            cst.Expr: lambda n: self.expression(n.value, discarded=True),
            cst.Assign: self.assign,
            cst.AnnAssign: self.ann_assign,
            cst.AugAssign: self.aug_assign,
            cst.Return: self.return_statement,
            cst.Raise: self.raise_statement,
            cst.Break: self.jump,
            cst.Continue: self.jump,
            cst.Del: self.delete,
            cst.Import: self.import_statement,
            cst.ImportFrom: self.import_from,
            cst.Assert: self.assert_statement,
            cst.Pass: lambda n: None,
            cst.Global: self.global_statement,
            cst.Nonlocal: lambda n: None,
        }

    # ----------------------------------------------------------------- entry points
    def run(self, scope: ModuleScope) -> None:
        """Analyse a module: its statements in order, then every def and class worth analysing
        on its own (one that can reach a call some rule reports at)."""
        self.anchor = scope.path
        frame = self.module_frame(scope)
        self.walk_module(scope, frame)
        if frame.state is None:
            # ``sys.exit(main())`` ends the script: the defs analysed on their own still see the
            # module as its statements left it (its imports first)
            frame.state = frame.ended
        self.frames.append(frame)
        self.depth_limit = MAX_INLINE_DEPTH_ALONE
        try:
            while self.pending:
                item = self.pending.pop(0)
                if isinstance(item, ClassInfo):
                    self.apart(frame, lambda item=item: self.analyse_class(item))  # type: ignore[misc]
                elif id(item) not in self.inlined:
                    self.apart(frame, lambda item=item: self.analyse_function_alone(item))  # type: ignore[misc]
        finally:
            self.frames.pop()
            self.depth_limit = MAX_INLINE_DEPTH

    def module_frame(self, scope: ModuleScope) -> Frame:
        frame = Frame(state={}, parent=None, module=scope, kind="module")
        scope.frame = frame
        frame.state["__name__"] = UNKNOWN if not scope.imported else self.string_value(scope.name)  # type: ignore[index]
        if not scope.path.endswith(NOTEBOOK_SUFFIX):  # a notebook has no ``__file__``
            frame.state["__file__"] = self.strings(None, [paths.module_file(scope.path)])  # type: ignore[index]
        return frame

    def walk_module(self, scope: ModuleScope, frame: Frame) -> None:
        self.frames.append(frame)
        try:
            source = scope.source
            if source.units is None:
                parsed = source.whole()
                self.walk_statements(parsed, parsed.statements())
            else:
                for unit in source.units:
                    if frame.state is None:
                        break
                    self.module_unit(source.parse, unit)
        finally:
            self.frames.pop()

    def module_unit(self, parse: Callable[[Unit], ParsedUnit], unit: Unit) -> None:
        if unit.kind == STATEMENTS:
            parsed = parse(unit)
            self.walk_statements(parsed, parsed.statements())
        elif unit.kind == DEF:
            function = self.lazy_function(unit.name or "", lambda: def_of(parse(unit)), owner=None)
            function.source_unit = unit
            value = self.function_value(function)
            replaced = self.decorate(function, value) if self.runs_decorators(unit) else None
            self.bind(function.name, replaced if replaced is not None else value)  # ``@register(...)`` ran
            if self.reaches(unit) and not self.frame.module.imported:
                self.pending.append(function)
        elif unit.kind == CLASS and not unit.members:
            parsed = parse(unit)
            self.walk_statements(parsed, parsed.statements())
        else:
            self.split_class(parse, unit)

    def walk_statements(self, parsed: ParsedUnit, statements: Sequence[cst.BaseStatement]) -> None:
        saved, self.unit = self.unit, parsed
        try:
            for statement in statements:
                before = self.frame.state
                if before is None:
                    return
                self.statement(statement)
                if self.frame.state is None and self.frame.kind == "module":
                    self.frame.ended = before
        finally:
            self.unit = saved

    def reaches(self, unit: Unit | None) -> bool:
        return self.reach is None or unit is None or self.reach.unit_reaches(unit)

    def run_function(
        self,
        function: Function,
        bindings: dict[str, Values],
        call_chain: tuple[Any, ...],
        placeholders: dict[str, tuple[str, str]] | None = None,
    ) -> tuple[Values, State, bool]:
        """Walk a function body with its parameters bound: what it returns, the state at its
        exits, and whether it can return at all (False: every path raises or exits)."""
        parsed, node = function.loaded()
        for key in bindings:
            if "." in key:
                self.note_parents(key)
        frame = Frame(state=dict(bindings), parent=function.parent, module=function.parent.module, function=function)
        frame.call_chain = call_chain
        frame.placeholders = placeholders or {}
        frame.globals = set()
        self.frames.append(frame)
        saved_guards, self.guards = self.guards, list(self.guards)
        saved_unit, self.unit = self.unit, parsed
        try:
            if isinstance(node, cst.Lambda):
                frame.returns.append((self.expression(node.body), dict(frame.state or {})))
                frame.state = None
            else:
                self.block(node.body)
        finally:
            self.guards = saved_guards
            self.unit = saved_unit
            self.frames.pop()
        if frame.yields:
            returned = frozenset().union(*frame.yields)  # a generator (a yield fixture): what it yields
        else:
            returned = frozenset().union(*(values for values, _ in frame.returns))
        ends: list[State | None] = [state for _, state in frame.returns]
        if frame.state is not None:
            ends.append(frame.state)
            returned |= NONE if not frame.yields else frozenset()
        returns = bool(frame.returns) or frame.state is not None or bool(frame.yields)
        end = join_states(ends) or {}
        # a closure made in the call reads its free names as the call left them (a cell's last
        # value): ``register(name)`` returns ``deco``, which reads ``name`` when called later
        frame.state = dict(end)
        return returned, end, returns

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    def new_value(self, kind: Kind, node: cst.CSTNode, note: str | None = None, **facts: Any) -> Value:
        origin = (self.origin(node, note),) if note else ()
        site = (id(node), tuple(id(o.node) for o in self.frame.call_chain))
        return Value(kind, site=site, origin=origin, guards=frozenset(self.guards), facts=make_facts(**facts))

    def origin(self, node: cst.CSTNode, note: str) -> Any:
        from peftlint.analysis.values import Origin

        return Origin(self.unit, node, note, self.statement_node)

    # ----------------------------------------------------------------- statements
    def block(self, body: cst.BaseSuite | Sequence[cst.BaseStatement]) -> None:
        statements: Sequence[Any]
        if isinstance(body, cst.SimpleStatementSuite):
            statements = [body]
        elif isinstance(body, cst.IndentedBlock):
            statements = body.body
        else:
            statements = body  # type: ignore[assignment]
        depth = len(self.guards)  # guards an early exit put on the rest of this block end with it
        try:
            for statement in statements:
                if self.frame.state is None:
                    return
                self.statement(statement)
        finally:
            del self.guards[depth:]

    def statement(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.SimpleStatementSuite):
            self.simple_line(node)
            return
        handler = self._statements.get(type(node))
        saved, self.statement_node = self.statement_node, node
        try:
            if handler is not None:
                handler(node)
        finally:
            self.statement_node = saved

    def simple_line(self, node: cst.SimpleStatementLine | cst.SimpleStatementSuite) -> None:
        saved, self.statement_node = self.statement_node, node
        try:
            for small in node.body:
                if self.frame.state is None:
                    return
                handler = self._small.get(type(small))
                if handler is not None:
                    handler(small)
        finally:
            self.statement_node = saved

    def assign(self, node: cst.Assign) -> None:
        values = self.expression(node.value)
        for target in node.targets:
            if isinstance(target.target, cst.Attribute):
                training.set_attribute(self, target.target, node.value)
            self.assign_target(target.target, values)
        if _is_test(node.value):  # ``training = do_train = args.mode == "train"``: each name is the test
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self.frame.tests[target.target.value] = node.value

    def ann_assign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self.assign_target(node.target, self.expression(node.value))
        elif self.frame.kind == "class":
            self.assign_target(node.target, UNKNOWN)

    def aug_assign(self, node: cst.AugAssign) -> None:
        right = self.expression(node.value)
        key = conditions.key_of(node.target)
        left = (self.lookup(key) if key is not None else None) or UNKNOWN
        operator = type(node.operator).__name__.replace("Assign", "")
        self.assign_target(node.target, self.binary(operator, left, right))

    def return_statement(self, node: cst.Return) -> None:
        values = self.feasible(self.expression(node.value)) if node.value is not None else NONE
        if node.value is not None:
            values = self.with_key_attributes(node.value, values)
        if self.frame.state is not None:
            self.frame.returns.append((values, dict(self.frame.state)))
        self.frame.state = None

    def raise_statement(self, node: cst.Raise) -> None:
        if node.exc is not None:
            self.expression(node.exc)
        self.frame.state = None

    def jump(self, node: cst.Break | cst.Continue) -> None:
        if self.frame.loops:
            loop = self.frame.loops[-1]
            (loop.breaks if isinstance(node, cst.Break) else loop.continues).append(self.frame.state)
        self.frame.state = None

    def delete(self, node: cst.Del) -> None:
        for target in flatten_targets(node.target):
            key = conditions.key_of(target)
            if key is not None:
                self.bind(key, UNKNOWN)

    def global_statement(self, node: cst.Global) -> None:
        if self.frame.kind == "function":
            self.frame.globals.update(item.name.value for item in node.names)

    def assert_statement(self, node: cst.Assert) -> None:
        self.expression(node.test)
        self.frame.state = self.refined(self.frame.state, node.test, True)

    def with_statement(self, node: cst.With) -> None:
        managers = []
        for item in node.items:
            value = self.expression(item.item)  # ``__enter__`` runs either way
            managers.append(value)
            # ``@contextmanager`` on a def of the run: ``with f() as x`` binds what it yields
            entered = value if self.context_generator(item.item) else self.entered(value, item.item)
            if item.asname is not None:
                self.assign_target(item.asname.name, entered)
        methods = {
            i.item.func.attr.value
            for i in node.items
            if isinstance(i.item, cst.Call) and isinstance(i.item.func, cst.Attribute)
        }
        if methods & _EXPECTS_RAISE:
            # ``with pytest.raises(ValueError):`` the block is meant to raise: its calls are not
            # misuse, and what runs after it starts from what held before it
            entry = None if self.frame.state is None else dict(self.frame.state)
            self.quiet += 1
            try:
                self.block(node.body)
            finally:
                self.quiet -= 1
            self.frame.state = entry
            return
        # ``with pm.disable_adapter():``: what runs inside uses no adapter, on purpose
        disabling = "disable_adapter" in methods
        self.adapters_disabled += disabling
        try:
            self.block(node.body)
        finally:
            self.adapters_disabled -= disabling
        for item, value in reversed(list(zip(node.items, managers, strict=True))):
            name = conditions.key_of(item.asname.name) if item.asname is not None else None
            self.exited(value, item.item, self.lookup(name) if name is not None else None)

    def loop(
        self,
        head: Callable[[int], None],
        body: cst.BaseSuite,
        orelse: cst.Else | None,
        test: cst.BaseExpression | None = None,
        exactly: int | None = None,
        targets: frozenset[str] = frozenset(),
        last: frozenset[Guard] = frozenset(),
    ) -> None:
        """``head(i)`` binds what pass ``i`` iterates; ``exactly``: the loop makes that many passes
        (a ``for`` over a known list or dict), else up to MAX_LOOP_PASSES stand for any number;
        ``last``: tests that hold on the last pass only (loops.last_pass_guards)."""
        entry = self.frame.state
        loop = Loop(targets=targets)
        self.frame.loops.append(loop)
        # The first iterations, each walked from where the one before left off (not from a join
        # with the entry): ``if self.active is not None: self.model = self.model.unload()`` then
        # a load that sets both: the second iteration sees both set, never one without the other.
        # After the loop: what any number of them, zero included, can leave (exactly so many:
        # what the last leaves).
        ends = [entry]
        start = entry
        # each pass of a known list binds its own element, and every pass computes the body's own
        # names anew: a test an earlier pass made of them (``if step == "lora":``, ``if acc >=
        # target: break``) says nothing of this pass's values. (A test of an element of a list the
        # analysis does not know, ``if stage.merge:``, stays: which items say what is the list's.)
        stale = (targets if exactly is not None else frozenset()) | (names_assigned(body) - targets)
        # ``while args.mode == "serve":``: the body runs under the test, as an ``if``'s would (not the
        # parts about names the body rebinds: ``while not done: ... done = True``)
        held = [g for g in self.test_guards(test, True) if not any(mentions(g[0], n) for n in stale)] if test else []
        for index in range(MAX_LOOP_PASSES if exactly is None else exactly):
            self.frame.state = None if start is None else dict(start)
            if index and stale and self.frame.state is not None:
                self.frame.state = {key: without_guards_on(values, stale) for key, values in self.frame.state.items()}
            head(index)
            if test is not None:
                self.frame.state = self.refined(self.frame.state, test, True)
            if self.frame.state is not None:
                depth = len(self.guards)
                self.guards.extend(held)
                try:
                    self.block(body)
                finally:
                    del self.guards[depth:]
            back = join_states([self.frame.state, *loop.continues])
            loop.continues.clear()
            if back is None or (back == start and exactly is None):
                break  # the body always leaves (break, return, raise), or changes nothing more
            ends.append(back)
            start = self.continuing(back, last)  # what the last pass made does not reach another
        self.frame.loops.pop()
        if exactly is not None:
            ends = ends[-1:] if len(ends) == exactly + 1 else []
        head_state = join_states(ends) if ends else None
        self.frame.state = None if head_state is None else dict(head_state)
        if test is not None:
            self.frame.state = self.refined(self.frame.state, test, False)
        if orelse is not None and self.frame.state is not None:
            self.block(orelse.body)
        self.frame.state = join_states([self.frame.state, *loop.breaks])

    def for_statement(self, node: cst.For) -> None:
        iterated = self.expression(node.iter)
        if self.generator_called(node.iter):
            # ``for epoch, weights in iter_checkpoints(d):`` each pass takes one value the generator
            # yields (a call of it stands for what it yields: a ``with`` or a yield fixture's value)
            iterated = frozenset({self.new_value(Kind.LIST, node.iter, None, items=(iterated,), open=True)})
        elements = self.loop_elements(node.target, node.iter, iterated)
        training.unfreezing_loop(self, node, iterated)
        sequences = _sequences(iterated)
        if sequences is None:
            bind_all = lambda _: self.assign_target(node.target, elements)  # noqa: E731
            last = self.last_pass_guards(node)
            self.loop(bind_all, node.body, node.orelse, targets=identifiers_in(node.target), last=last)
            return
        # ``for name, stage in STAGES.items():`` each stage once, in order; a loop over one of
        # several such lists (``steps = [a] if train else [b]``) walks each list on its own
        entry = self.frame.state
        ends = []
        for sequence in sequences:
            self.frame.state = None if entry is None else dict(entry)
            bind = lambda i, items=sequence: self.assign_target(node.target, items[i])  # noqa: E731
            self.loop(bind, node.body, node.orelse, exactly=len(sequence), targets=identifiers_in(node.target))
            ends.append(self.frame.state)
        self.frame.state = join_states(ends)

    def generator_called(self, node: cst.BaseExpression) -> bool:
        """``node`` calls a def of the analysed code that yields."""
        if not isinstance(node, cst.Call) or not isinstance(node.func, (cst.Name, cst.Attribute)):
            return False
        called = self.quietly(lambda: self.expression(node.func))
        functions = [v.fact("function") for v in called if v.kind is Kind.FUNCTION and v.fact("function")]
        return bool(functions) and len(functions) == len(called) and all(map(yields, functions))

    def context_generator(self, node: cst.BaseExpression) -> bool:
        """``node`` calls a def of the analysed code that yields, made a context manager by
        ``contextlib.contextmanager`` (or its async twin)."""
        if not self.generator_called(node):
            return False
        called = self.quietly(lambda: self.expression(node.func))  # type: ignore[attr-defined]
        for value in called:
            function = value.fact("function")
            if function.decorators is None:
                function.decorators = self.function_decorators(function)
            if not any(name.rsplit(".", 1)[-1] in _CONTEXT_MANAGERS for name in function.decorators):
                return False
        return True

    def while_statement(self, node: cst.While) -> None:
        self.loop(lambda _: None if self.expression(node.test) else None, node.body, node.orelse, test=node.test)

    def quietly(self, evaluate: Callable[[], Values]) -> Values:
        self.quiet += 1
        try:
            return evaluate()
        finally:
            self.quiet -= 1


_EXPECTS_RAISE = frozenset({"raises", "assertRaises", "assertRaisesRegex"})


def _sequences(iterated: Values) -> list[tuple[Values, ...]] | None:
    """The elements of each list or tuple the loop may iterate, known item by item (a display,
    ``d.items()`` of a dict display) and short enough to walk one pass per element; None if any
    value is something else, or there are more than MAX_ALTERNATIVES of them."""
    if not not_empty(iterated) or len(iterated) > MAX_ALTERNATIVES:
        return None
    found = [tuple(value.fact("items")) for value in sorted(iterated, key=stable_key)]
    return found if all(len(items) <= MAX_SEQUENCE for items in found) else None


_CONTEXT_MANAGERS = frozenset({"contextmanager", "asynccontextmanager"})


def _is_test(node: cst.BaseExpression) -> bool:
    """A comparison, ``not x`` or ``a and b``: a value that is a branch condition."""
    if isinstance(node, cst.UnaryOperation):
        return isinstance(node.operator, cst.Not)
    return isinstance(node, (cst.Comparison, cst.BooleanOperation))
