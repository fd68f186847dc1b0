"""The shared flow analysis: walk each scope's statements in order and keep, per name and per
attribute path, the abstract values that can reach each point (see values.py).

Rules do not walk the tree. They receive every evaluated call as a ``CallSite`` carrying the
values its receiver and arguments can hold there, already filtered to the paths that are
feasible under the enclosing ``if`` tests.
"""

from __future__ import annotations

import builtins
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import libcst as cst

from peftlint.analysis import names, paths
from peftlint.analysis.values import (
    GUARDED_KINDS,
    MODEL_KINDS,
    NOTHING,
    Guard,
    Kind,
    Origin,
    State,
    Value,
    Values,
    join_branches,
    join_states,
    make_facts,
)

_BUILTINS = frozenset(dir(builtins))
MAX_LOOP_PASSES = 3
MAX_INLINE_DEPTH = 3
MAX_SHAPES = 8

# Methods that return the model they are called on.
SAME_OBJECT_METHODS = frozenset(
    {"to", "cuda", "cpu", "eval", "train", "half", "float", "double", "bfloat16", "requires_grad_", "to_empty"}
)
# Functions and methods whose (single) argument comes back as their result.
PASS_THROUGH_CALLS = frozenset({"torch.compile"})
PASS_THROUGH_METHODS = frozenset({"unwrap_model", "prepare_model", "prepare"})
PATH_IDENTITY_CALLS = frozenset(
    {"builtins.str", "os.fspath", "os.path.abspath", "os.path.expanduser", "os.path.normpath", "os.path.realpath"}
)


@dataclass
class CallSite:
    """One evaluated call, as rules see it."""

    node: cst.Call
    callee: str | None  # canonical qualified name (names.canonical) when the call resolves through imports
    method: str | None  # for ``obj.meth(...)``: ``meth``
    receiver: Values
    args: tuple[Values, ...]
    kwargs: dict[str, Values]
    discarded: bool  # the call is a whole expression statement: its result is dropped
    call_chain: tuple[Origin, ...]  # inlined helper calls that led here, outermost first
    analysis: FileAnalysis
    top: cst.CSTNode | None = None  # the unit that contains the call (see RuleContext.span)

    def arg(self, index: int, keyword: str) -> Values:
        if keyword in self.kwargs:
            return self.kwargs[keyword]
        return self.args[index] if index < len(self.args) else NOTHING

    def arg_node(self, index: int, keyword: str) -> cst.BaseExpression | None:
        return call_argument(self.node, index, keyword)

    def shapes(self, index: int, keyword: str) -> tuple[paths.Shape, ...]:
        node = self.arg_node(index, keyword)
        return self.analysis.walker.shapes_of(node) if node is not None else ()


def call_argument(call: cst.Call, index: int, keyword: str) -> cst.BaseExpression | None:
    positional = [a for a in call.args if a.keyword is None and not a.star]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    return positional[index].value if index < len(positional) else None


class FileAnalysis:
    """Analyse one parsed module and hand every call site to ``on_call``."""

    def __init__(self, module: cst.Module, on_call: Callable[[CallSite], None]) -> None:
        self.module = module
        self.on_call = on_call
        self.walker = _Walker(self)

    def run(self) -> None:
        self.walker.run_module(self.module)

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)


@dataclass
class _Loop:
    breaks: list[State | None] = field(default_factory=list)
    continues: list[State | None] = field(default_factory=list)


@dataclass
class _Frame:
    state: State | None
    parent: _Frame | None
    is_module: bool = False
    returns: list[tuple[Values, State]] = field(default_factory=list)
    loops: list[_Loop] = field(default_factory=list)
    call_chain: tuple[Origin, ...] = ()


@dataclass(frozen=True)
class _FunctionInfo:
    node: cst.FunctionDef
    parent: _Frame
    owner: _ClassInfo | None
    top: cst.CSTNode | None  # the unit its body's positions are computed in (see RuleContext.span)


@dataclass
class _ClassInfo:
    node: cst.ClassDef
    is_module: bool
    methods: dict[str, cst.FunctionDef]


