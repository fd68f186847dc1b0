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

from peftlint.analysis import conditions, names
from peftlint.analysis.calls import Calls
from peftlint.analysis.expressions import Expressions
from peftlint.analysis.frames import ClassInfo, Frame, Function, Loop, ModuleScope
from peftlint.analysis.prescreen import CLASS, DEF, STATEMENTS, Unit
from peftlint.analysis.units import ParsedUnit, unit_node
from peftlint.analysis.values import (
    NONE,
    UNKNOWN,
    Guard,
    Kind,
    State,
    Value,
    Values,
    join_branches,
    join_states,
    make_facts,
)

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.project import Project
    from peftlint.analysis.reach import Reach

MAX_LOOP_PASSES = 3
UNKNOWN_CODE = "__peftlint_unknown_code__"  # a notebook cell that does not parse: anything may have happened


class Interpreter(Expressions, Calls):
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
        self.quiet = 0  # > 0: rules hear nothing (an imported module's bindings, default values)
        self.inlining: list[Function] = []
        self.memo: dict[Any, Any] = {}
        self.effect_logs: list[list[Any]] = []
        self.pending: list[Function | ClassInfo] = []
        self.attribute_parents: set[str] = set()
        self.index_names: set[str] = set()  # names used as the index of a subscript key
        self.inlined: set[int] = set()  # functions analysed in some caller's context
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
        frame = self.module_frame(scope)
        self.walk_module(scope, frame)
        self.frames.append(frame)
        try:
            while self.pending:
                item = self.pending.pop(0)
                if isinstance(item, ClassInfo):
                    self.analyse_class(item)
                elif id(item) not in self.inlined:
                    self.analyse_function_alone(item)
        finally:
            self.frames.pop()

    def module_frame(self, scope: ModuleScope) -> Frame:
        frame = Frame(state={}, parent=None, module=scope, kind="module")
        scope.frame = frame
        frame.state["__name__"] = UNKNOWN if not scope.imported else self.string_value(scope.name)  # type: ignore[index]
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
            function = self.lazy_function(unit.name or "", lambda: _def_of(parse(unit)), owner=None)
            function.source_unit = unit
            self.bind(function.name, self.function_value(function))
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
                if self.frame.state is None:
                    return
                self.statement(statement)
        finally:
            self.unit = saved

    def reaches(self, unit: Unit | None) -> bool:
        return self.reach is None or unit is None or self.reach.unit_reaches(unit)

    def analyse_function_alone(self, function: Function) -> None:
        """A def no analysed call reached, with what its parameters' annotations, defaults and
        (for a test) pytest fixtures say."""
        if function.owner is None:
            bindings = {param.name.value: self.parameter_values(function, param) for param in function.params()}
            self.run_function(function, bindings, call_chain=())

    def analyse_class(self, info: ClassInfo) -> None:
        """``__init__`` first; every other method then starts from the attributes it set."""
        if info.analysed:
            return
        info.analysed = True
        instance = self.instance_value(info, site=("self", id(info)), attrs={})
        self_state: State = {}
        init = info.lookup("__init__")
        if init is not None:
            bindings = {p.name.value: self.parameter_values(init, p) for p in init.params()[1:]}
            first = _first_param(init)
            if first is not None:
                bindings[first] = frozenset({instance})
            _, end, _ = self.run_function(init, bindings, call_chain=())
            self_state = {k[len(first) :]: v for k, v in end.items() if first and k.startswith(first + ".")}
        for name, method in sorted(info.members.items()):
            if name == "__init__" or id(method) in self.inlined or not self.function_reaches(method):
                continue
            self.analyse_method_alone(method, instance, self_state)

    def analyse_method_alone(self, method: Function, instance: Value, self_state: State) -> None:
        params = method.params()
        bindings = {p.name.value: self.parameter_values(method, p) for p in params}
        first = _first_param(method)
        if first is not None and not method.is_static():
            bindings[first] = frozenset({instance}) if not method.is_classmethod() else UNKNOWN
            if not method.is_classmethod():
                bindings.update({first + key: values for key, values in self_state.items()})
        self.run_function(method, bindings, call_chain=())

    def run_function(
        self, function: Function, bindings: dict[str, Values], call_chain: tuple[Any, ...]
    ) -> tuple[Values, State, bool]:
        """Walk a function body with its parameters bound: what it returns, the state at its
        exits, and whether it can return at all (False: every path raises or exits)."""
        parsed, node = function.loaded()
        for key in bindings:
            if "." in key:
                self.note_parents(key)
        frame = Frame(state=dict(bindings), parent=function.parent, module=function.parent.module, function=function)
        frame.call_chain = call_chain
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
        return returned, join_states(ends) or {}, returns

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    # ----------------------------------------------------------------- state helpers
    def lookup(self, key: str) -> Values | None:
        """What ``key`` holds here, or None when no scope binds it (nor its root object).

        A name a function has not bound on any path so far is read from the enclosing scope; Python
        would call a read before the assignment an UnboundLocalError, which is no concern of ours.
        """
        root = _root(key)
        frame: Frame | None = self.frame
        assert frame is not None
        if root in frame.globals:
            frame = frame.module_frame()
        while frame is not None:
            state = frame.state
            if state is not None:
                found = state.get(key)
                if found is not None:
                    return found
                if root in state:
                    return None  # the object is bound here; that attribute is its own business
            if frame.kind == "module":
                break
            frame = frame.parent
            while frame is not None and frame.kind == "class":
                frame = frame.parent  # a method does not see its class's names
        return None

    def bind(self, key: str, values: Values) -> None:
        """Rebinding ``x`` kills the facts about ``x.attr`` and ``x[...]`` too."""
        frame = self.frame
        if _root(key) in frame.globals:
            frame = frame.module_frame()
            for log in self.effect_logs:
                log.append(("global", frame, key, values))
        state = frame.state
        if state is None:
            return
        if key in self.attribute_parents:  # the scan costs; most keys never have attribute facts
            for existing in [k for k in state if k.startswith((key + ".", key + "["))]:
                del state[existing]
        if key in self.index_names:  # `bases[i]` named another slot before `i` changed
            for existing in [k for k in state if f"[{key}]" in k]:
                del state[existing]
        if "." in key or "[" in key:
            self.note_parents(key)
            index = conditions.index_name(key)
            if index is not None:
                self.index_names.add(index)
        state[key] = values

    def note_parents(self, key: str) -> None:
        start = 0
        for index, char in enumerate(key):
            if char in ".[" and index > start:
                self.attribute_parents.add(key[:index])

    def attributes_of_key(self, key: str) -> dict[str, Values]:
        """``x.a`` bindings of the scopes visible here, for the object ``x`` names (one level)."""
        if key not in self.attribute_parents:
            return {}
        found: dict[str, Values] = {}
        prefix = key + "."
        frame: Frame | None = self.frame
        while frame is not None:
            if frame.state is not None:
                for existing, values in frame.state.items():
                    rest = existing[len(prefix) :]
                    if existing.startswith(prefix) and "." not in rest and "[" not in rest:
                        found.setdefault(rest, values)
                if _root(key) in frame.state:
                    break
            if frame.kind == "module":
                break
            frame = frame.parent
        return found

    def transform_everywhere(self, sites: set[object], change: Callable[[Value], Value]) -> None:
        """An in-place change of an object reaches every name that holds it, in every live frame,
        and every container or object that holds it."""
        if not sites:
            return
        for log in self.effect_logs:
            log.append(("transform", frozenset(sites), change))
        seen: set[int] = set()
        for frame in reversed(self.frames):
            current: Frame | None = frame
            while current is not None and id(current) not in seen:
                seen.add(id(current))
                if current.state is not None:
                    for key, values in current.state.items():
                        changed = _rewrite(values, sites, change)
                        if changed is not values:
                            current.state[key] = changed
                current = current.parent

    def new_value(self, kind: Kind, node: cst.CSTNode, note: str | None = None, **facts: Any) -> Value:
        origin = (self.origin(node, note),) if note else ()
        site = (id(node), tuple(id(o.node) for o in self.frame.call_chain))
        return Value(kind, site=site, origin=origin, guards=frozenset(self.guards), facts=make_facts(**facts))

    def origin(self, node: cst.CSTNode, note: str) -> Any:
        from peftlint.analysis.values import Origin

        return Origin(self.unit, node, note)

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
            self.assign_target(target.target, values)

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
        for target in _flatten_targets(node.target):
            key = conditions.key_of(target)
            if key is not None:
                self.bind(key, UNKNOWN)

    def global_statement(self, node: cst.Global) -> None:
        if self.frame.kind == "function":
            self.frame.globals.update(item.name.value for item in node.names)

    def assert_statement(self, node: cst.Assert) -> None:
        self.expression(node.test)
        self.frame.state = self.refined(self.frame.state, node.test, True)

    def import_statement(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = self.dotted(alias.name)
            if alias.asname is not None:
                self.bind(_as_name(alias.asname), self.import_value(dotted))
            else:
                root = dotted.split(".", 1)[0]
                self.bind(root, self.import_value(root))

    def import_from(self, node: cst.ImportFrom) -> None:
        module = "." * len(node.relative) + (self.dotted(node.module) if node.module is not None else "")
        if isinstance(node.names, cst.ImportStar):
            self.bind_star(module)
            return
        for alias in node.names:
            name = self.dotted(alias.name)
            local = _as_name(alias.asname) if alias.asname is not None else name
            separator = "" if module.endswith(".") else "."
            self.bind(local, self.import_value(f"{module}{separator}{name}"))

    def bind_star(self, module: str) -> None:
        root = module.split(".", 1)[0]
        if root in names.STAR_EXPORTS:
            self.frame.module.star_imports.add(root)

    def with_statement(self, node: cst.With) -> None:
        for item in node.items:
            entered = self.expression(item.item)
            if item.asname is not None:
                self.assign_target(item.asname.name, self.entered(entered))
        self.block(node.body)

    def if_statement(self, node: cst.If) -> None:
        self.expression(node.test)
        before = self.frame.state
        true_guards = conditions.guards(node.test, True, self.code)
        false_guards = conditions.guards(node.test, False, self.code)
        after_true = self.branch(self.refined(before, node.test, True), true_guards, lambda: self.block(node.body))
        false_entry = self.refined(before, node.test, False)
        orelse = node.orelse
        if isinstance(orelse, cst.If):  # ``elif``: an ``if`` alone in the else branch
            after_false = self.branch(false_entry, false_guards, lambda: self.statement(orelse))
        elif isinstance(orelse, cst.Else):
            after_false = self.branch(false_entry, false_guards, lambda: self.block(orelse.body))
        else:
            after_false = false_entry
        self.frame.state = join_branches([(after_true, true_guards[0]), (after_false, false_guards[0])])
        if after_true is None and after_false is not None:
            self.guards.extend(false_guards)  # `if c: return`: the rest of the block runs only when not c
        elif after_false is None and after_true is not None:
            self.guards.extend(true_guards)

    def refined(self, state: State | None, test: cst.BaseExpression, polarity: bool) -> State | None:
        """``state`` as a branch sees it when ``test`` has truth value ``polarity``; None if it cannot."""
        if state is None:
            return None
        branch = dict(state)
        for refinement in conditions.refinements(test, polarity, self.resolve_classes):
            root = _root(refinement.key)
            values = branch.get(refinement.key)
            if values is None:
                if root not in branch and self.frame.kind != "module":
                    saved, self.frame.state = self.frame.state, branch
                    try:
                        values = self.lookup(refinement.key)
                    finally:
                        self.frame.state = saved
                    if values is None:
                        continue
                else:
                    continue
            kept = conditions.refine(values, refinement.keep)
            if not kept:
                return None  # no value the name can hold makes the test come out this way
            if kept != values:
                branch[refinement.key] = kept
        return branch

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

    def loop(
        self,
        head: Callable[[], None],
        body: cst.BaseSuite,
        orelse: cst.Else | None,
        test: cst.BaseExpression | None = None,
    ) -> None:
        entry = self.frame.state
        loop = Loop()
        self.frame.loops.append(loop)
        head_state = entry
        for _ in range(MAX_LOOP_PASSES):
            self.frame.state = None if head_state is None else dict(head_state)
            head()
            if test is not None:
                self.frame.state = self.refined(self.frame.state, test, True)
            if self.frame.state is not None:
                self.block(body)
            back = join_states([self.frame.state, *loop.continues])
            loop.continues.clear()
            new_head = join_states([entry, back])
            if new_head == head_state:
                break
            head_state = new_head
        self.frame.loops.pop()
        self.frame.state = None if head_state is None else dict(head_state)
        if test is not None:
            self.frame.state = self.refined(self.frame.state, test, False)
        if orelse is not None and self.frame.state is not None:
            self.block(orelse.body)
        self.frame.state = join_states([self.frame.state, *loop.breaks])

    def for_statement(self, node: cst.For) -> None:
        elements = self.iterate(self.expression(node.iter))
        self.loop(lambda: self.assign_target(node.target, elements), node.body, node.orelse)

    def while_statement(self, node: cst.While) -> None:
        self.loop(lambda: None if self.expression(node.test) else None, node.body, node.orelse, test=node.test)

    def try_statement(self, node: cst.Try | cst.TryStar) -> None:
        seen: list[State | None] = [self.frame.state]
        depth = len(self.guards)
        for statement in _statements_of(node.body):
            if self.frame.state is None:
                break
            self.statement(statement)
            seen.append(self.frame.state)
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
                self.bind(_as_name(handler.name), UNKNOWN)
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
        self.expression(node.subject)
        before = self.frame.state
        ends: list[State | None] = [None if before is None else dict(before)]
        for case in node.cases:
            self.frame.state = None if before is None else dict(before)
            self.bind_pattern(case.pattern)
            if case.guard is not None:
                saved, self.statement_node = self.statement_node, case
                try:
                    self.expression(case.guard)
                finally:
                    self.statement_node = saved
            self.block(case.body)
            ends.append(self.frame.state)
        self.frame.state = join_states(ends)

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
            for name in ("pattern", "patterns", "elements", "elements", "kwds", "value"):
                child = getattr(node, name, None)
                if isinstance(child, (list, tuple)):
                    stack.extend(child)
                elif isinstance(child, cst.CSTNode):
                    stack.append(child)

    # ----------------------------------------------------------------- definitions
    def function_def(self, node: cst.FunctionDef) -> None:
        unit = self.unit
        assert unit is not None
        function = self.lazy_function(node.name.value, lambda: (unit, node), owner=None)
        function.decorators = self.decorator_names(node, evaluate=True)
        self.bind(node.name.value, self.function_value(function))
        if self.frame.kind != "class" and not self.frame.module.imported and self.function_reaches(function):
            self.pending.append(function)

    def function_reaches(self, function: Function) -> bool:
        """Whether a def can reach a call some rule needs (in its own module's terms)."""
        reach = function.parent.module.reach if function.parent.module.imported else self.reach
        if reach is None:
            return True
        if function.source_unit is not None:
            return bool(reach.unit_reaches(function.source_unit))
        node = function.node
        return not isinstance(node, cst.FunctionDef) or bool(reach.node_reaches(node, function.unit))

    def evaluate_imported(self, scope: ModuleScope) -> None:
        """An imported module's bindings, as ``import`` makes them: quietly, nothing pending."""
        saved = (self.frames, self.guards, self.unit, self.statement_node, self.inlining)
        self.frames, self.guards, self.inlining = [], [], []
        self.quiet += 1
        try:
            self.walk_module(scope, self.module_frame(scope))
        finally:
            self.frames, self.guards, self.unit, self.statement_node, self.inlining = saved
            self.quiet -= 1

    def class_def(self, node: cst.ClassDef) -> None:
        unit = self.unit
        info = self.new_class(node)
        frame = Frame(state={}, parent=self.frame, module=self.frame.module, kind="class")
        self.frames.append(frame)
        try:
            for statement in _statements_of(node.body):
                if isinstance(statement, cst.FunctionDef):
                    member = self.lazy_function(statement.name.value, _loader(unit, statement), owner=info)
                    member.decorators = self.decorator_names(statement)
                    info.members[member.name] = member
                elif frame.state is not None:
                    self.statement(statement)
        finally:
            self.frames.pop()
        self.finish_class(info, frame)
        if not self.frame.module.imported and any(self.function_reaches(m) for m in info.members.values()):
            self.pending.append(info)

    def split_class(self, parse: Callable[[Unit], ParsedUnit], unit: Unit) -> None:
        """A class parsed member by member: its header now, each method when it is called."""
        header = parse(unit)
        node = unit_node(header)
        assert isinstance(node, cst.ClassDef)
        saved, self.unit = self.unit, header
        try:
            info = self.new_class(node)
        finally:
            self.unit = saved
        frame = Frame(state={}, parent=self.frame, module=self.frame.module, kind="class")
        reaching = False
        for member in unit.members:
            if member.kind == DEF:
                function = self.lazy_function(member.name or "", _member_loader(parse, member), owner=info)
                function.source_unit = member
                info.members[function.name] = function
                reaching = reaching or self.reaches(member)
            else:
                parsed = parse(member)
                self.frames.append(frame)
                try:
                    self.walk_statements(parsed, parsed.statements())
                finally:
                    self.frames.pop()
        self.finish_class(info, frame)
        if reaching and not self.frame.module.imported:
            self.pending.append(info)

    def new_class(self, node: cst.ClassDef) -> ClassInfo:
        info = ClassInfo(name=node.name.value, parent=self.frame, unit=self.unit, node=node)
        info.decorators = self.decorator_names(node)
        library: list[str] = []
        for base in node.bases:
            if base.keyword is not None or base.star:
                continue
            for value in self.quietly(lambda b=base: self.expression(b.value)):  # type: ignore[misc]
                if value.kind is Kind.CLASS:
                    info.bases.append(value.fact("class"))
                elif value.kind is Kind.IMPORT:
                    library.append(names.canonical(value.fact("qualname")))
        info.library_bases = tuple(library)
        return info

    def finish_class(self, info: ClassInfo, frame: Frame) -> None:
        state = frame.state or {}
        for key, values in state.items():
            if "." not in key and "[" not in key:
                info.attributes[key] = values
                if any(v.kind is Kind.FUNCTION and v.fact("function") is not None for v in values):
                    for value in values:
                        function = value.fact("function")
                        if function is not None and function.owner is None:
                            function.owner = info
                            info.members.setdefault(key, function)
        info.fields = [key for key in state if "." not in key and "[" not in key and key not in info.members]
        self.bind(info.name, frozenset({Value(Kind.CLASS, site=("class", id(info)), facts=(("class", info),))}))

    def lazy_function(self, name: str, load: Callable[[], Any], owner: ClassInfo | None) -> Function:
        return Function(name=name, load=load, parent=self.frame, owner=owner)

    def decorator_names(self, node: cst.FunctionDef | cst.ClassDef, evaluate: bool = False) -> tuple[str, ...]:
        """The canonical names of a def's decorators; ``evaluate``: the def statement runs here, so
        the decorator expressions are evaluated (and their calls heard) first."""
        found = []
        for decorator in node.decorators:
            if evaluate:
                saved, self.statement_node = self.statement_node, decorator
                try:
                    self.expression(decorator.decorator)
                finally:
                    self.statement_node = saved
            expression = decorator.decorator
            if isinstance(expression, cst.Call):
                expression = expression.func
            values = self.quietly(lambda e=expression: self.expression(e))  # type: ignore[misc]
            qualnames = [v.fact("qualname") for v in values if v.kind is Kind.IMPORT]
            if len(qualnames) == 1:
                found.append(names.canonical(qualnames[0]).removeprefix("builtins."))
            elif isinstance(expression, cst.Attribute) and expression.attr.value in ("setter", "getter", "deleter"):
                found.append("property." + expression.attr.value)
        return tuple(found)

    def quietly(self, evaluate: Callable[[], Values]) -> Values:
        self.quiet += 1
        try:
            return evaluate()
        finally:
            self.quiet -= 1


def _root(key: str) -> str:
    for index, char in enumerate(key):
        if char in ".[":
            return key[:index]
    return key


def _rewrite(values: Values, sites: set[object], change: Callable[[Value], Value]) -> Values:
    if not any(v.site in sites or _holds_values(v) for v in values):
        return values
    rewritten = []
    changed = False
    for value in values:
        new = change(value) if value.site in sites else value
        new = _rewrite_facts(new, sites, change)
        changed = changed or new is not value
        rewritten.append(new)
    return frozenset(rewritten) if changed else values


_NESTED = ("items", "entries", "attrs")


def _holds_values(value: Value) -> bool:
    return value.kind in (Kind.TUPLE, Kind.LIST, Kind.DICT, Kind.TRAINER, Kind.DISTRIBUTED, Kind.INSTANCE) or bool(
        value.fact("attrs")
    )


def _rewrite_facts(value: Value, sites: set[object], change: Callable[[Value], Value]) -> Value:
    if not _holds_values(value):
        return value
    updates: dict[str, Any] = {}
    items = value.fact("items")
    if items is not None:
        new_items = tuple(_rewrite(v, sites, change) for v in items)
        if any(a is not b for a, b in zip(new_items, items, strict=True)):
            updates["items"] = new_items
    for name in ("entries", "attrs"):
        pairs = value.fact(name)
        if pairs:
            new_pairs = tuple((k, _rewrite(v, sites, change)) for k, v in pairs)
            if any(a[1] is not b[1] for a, b in zip(new_pairs, pairs, strict=True)):
                updates[name] = new_pairs
    return value.updated(**updates) if updates else value


def _def_of(parsed: ParsedUnit) -> tuple[ParsedUnit, Any]:
    return parsed, unit_node(parsed)


def _loader(unit: ParsedUnit | None, node: cst.FunctionDef) -> Callable[[], tuple[Any, cst.FunctionDef]]:
    return lambda: (unit, node)


def _member_loader(parse: Callable[[Unit], ParsedUnit], member: Unit) -> Callable[[], tuple[Any, Any]]:
    return lambda: _def_of(parse(member))


def _first_param(function: Function) -> str | None:
    params = function.params()
    return params[0].name.value if params else None


def _statements_of(body: cst.BaseSuite) -> Sequence[Any]:
    if isinstance(body, cst.IndentedBlock):
        return body.body
    return [body]


def _as_name(asname: cst.AsName) -> str:
    name = asname.name
    return name.value if isinstance(name, cst.Name) else ""


def _flatten_targets(node: cst.CSTNode) -> list[cst.CSTNode]:
    if isinstance(node, cst.Del):
        return _flatten_targets(node.target)
    if isinstance(node, (cst.Tuple, cst.List)):
        return [leaf for element in node.elements for leaf in _flatten_targets(element.value)]
    return [node]