class _Walker:
    def __init__(self, analysis: FileAnalysis) -> None:
        self.analysis = analysis
        self.frames: list[_Frame] = []
        self.guards: list[Guard] = []
        self.functions: dict[int, _FunctionInfo] = {}
        self.classes: dict[int, _ClassInfo] = {}
        self.pending: list[int] = []  # defs to analyse on their own after the module
        self.analysed: set[int] = set()
        self.inlining: list[int] = []
        self.star_imports: set[str] = set()
        self.pending_attributes: dict[str, Values] | None = None
        self.top: cst.CSTNode | None = None  # the module-level statement being walked
        self.plain_calls: dict[int, tuple[Values, State]] = {}  # inlined calls with uninteresting inputs
        self.attribute_roots: set[str] = set()  # roots of every ``x.attr`` key bound in this file

    # ----------------------------------------------------------------- entry points
    def run_module(self, module: cst.Module) -> None:
        frame = _Frame(state={}, parent=None, is_module=True)
        self.frames.append(frame)
        depth = len(self.guards)
        for statement in module.body:
            if frame.state is None:
                break
            self.top = statement
            self.statement(statement)
        del self.guards[depth:]
        while self.pending:
            key = self.pending.pop(0)
            if key in self.analysed:
                continue
            self.analysed.add(key)
            if key in self.classes:
                self.analyse_class(self.classes[key])
            else:
                self.analyse_function_alone(self.functions[key])
        self.frames.pop()

    def analyse_function_alone(self, info: _FunctionInfo) -> None:
        bindings: dict[str, Values] = {}
        for param in _params(info.node):
            bindings[param.name.value] = self.annotation_values(param, info.top)
        self.run_function(info, bindings, call_chain=())

    def analyse_class(self, info: _ClassInfo) -> None:
        this = self.instance_value(info, site=("self", id(info.node)))
        self_state: State = {}
        init = info.methods.get("__init__")
        if init is not None:
            key = id(init)
            self.analysed.add(key)
            _, end = self.run_function(self.functions[key], {"self": frozenset({this})}, call_chain=())
            self_state = {k: v for k, v in end.items() if k.startswith("self.")}
        for name, method in info.methods.items():
            key = id(method)
            if name == "__init__" or key in self.analysed:
                continue
            self.analysed.add(key)
            first = _first_param(method)
            bindings = {p.name.value: self.annotation_values(p, self.functions[key].top) for p in _params(method)}
            if first is not None and not _is_static(method):
                bindings[first] = frozenset({this})
                bindings.update({first + k[4:]: v for k, v in self_state.items()})
            self.run_function(self.functions[key], bindings, call_chain=())

    def run_function(
        self, info: _FunctionInfo, bindings: dict[str, Values], call_chain: tuple[Origin, ...]
    ) -> tuple[Values, State]:
        """Walk a function body with its parameters bound: what it returns, and the state at its exits."""
        node = info.node
        self.attribute_roots.update(key.split(".", 1)[0] for key in bindings if "." in key)
        frame = _Frame(
            state=dict(bindings),
            parent=info.parent,
            call_chain=call_chain,
        )
        self.frames.append(frame)
        saved_guards, saved_top = self.guards, self.top
        self.guards, self.top = list(saved_guards), info.top
        try:
            self.suite(node.body)
        finally:
            self.guards, self.top = saved_guards, saved_top
            self.frames.pop()
        returned = frozenset().union(*(values for values, _ in frame.returns))
        ends: list[State | None] = [state for _, state in frame.returns]
        ends.append(frame.state)
        return returned, join_states(ends) or {}

    @property
    def frame(self) -> _Frame:
        return self.frames[-1]

    # ----------------------------------------------------------------- state helpers
    def lookup(self, key: str) -> Values:
        """What ``key`` can hold here: the innermost frame that binds it (or its root object) decides.

        A name a function has not bound on any path so far is read from the enclosing scope; Python
        would call a read before the assignment an UnboundLocalError, which is no concern of ours.
        """
        root = key.split(".", 1)[0]
        frame: _Frame | None = self.frame
        while frame is not None:
            if frame.state is not None:
                found = frame.state.get(key)
                if found is not None:
                    return found
                if root in frame.state:
                    return NOTHING  # the object is bound here; that attribute has no facts
            if frame.is_module:
                break
            frame = frame.parent
        if "." not in key:
            for module in sorted(self.star_imports):
                if names.STAR_EXPORTS.get(module, lambda _: False)(key):
                    return _import_value(f"{module}.{key}")
            if key in _BUILTINS:
                return _import_value(f"builtins.{key}")
        return NOTHING

    def feasible(self, values: Values) -> Values:
        if not self.guards:
            return values
        return frozenset(v for v in values if v.feasible_under(self.guards))

    def bind(self, key: str, values: Values) -> None:
        """Rebinding ``x`` kills the facts about ``x.attr`` too."""
        state = self.frame.state
        if state is None:
            return
        root = key.split(".", 1)[0]
        if root in self.attribute_roots:  # the scan costs; most names never have attribute facts
            prefix = key + "."
            for existing in [k for k in state if k.startswith(prefix)]:
                del state[existing]
        if "." in key:
            self.attribute_roots.add(root)
        state[key] = values

    def unbind(self, key: str) -> None:
        """``del x``: x holds nothing any more (kept as a key, so reads do not reach an outer x)."""
        state = self.frame.state
        if state is None:
            return
        prefix = key + "."
        for existing in [k for k in state if k.startswith(prefix)]:
            del state[existing]
        state[key] = NOTHING

    def new_value(self, kind: Kind, node: cst.CSTNode, note: str | None = None, **facts: Any) -> Value:
        origin = (Origin(node, note, self.top),) if note else ()
        return Value(kind, site=id(node), origin=origin, guards=frozenset(self.guards), facts=make_facts(**facts))

    def transform_everywhere(self, sites: set[object], change: Callable[[Value], Value]) -> None:
        """An in-place change of an object reaches every name that holds it, in every live frame."""
        seen: set[int] = set()
        for frame in reversed(self.frames):
            current: _Frame | None = frame
            while current is not None and id(current) not in seen:
                seen.add(id(current))
                if current.state is not None:
                    for key, values in current.state.items():
                        if any(v.site in sites for v in values):
                            current.state[key] = frozenset(change(v) if v.site in sites else v for v in values)
                current = current.parent

    # ----------------------------------------------------------------- statements
    def block(self, statements: Sequence[cst.BaseStatement | cst.BaseSmallStatement]) -> None:
        depth = len(self.guards)  # guards an early exit put on the rest of this block end with it
        try:
            for statement in statements:
                if self.frame.state is None:
                    return  # unreachable code after return/raise/break
                self.statement(statement)
        finally:
            del self.guards[depth:]

    def statement(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                if self.frame.state is None:
                    return
                self.small_statement(small)
        elif isinstance(node, cst.If):
            self.if_statement(node)
        elif isinstance(node, cst.For):
            self.for_statement(node)
        elif isinstance(node, cst.While):
            self.while_statement(node)
        elif isinstance(node, (cst.Try, cst.TryStar)):
            self.try_statement(node)
        elif isinstance(node, cst.With):
            for item in node.items:
                self.expression(item.item)
                if item.asname is not None:
                    self.assign_target(item.asname.name, NOTHING)
            self.suite(node.body)
        elif isinstance(node, cst.FunctionDef):
            self.function_def(node)
        elif isinstance(node, cst.ClassDef):
            self.class_def(node)
        elif isinstance(node, cst.Match):
            self.match_statement(node)
        else:
            self.small_statement(node)

    def suite(self, body: cst.BaseSuite) -> None:
        if isinstance(body, cst.IndentedBlock):
            self.block(body.body)
        elif isinstance(body, cst.SimpleStatementSuite):
            self.block(body.body)

    def small_statement(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Expr):
            self.expression(node.value, discarded=True)
        elif isinstance(node, cst.Assign):
            values = self.expression(node.value)
            for target in node.targets:
                self.assign_target(target.target, values)
        elif isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self.assign_target(node.target, self.expression(node.value))
        elif isinstance(node, cst.AugAssign):
            self.expression(node.value)
            self.assign_target(node.target, NOTHING)
        elif isinstance(node, cst.Return):
            values = self.feasible(self.expression(node.value)) if node.value is not None else NOTHING
            if self.frame.state is not None:
                self.frame.returns.append((values, dict(self.frame.state)))
            self.frame.state = None
        elif isinstance(node, cst.Raise):
            if node.exc is not None:
                self.expression(node.exc)
            self.frame.state = None
        elif isinstance(node, (cst.Break, cst.Continue)):
            if self.frame.loops:
                loop = self.frame.loops[-1]
                (loop.breaks if isinstance(node, cst.Break) else loop.continues).append(self.frame.state)
            self.frame.state = None
        elif isinstance(node, cst.Del):
            for deleted in _flatten_targets(node.target):
                key = self.key_of(deleted)
                if key is not None:
                    self.unbind(key)
        elif isinstance(node, cst.Import):
            for alias in node.names:
                qualname = self.analysis.code(alias.name)
                if alias.asname is not None:
                    self.bind(_name_of(alias.asname.name), _import_value(qualname))
                else:
                    root = qualname.split(".", 1)[0]
                    self.bind(root, _import_value(root))
        elif isinstance(node, cst.ImportFrom):
            self.import_from(node)
        elif isinstance(node, cst.Assert):
            self.expression(node.test)
        elif isinstance(node, (cst.Pass, cst.Global, cst.Nonlocal)):
            pass
        else:
            self.visit_children(node)

    def import_from(self, node: cst.ImportFrom) -> None:
        if node.relative or node.module is None:
            module = "." * len(node.relative) + (self.analysis.code(node.module) if node.module else "")
        else:
            module = self.analysis.code(node.module)
        if isinstance(node.names, cst.ImportStar):
            self.star_imports.add(module.split(".", 1)[0])
            return
        for alias in node.names:
            name = self.analysis.code(alias.name)
            local = _name_of(alias.asname.name) if alias.asname is not None else name
            self.bind(local, _import_value(f"{module}.{name}"))

    def if_statement(self, node: cst.If) -> None:
        self.expression(node.test)
        before = self.frame.state
        true_guards = condition_guards(self.analysis, node.test, True)
        false_guards = condition_guards(self.analysis, node.test, False)
        after_true = self.branch(before, true_guards, lambda: self.suite(node.body))
        if isinstance(node.orelse, cst.If):
            elif_ = node.orelse
            after_false = self.branch(before, false_guards, lambda: self.if_statement(elif_))
        elif isinstance(node.orelse, cst.Else):
            orelse = node.orelse
            after_false = self.branch(before, false_guards, lambda: self.suite(orelse.body))
        else:
            after_false = None if before is None else dict(before)
        self.frame.state = join_branches([(after_true, true_guards[0]), (after_false, false_guards[0])])
        if after_true is None and after_false is not None:
            self.guards.extend(false_guards)  # `if c: return`: the rest of the block runs only when not c
        elif after_false is None and after_true is not None:
            self.guards.extend(true_guards)

    def branch(self, before: State | None, guards: list[Guard], walk: Callable[[], None]) -> State | None:
        self.frame.state = None if before is None else dict(before)
        depth = len(self.guards)
        self.guards.extend(guards)
        try:
            walk()
        finally:
            del self.guards[depth:]
        return self.frame.state

    def loop(self, head: Callable[[], None], body: cst.BaseSuite, orelse: cst.Else | None) -> None:
        entry = self.frame.state
        loop = _Loop()
        self.frame.loops.append(loop)
        head_state = entry
        for _ in range(MAX_LOOP_PASSES):
            self.frame.state = None if head_state is None else dict(head_state)
            head()
            self.suite(body)
            back = join_states([self.frame.state, *loop.continues])
            loop.continues.clear()
            new_head = join_states([entry, back])
            if new_head == head_state:
                break
            head_state = new_head
        self.frame.loops.pop()
        self.frame.state = None if head_state is None else dict(head_state)
        if orelse is not None:
            self.suite(orelse.body)
        self.frame.state = join_states([self.frame.state, *loop.breaks])

    def for_statement(self, node: cst.For) -> None:
        self.expression(node.iter)
        self.loop(lambda: self.assign_target(node.target, NOTHING), node.body, node.orelse)

    def while_statement(self, node: cst.While) -> None:
        def head() -> None:
            self.expression(node.test)

        self.loop(head, node.body, node.orelse)

    def try_statement(self, node: cst.Try | cst.TryStar) -> None:
        seen: list[State | None] = [self.frame.state]
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else node.body.body
        depth = len(self.guards)
        for statement in body:
            if self.frame.state is None:
                break
            self.statement(statement)
            seen.append(self.frame.state)
        del self.guards[depth:]
        if node.orelse is not None and self.frame.state is not None:
            self.suite(node.orelse.body)
        ends = [self.frame.state]
        handler_entry = join_states(seen)
        for handler in node.handlers:
            self.frame.state = None if handler_entry is None else dict(handler_entry)
            if handler.type is not None:
                self.expression(handler.type)
            if handler.name is not None:
                self.assign_target(handler.name.name, NOTHING)
            self.suite(handler.body)
            ends.append(self.frame.state)
        after = join_states(ends)
        if node.finalbody is not None:
            self.frame.state = after if after is not None else handler_entry
            self.suite(node.finalbody.body)
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
            self.suite(case.body)
            ends.append(self.frame.state)
        self.frame.state = join_states(ends)

    def function_def(self, node: cst.FunctionDef) -> None:
        for decorator in node.decorators:
            self.expression(decorator.decorator)
        self.functions[id(node)] = _FunctionInfo(node=node, parent=self.frame, owner=None, top=self.top)
        self.pending.append(id(node))
        self.bind(node.name.value, frozenset({Value(Kind.FUNCTION, site=id(node), facts=make_facts(key=id(node)))}))

    def class_def(self, node: cst.ClassDef) -> None:
        is_module = False
        for base in node.bases:
            for value in self.expression(base.value):
                if value.kind is Kind.IMPORT and names.is_module_base_class(names.canonical(value.fact("qualname"))):
                    is_module = True
                elif value.kind is Kind.CLASS and self.classes[value.fact("key")].is_module:
                    is_module = True
        methods: dict[str, cst.FunctionDef] = {}
        info = _ClassInfo(node=node, is_module=is_module, methods=methods)
        if isinstance(node.body, cst.IndentedBlock):
            for statement in node.body.body:
                if isinstance(statement, cst.FunctionDef):
                    methods[statement.name.value] = statement
                    # a method of a module-level class is its own unit for positions (see RuleContext.span)
                    unit = statement if self.top is node else self.top
                    self.functions[id(statement)] = _FunctionInfo(
                        node=statement, parent=self.frame, owner=info, top=unit
                    )
        self.classes[id(node)] = info
        self.pending.append(id(node))
        self.bind(node.name.value, frozenset({Value(Kind.CLASS, site=id(node), facts=make_facts(key=id(node)))}))

    # ----------------------------------------------------------------- assignment
    def key_of(self, node: cst.CSTNode) -> str | None:
        """``model`` -> "model", ``self.model`` -> "self.model"; anything else has no key."""
        if isinstance(node, cst.Name):
            return node.value
        if isinstance(node, cst.Attribute):
            inner = self.key_of(node.value)
            return None if inner is None else f"{inner}.{node.attr.value}"
        return None

    def assign_target(self, target: cst.CSTNode, values: Values) -> None:
        attributes, self.pending_attributes = self.pending_attributes, None
        if isinstance(target, (cst.Tuple, cst.List)):
            # `tokenizer, model = build()` where build returns `tok, model`: element-wise
            elements = [e.value for e in target.elements]
            starred = any(_starred(e) for e in target.elements)
            tuples = [v.fact("items") for v in values if v.kind is Kind.TUPLE and len(v.fact("items")) == len(elements)]
            for index, element in enumerate(elements):
                parts = NOTHING if starred else frozenset().union(*(items[index] for items in tuples))
                self.assign_target(element, parts)
            return
        if isinstance(target, cst.StarredElement):
            self.assign_target(target.value, NOTHING)
            return
        key = self.key_of(target)
        if key is None:
            self.visit_children(target)
            return
        self.bind(key, values)
        if attributes:
            for attribute, attribute_values in attributes.items():
                self.bind(f"{key}.{attribute}", attribute_values)

    # ----------------------------------------------------------------- expressions
    def expression(self, node: cst.CSTNode | None, discarded: bool = False) -> Values:
        if node is None:
            return NOTHING
        return self._expression(node, discarded)

    def _expression(self, node: cst.CSTNode, discarded: bool) -> Values:
        if isinstance(node, cst.Name):
            return self.lookup(node.value)
        if isinstance(node, cst.Attribute):
            return self.attribute(node)
        if isinstance(node, cst.Call):
            return self.call(node, discarded)
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            self.visit_children(node)
            return self.strings(node, self.shapes_of(node))
        if isinstance(node, cst.BinaryOperation):
            self.expression(node.left)
            self.expression(node.right)
            if isinstance(node.operator, (cst.Divide, cst.Add)):
                shapes = self.shapes_of(node)
                return self.strings(node, shapes) if shapes else NOTHING
            return NOTHING
        if isinstance(node, cst.Dict):
            self.visit_children(node)
            return frozenset({self.new_value(Kind.DICT, node)})
        if isinstance(node, (cst.Tuple, cst.List)) and not any(_starred(e) for e in node.elements):
            items = tuple(self.expression(element.value) for element in node.elements)
            if not any(items):
                return NOTHING
            return frozenset({Value(Kind.TUPLE, site=id(node), facts=(("items", items),))})
        if isinstance(node, cst.IfExp):
            self.expression(node.test)
            return self.expression(node.body) | self.expression(node.orelse)
        if isinstance(node, cst.BooleanOperation):
            return self.expression(node.left) | self.expression(node.right)
        if isinstance(node, cst.Await):
            return self.expression(node.expression)
        if isinstance(node, cst.NamedExpr):
            values = self.expression(node.value)
            self.assign_target(node.target, values)
            return values
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            self.comprehension(node)
            return NOTHING
        if isinstance(node, cst.Lambda):
            return NOTHING  # its body runs later, if ever: left alone
        self.visit_children(node)
        return NOTHING

    def visit_children(self, node: cst.CSTNode) -> None:
        for child in _children(node):
            if isinstance(child, cst.BaseExpression):
                self.expression(child)
            elif isinstance(
                child,
                (
                    cst.Arg,
                    cst.Element,
                    cst.DictElement,
                    cst.StarredDictElement,
                    cst.Index,
                    cst.Slice,
                    cst.SubscriptElement,
                    cst.FormattedStringExpression,
                    cst.StarredElement,
                ),
            ):
                self.visit_children(child)

    def comprehension(self, node: cst.CSTNode) -> None:
        """Calls inside are evaluated; the comprehension's own names never leak out."""
        saved = self.frame.state
        self.frame.state = None if saved is None else dict(saved)
        clause: cst.CompFor | None = node.for_in  # type: ignore[attr-defined]
        while clause is not None:
            self.expression(clause.iter)
            self.assign_target(clause.target, NOTHING)
            for condition in clause.ifs:
                self.expression(condition.test)
            clause = clause.inner_for_in
        if isinstance(node, cst.DictComp):
            self.expression(node.key)
            self.expression(node.value)
        else:
            self.expression(node.elt)  # type: ignore[attr-defined]
        self.frame.state = saved

    def attribute(self, node: cst.Attribute) -> Values:
        key = self.key_of(node)
        if key is not None and self.frame.state is not None:
            found = self.lookup(key)
            if found:
                return found
        return self.attribute_of(self.expression(node.value), node.attr.value)

    def strings(self, node: cst.CSTNode, shapes: Sequence[paths.Shape]) -> Values:
        return frozenset(
            Value(Kind.STRING, site=(id(node), shape), guards=frozenset(self.guards), facts=make_facts(shape=shape))
            for shape in shapes
        )

    # ----------------------------------------------------------------- calls
    def call(self, node: cst.Call, discarded: bool) -> Values:
        func = node.func
        receiver: Values = NOTHING
        method: str | None = None
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            receiver = self.feasible(self.expression(func.value))
            callee_values = self.attribute_of(receiver, method)
        else:
            callee_values = self.expression(func)
        args: list[Values] = []
        kwargs: dict[str, Values] = {}
        for arg in node.args:
            values = self.feasible(self.expression(arg.value))
            if arg.keyword is not None:
                kwargs[arg.keyword.value] = values
            elif not arg.star:
                args.append(values)
        qualname = _single_qualname(callee_values)
        callee = names.canonical(qualname) if qualname else None
        site = CallSite(
            node=node,
            callee=callee,
            method=method,
            receiver=receiver,
            args=tuple(args),
            kwargs=kwargs,
            discarded=discarded,
            call_chain=self.frame.call_chain,
            analysis=self.analysis,
            top=self.top,
        )
        self.analysis.on_call(site)
        local = [v for v in callee_values if v.kind in (Kind.FUNCTION, Kind.CLASS)]
        if len(local) == 1:
            return self.call_local(local[0], site, receiver if method else NOTHING)
        if method is not None and callee is None:
            bound = self.bound_method(receiver, method)
            if bound is not None:
                receiver_key = self.key_of(func.value) if isinstance(func, cst.Attribute) else None
                return self.inline(bound, site, receiver_key=receiver_key, receiver=receiver)
        return self.call_result(site)

    def attribute_of(self, receiver: Values, name: str) -> Values:
        """``peft`` . ``PeftModel`` -> the import ``peft.PeftModel``; other values have no facts here."""
        return frozenset().union(
            *(_import_value(f"{value.fact('qualname')}.{name}") for value in receiver if value.kind is Kind.IMPORT)
        )

    def bound_method(self, receiver: Values, method: str) -> _FunctionInfo | None:
        owners = {v.fact("class_key") for v in receiver if v.fact("class_key") is not None}
        if len(owners) != 1:
            return None
        info = self.classes.get(owners.pop())
        if info is None or method not in info.methods:
            return None
        return self.functions[id(info.methods[method])]

    def call_local(self, value: Value, site: CallSite, receiver: Values) -> Values:
        key = value.fact("key")
        if value.kind is Kind.FUNCTION:
            return self.inline(self.functions[key], site, receiver_key=None, receiver=NOTHING)
        info = self.classes[key]
        instance = self.instance_value(info, site=id(site.node))
        init = info.methods.get("__init__")
        if init is not None and len(self.inlining) < MAX_INLINE_DEPTH and id(init) not in self.inlining:
            info_init = self.functions[id(init)]
            _, end = self._run_inline(info_init, site, self.inline_frame(info_init, site, frozenset({instance})))
            attributes = {k[5:]: v for k, v in end.items() if k.startswith("self.")}
            self.pending_attributes = attributes or None
        return frozenset({instance})

    def instance_value(self, info: _ClassInfo, site: object) -> Value:
        kind = Kind.BASE_MODEL if info.is_module else Kind.DICT
        facts: dict[str, Any] = {"class_key": id(info.node)}
        if info.is_module:
            facts.update(model_class=info.node.name.value, local_module=True)
        return Value(kind, site=site, guards=frozenset(self.guards), facts=make_facts(**facts))

    def inline(self, info: _FunctionInfo, site: CallSite, receiver_key: str | None, receiver: Values) -> Values:
        if len(self.inlining) >= MAX_INLINE_DEPTH or id(info.node) in self.inlining:
            return NOTHING
        has_self = info.owner is not None and not _is_static(info.node) and bool(receiver)
        frame = self.inline_frame(info, site, receiver if has_self else None)
        if has_self and receiver_key is not None and self.frame.state is not None:
            first = _first_param(info.node) or "self"
            prefix = receiver_key + "."
            frame.update(
                {first + "." + k[len(prefix) :]: v for k, v in self.frame.state.items() if k.startswith(prefix)}
            )
        first = _first_param(info.node) or "self"
        if any(_interesting(values) for key, values in frame.items() if key != first):
            returned, end = self._run_inline(info, site, frame)
        else:
            # Nothing the rules care about goes in: this context is the plain one, analysed once.
            memo = self.plain_calls.get(id(info.node))
            if memo is None:
                memo = self.plain_calls[id(info.node)] = self._run_inline(info, site, frame)
            returned, end = memo
        if has_self and receiver_key is not None:
            for key, values in end.items():
                if key.startswith(first + "."):
                    self.bind(receiver_key + key[len(first) :], values)
        return returned

    def inline_frame(self, info: _FunctionInfo, site: CallSite, this: Values | None) -> State:
        params = _params(info.node)
        bindings: State = {p.name.value: self.annotation_values(p, info.top) for p in params}
        positional = list(site.args)
        if this is not None and params:
            bindings[params[0].name.value] = this
            params = params[1:]
        for param, values in zip(params, positional, strict=False):
            bindings[param.name.value] = values
        for param in params:
            if param.name.value in site.kwargs:
                bindings[param.name.value] = site.kwargs[param.name.value]
        return bindings

    def _run_inline(self, info: _FunctionInfo, site: CallSite, bindings: State) -> tuple[Values, State]:
        self.inlining.append(id(info.node))
        chain = (*self.frame.call_chain, Origin(site.node, f"{info.node.name.value}() is called here", self.top))
        try:
            return self.run_function(info, bindings, call_chain=chain)
        finally:
            self.inlining.pop()

    def call_result(self, site: CallSite) -> Values:
        """What a call to peft/torch/transformers returns, and what it changes in place."""
        callee, node = site.callee, site.node
        canonical = callee
        if canonical == "peft.get_peft_model" or names.is_peft_model_class(canonical):
            return self.wrap(
                site,
                "get_peft_model" if canonical == "peft.get_peft_model" else _leaf(canonical),
                config=site.arg(1, "peft_config"),
            )
        if canonical is not None and canonical.endswith(".from_pretrained"):
            owner = canonical[: -len(".from_pretrained")]
            if names.is_peft_model_class(owner):
                return self.wrap(site, f"{owner.split('.')[-1]}.from_pretrained", adapter=site.shapes(1, "model_id"))
            if names.is_auto_peft_class(owner):
                return frozenset(
                    {
                        self.new_value(
                            Kind.PEFT_MODEL,
                            node,
                            f"the model got PEFT layers here ({owner.split('.')[-1]}.from_pretrained)",
                        )
                    }
                )
            if names.is_peft_config_class(owner):
                return frozenset(
                    {
                        self.new_value(
                            Kind.PEFT_CONFIG, node, None, config_class=owner.split(".")[-1], from_pretrained=True
                        )
                    }
                )
            if names.is_model_class(owner):
                return frozenset({self.base_model(site, owner)})
        if (
            canonical is not None
            and canonical.endswith(".from_config")
            and names.is_model_class(canonical[: -len(".from_config")])
        ):
            return frozenset({self.base_model(site, canonical[: -len(".from_config")])})
        if names.is_peft_config_class(canonical):
            return frozenset(
                {
                    self.new_value(
                        Kind.PEFT_CONFIG,
                        node,
                        None,
                        config_class=_leaf(canonical),
                        peft_config=self.literal_keywords(node),
                    )
                }
            )
        if canonical is not None and names.is_model_class(canonical):
            return frozenset({self.base_model(site, canonical)})
        if canonical in ("copy.deepcopy", "copy.copy"):
            return frozenset(replace(v, site=("copy", id(node), v.site)) for v in site.arg(0, "x"))
        if canonical == "torch.load":
            return frozenset({self.new_value(Kind.TORCH_LOADED, node, None, shapes=site.shapes(0, "f"))})
        if canonical == "peft.get_peft_model_state_dict":
            return frozenset({self.new_value(Kind.STATE_DICT, node)})
        if canonical in PASS_THROUGH_CALLS and site.args:
            return site.args[0]
        if canonical in PATH_IDENTITY_CALLS or canonical in ("os.path.join", "pathlib.Path"):
            return self.strings(node, self.shapes_of(node))
        if site.method is not None:
            return self.method_result(site)
        return NOTHING

    def method_result(self, site: CallSite) -> Values:
        method, receiver, node = site.method, site.receiver, site.node
        models = frozenset(v for v in receiver if v.kind in MODEL_KINDS)
        if method in SAME_OBJECT_METHODS:
            return models
        if method in PASS_THROUGH_METHODS and len(site.args) == 1 and not site.kwargs:
            return site.args[0]
        if method in ("merge_and_unload", "unload"):
            merged = [v for v in models if v.kind is Kind.PEFT_MODEL]
            if merged:
                facts = {k: v for k, v in merged[0].facts if k in ("model_id", "model_class", "local_module")}
                return frozenset({self.new_value(Kind.BASE_MODEL, node, None, **facts)})
            return NOTHING
        if method == "get_base_model":
            return frozenset(
                replace(v, kind=Kind.INJECTED_BASE, site=("base-of", v.site))
                for v in models
                if v.kind is Kind.PEFT_MODEL
            )
        if method == "state_dict":
            return frozenset({self.new_value(Kind.STATE_DICT, node)})
        return NOTHING

    def base_model(self, site: CallSite, owner: str) -> Value:
        model_id = None
        for shape in site.shapes(0, "pretrained_model_name_or_path"):
            if len(shape) == 1 and shape[0][0] == "lit":
                model_id = shape[0][1]
        return self.new_value(Kind.BASE_MODEL, site.node, None, model_class=owner, model_id=model_id)

    def wrap(self, site: CallSite, how: str, config: Values = NOTHING, adapter: Sequence[paths.Shape] = ()) -> Values:
        """get_peft_model / PeftModel(...) / PeftModel.from_pretrained: a wrapper, and the base injected in place."""
        models = site.arg(0, "model")
        facts: dict[str, Any] = {"wrapped_by": how}
        for value in sorted(models, key=lambda v: v.kind.value):
            for key in ("model_id", "model_class", "local_module", "peft_config", "config_class"):
                if value.fact(key) is not None:
                    facts.setdefault(key, value.fact(key))
        for value in config:
            if value.kind is Kind.PEFT_CONFIG:
                facts.setdefault("peft_config", value.fact("peft_config"))
                facts.setdefault("config_class", value.fact("config_class"))
        if adapter:
            facts["adapter"] = paths.render(adapter[0])
        note = f"the model got PEFT layers here ({how})"
        wrapped = Value(
            Kind.PEFT_MODEL,
            site=id(site.node),
            origin=(Origin(site.node, note, site.top), *site.call_chain),
            guards=frozenset(self.guards),
            facts=make_facts(**facts),
        )
        bases = {v.site for v in models if v.kind is Kind.BASE_MODEL}
        injected_note = Origin(site.node, f"{how} injected PEFT layers into this model in place", site.top)
        self.transform_everywhere(bases, lambda v: replace(v, kind=Kind.INJECTED_BASE, origin=(injected_note,)))
        model_node = site.arg_node(0, "model")
        injected_key = self.key_of(model_node) if model_node is not None else None
        if injected_key is not None and not models:
            self.bind(
                injected_key,
                frozenset(
                    {
                        Value(
                            Kind.INJECTED_BASE,
                            site=("injected", id(site.node)),
                            origin=(injected_note,),
                            guards=frozenset(self.guards),
                        )
                    }
                ),
            )
        return frozenset({wrapped})

    def literal_keywords(self, node: cst.Call) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for arg in node.args:
            if arg.keyword is not None:
                value = _literal(arg.value)
                if value is not _UNKNOWN:
                    result[arg.keyword.value] = value
        return result

    def annotation_values(self, param: cst.Param, top: cst.CSTNode | None) -> Values:
        if param.annotation is None:
            return NOTHING
        annotation = param.annotation.annotation
        qualname = (
            _single_qualname(self.expression(annotation)) if isinstance(annotation, (cst.Name, cst.Attribute)) else None
        )
        canonical = names.canonical(qualname) if qualname else None
        if names.is_peft_model_class(canonical):
            return frozenset(
                {
                    Value(
                        Kind.PEFT_MODEL,
                        site=id(param),
                        origin=(Origin(param, f"annotated as {_leaf(canonical)}", top),),
                    )
                }
            )
        if names.is_module_base_class(canonical):
            return frozenset({Value(Kind.BASE_MODEL, site=id(param), facts=make_facts(model_class=canonical))})
        return NOTHING

    # ----------------------------------------------------------------- path shapes
    def shapes_of(self, node: cst.CSTNode | None) -> tuple[paths.Shape, ...]:
        """Every path shape an expression can have (at most MAX_SHAPES)."""
        if node is None:
            return ()
        return tuple(dict.fromkeys(paths.normalise(s) for s in self._shapes(node)))[:MAX_SHAPES]

    def _shapes(self, node: cst.CSTNode) -> list[paths.Shape]:
        if isinstance(node, cst.SimpleString):
            value = _string_value(node)
            return [paths.literal(value)] if isinstance(value, str) else [paths.placeholder(self.analysis.code(node))]
        if isinstance(node, cst.ConcatenatedString):
            return self._product([node.left, node.right], paths.concat)
        if isinstance(node, cst.FormattedString):
            pieces: list[cst.CSTNode | paths.Shape] = []
            for part in node.parts:
                if isinstance(part, cst.FormattedStringText):
                    pieces.append(paths.literal(part.value))
                elif isinstance(part, cst.FormattedStringExpression):
                    pieces.append(part.expression)
            return self._product(pieces, paths.concat)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            return self._product([node.left, node.right], paths.concat)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
            return self._product([node.left, node.right], lambda *s: paths.join(s))
        if isinstance(node, cst.Call):
            qualname = _single_qualname(self.callee_values(node.func))
            canonical = names.canonical(qualname) if qualname else None
            positional = [a.value for a in node.args if a.keyword is None and not a.star]
            if canonical in ("os.path.join", "pathlib.Path") and positional:
                return self._product(positional, lambda *s: paths.join(s))
            if canonical in PATH_IDENTITY_CALLS and len(positional) == 1:
                return self._shapes(positional[0])
        key = self.key_of(node)
        if key is not None:
            values = self.lookup(key)
            found = [v.fact("shape") for v in values if v.kind is Kind.STRING]
            if found:
                return found
            imported = [v.fact("qualname") for v in values if v.kind is Kind.IMPORT]
            if len(imported) == 1 and not imported[0].startswith("builtins."):
                return [paths.imported(imported[0])]
        return [paths.placeholder(self.analysis.code(node))]

    def _product(
        self, pieces: Sequence[cst.CSTNode | paths.Shape], combine: Callable[..., paths.Shape]
    ) -> list[paths.Shape]:
        combos: list[tuple[paths.Shape, ...]] = [()]
        for piece in pieces:
            options = [piece] if isinstance(piece, tuple) else self._shapes(piece)
            combos = [(*c, o) for c in combos for o in options][:MAX_SHAPES]
        return [combine(*c) for c in combos]

    def callee_values(self, func: cst.BaseExpression) -> Values:
        if isinstance(func, cst.Attribute):
            return self.attribute_of(self.lookup_quiet(func.value), func.attr.value)
        return self.lookup_quiet(func)

    def lookup_quiet(self, node: cst.BaseExpression) -> Values:
        """Values of a name or attribute path, evaluating nothing (no call events)."""
        key = self.key_of(node)
        if key is not None:
            found = self.lookup(key)
            if found or not isinstance(node, cst.Attribute):
                return found
            return self.attribute_of(self.lookup_quiet(node.value), node.attr.value)
        return NOTHING


# ----------------------------------------------------------------- helpers
def condition_guards(analysis: FileAnalysis, test: cst.BaseExpression, polarity: bool) -> list[Guard]:
    """The facts a branch may assume: ``if not a and b`` (true) gives (a, False), (b, True).

    The first guard always stands for the whole test, so joins can tag values with it.
    """
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test, polarity = test.expression, not polarity
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        flips = {cst.IsNot: "is", cst.NotEqual: "==", cst.NotIn: "in"}
        for negative, positive in flips.items():
            if isinstance(target.operator, negative):
                text = f"{_text(analysis, test.left)} {positive} {_text(analysis, target.comparator)}"
                return [(text, not polarity)]
    guards: list[Guard] = [(_text(analysis, test), polarity)]
    if isinstance(test, cst.BooleanOperation):
        conjunctive = isinstance(test.operator, cst.And) == polarity
        if conjunctive:
            guards += condition_guards(analysis, test.left, polarity)
            guards += condition_guards(analysis, test.right, polarity)
    return guards


def _text(analysis: FileAnalysis, node: cst.CSTNode) -> str:
    """A condition's identity, the same for the same expression written twice: built from the
    tree for the usual shapes (names, attributes, calls, comparisons, ``and``/``or``/``not``,
    literals), by codegen, which is slow, only for the rest."""
    key = _condition_key(node)
    return key if key is not None else " ".join(analysis.code(_bare(node)).split())


_OPERATORS: dict[type, str] = {
    cst.Equal: "==", cst.NotEqual: "!=", cst.LessThan: "<", cst.GreaterThan: ">", cst.LessThanEqual: "<=",
    cst.GreaterThanEqual: ">=", cst.In: "in", cst.NotIn: "not in", cst.Is: "is", cst.IsNot: "is not",
    cst.And: "and", cst.Or: "or", cst.Not: "not",
}  # fmt: skip


def _condition_key(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        inner = _condition_key(node.value)
        return None if inner is None else f"{inner}.{node.attr.value}"
    if isinstance(node, (cst.Integer, cst.Float, cst.SimpleString)):
        return node.value
    if isinstance(node, cst.Call) and not any(arg.star for arg in node.args):
        func = _condition_key(node.func)
        args = [_condition_key(arg.value) for arg in node.args]
        if func is None or any(text is None for text in args):
            return None
        shown = [
            (f"{a.keyword.value}=" if a.keyword else "") + str(text) for a, text in zip(node.args, args, strict=True)
        ]
        return f"{func}({', '.join(shown)})"
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
        inner = _condition_key(node.expression)
        return None if inner is None else f"not ({inner})"
    if isinstance(node, cst.BooleanOperation) and type(node.operator) in _OPERATORS:
        left, right = _condition_key(node.left), _condition_key(node.right)
        return None if left is None or right is None else f"({left}) {_OPERATORS[type(node.operator)]} ({right})"
    if isinstance(node, cst.Comparison) and all(type(c.operator) in _OPERATORS for c in node.comparisons):
        parts = [_condition_key(node.left)]
        for comparison in node.comparisons:
            parts += [_OPERATORS[type(comparison.operator)], _condition_key(comparison.comparator)]
        return " ".join(p for p in parts if p is not None) if None not in parts else None
    return None


def _bare(node: cst.CSTNode) -> cst.CSTNode:
    return node.with_changes(lpar=[], rpar=[]) if hasattr(node, "lpar") else node


def _string_value(node: cst.SimpleString) -> str | bytes:
    """The literal's value; libcst's ``evaluated_value`` runs ``ast.literal_eval``, kept for escapes."""
    prefix = node.prefix.lower()
    quote = node.quote
    body = node.value[len(node.prefix) + len(quote) : -len(quote)]
    if "b" not in prefix and ("r" in prefix or "\\" not in body):
        return body
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "invalid escape sequence" is the user's business, not ours
        return node.evaluated_value


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """A node's child nodes in field order; libcst's ``children`` runs a whole visitor per call."""
    names = _CHILD_FIELDS.get(type(node))
    if names is None:
        names = _CHILD_FIELDS[type(node)] = tuple(f.name for f in fields(node))
    for name in names:
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            yield value
        elif isinstance(value, (list, tuple)):
            yield from (item for item in value if isinstance(item, cst.CSTNode))


_UNKNOWN = object()


def _literal(node: cst.BaseExpression) -> Any:
    """The value of a literal keyword argument: numbers, strings, booleans, lists of those, TaskType.X."""
    if isinstance(node, cst.Integer):
        return int(node.value.replace("_", ""), 0)
    if isinstance(node, cst.Float):
        return float(node.value.replace("_", ""))
    if isinstance(node, cst.SimpleString):
        return _string_value(node)
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = _literal(node.expression)
        return -inner if isinstance(inner, (int, float)) else _UNKNOWN
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        items = [_literal(e.value) for e in node.elements]
        return _UNKNOWN if _UNKNOWN in items else items
    if isinstance(node, cst.Attribute):
        owner = node.value
        owner_name = (
            owner.value
            if isinstance(owner, cst.Name)
            else owner.attr.value
            if isinstance(owner, cst.Attribute)
            else None
        )
        if owner_name == "TaskType":
            return node.attr.value  # TaskType.CAUSAL_LM is given as "CAUSAL_LM"
    return _UNKNOWN


def _starred(element: cst.BaseElement) -> bool:
    return isinstance(element, cst.StarredElement)


def _interesting(values: Values) -> bool:
    """Values a rule can react to; a call whose inputs hold none behaves the same everywhere."""
    return any(value.kind in GUARDED_KINDS or value.kind is Kind.PEFT_CONFIG for value in values)


def _leaf(qualname: str | None) -> str:
    """``peft.PeftModelForCausalLM`` -> ``PeftModelForCausalLM``."""
    return (qualname or "").rsplit(".", 1)[-1]


def _import_value(qualname: str) -> Values:
    return frozenset({Value(Kind.IMPORT, site=("import", qualname), facts=make_facts(qualname=qualname))})


def _single_qualname(values: Values) -> str | None:
    qualnames = {v.fact("qualname") for v in values if v.kind is Kind.IMPORT}
    return qualnames.pop() if len(qualnames) == 1 else None


def _name_of(node: cst.CSTNode) -> str:
    return node.value if isinstance(node, cst.Name) else ""


def _params(node: cst.FunctionDef) -> list[cst.Param]:
    p = node.params
    return [*p.posonly_params, *p.params, *p.kwonly_params]


def _first_param(node: cst.FunctionDef) -> str | None:
    params = _params(node)
    return params[0].name.value if params else None


def _is_static(node: cst.FunctionDef) -> bool:
    return any(
        isinstance(d.decorator, cst.Name) and d.decorator.value in ("staticmethod", "classmethod")
        for d in node.decorators
    )


def _flatten_targets(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    if isinstance(node, (cst.Tuple, cst.List)):
        for element in node.elements:
            yield from _flatten_targets(element.value)
    else:
        yield node
