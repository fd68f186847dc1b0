"""The shared flow analysis: walk each scope's statements in order and keep, per name and per
attribute path, the abstract values that can reach each point (see values.py).

It runs on CPython's AST, the tree the syntax check builds anyway: each file is parsed once.
Rules do not walk the tree. They receive every evaluated call as a ``CallSite`` carrying the
values its receiver and arguments can hold there, already filtered to the paths that are
feasible under the enclosing ``if`` tests.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from peftlint.analysis import names, paths
from peftlint.analysis.screen import CallShapes
from peftlint.analysis.segments import Segments
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
from peftlint.sources import UNKNOWN_CODE  # issue 12: a notebook cell that does not parse

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

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_FUNCTION_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef)
# Calls that change a model in place (``get_peft_model`` injects layers into its argument): a
# function that makes one is analysed even when no rule reports at it.
IN_PLACE_CALLS = frozenset({"get_peft_model", "inject_adapter_in_model"})


class Reach:
    """Which functions of the file can reach a call some rule reports at (``triggers``), by
    themselves or through the functions and methods of the file they call, matched by name (so
    ``self.helper()`` reaches every method called ``helper``): a conservative over-approximation.
    A function that cannot is not analysed on its own: nothing there could be reported.
    """

    def __init__(self, shapes: CallShapes, triggers: frozenset[str]) -> None:
        self.calls_in = shapes.calls_in
        self.defined = shapes.defined
        self.triggers = triggers | IN_PLACE_CALLS
        self._known: dict[int, bool] = {}

    def reaches(self, node: ast.AST) -> bool:
        key = id(node)
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = self._search(key)
        return known

    def _search(self, start: int) -> bool:
        seen: set[int] = set()
        stack = [start]
        while stack:
            key = stack.pop()
            if key in seen:
                continue
            seen.add(key)
            if self._known.get(key):
                return True
            called = self.calls_in.get(key)
            if called is None:
                return True  # a def the screen did not see: assume the worst
            if not called.isdisjoint(self.triggers) or any("Peft" in name for name in called):
                return True
            for name in called:
                stack.extend(self.defined.get(name, ()))
        return False


@dataclass
class CallSite:
    """One evaluated call, as rules see it."""

    node: ast.Call
    callee: str | None  # canonical qualified name (names.canonical) when the call resolves through imports
    method: str | None  # for ``obj.meth(...)``: ``meth``
    receiver: Values
    args: tuple[Values, ...]
    kwargs: dict[str, Values]
    discarded: bool  # the call is a whole expression statement: its result is dropped
    call_chain: tuple[Origin, ...]  # inlined helper calls that led here, outermost first
    analysis: FileAnalysis

    def arg(self, index: int, keyword: str) -> Values:
        if keyword in self.kwargs:
            return self.kwargs[keyword]
        return self.args[index] if index < len(self.args) else NOTHING

    def arg_node(self, index: int, keyword: str) -> ast.expr | None:
        return call_argument(self.node, index, keyword)

    def shapes(self, index: int, keyword: str) -> tuple[paths.Shape, ...]:
        node = self.arg_node(index, keyword)
        return self.analysis.walker.shapes_of(node) if node is not None else ()


def call_argument(call: ast.Call, index: int, keyword: str) -> ast.expr | None:
    for arg in call.keywords:
        if arg.arg == keyword:
            return arg.value
    positional = [a for a in call.args if not isinstance(a, ast.Starred)]
    return positional[index] if index < len(positional) else None


class FileAnalysis:
    """Analyse one module and hand every call site to ``on_call``."""

    def __init__(
        self,
        tree: ast.Module,
        text: str | Segments,
        on_call: Callable[[CallSite], None],
        reach: Reach | None = None,
    ) -> None:
        self.tree = tree
        self.reach = reach  # None: analyse every function
        self.segments = text if isinstance(text, Segments) else Segments(text)
        self.on_call = on_call
        self.walker = _Walker(self)

    def run(self) -> None:
        self.walker.run_module(self.tree)

    def code(self, node: ast.AST) -> str:
        return self.segments.code(node)


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
    node: FunctionNode
    parent: _Frame
    owner: _ClassInfo | None


@dataclass
class _ClassInfo:
    node: ast.ClassDef
    is_module: bool
    methods: dict[str, FunctionNode]


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
        self.plain_calls: dict[int, tuple[Values, State]] = {}  # inlined calls with uninteresting inputs
        self.inline_calls: dict[tuple[Any, ...], tuple[Values, State]] = {}  # and the others, by context
        self.attribute_parents: set[str] = set()  # ``x`` and ``x.a`` for every ``x.a.b`` key bound in this file
        self._statements: dict[type, Callable[[Any], object]] = {
            ast.Expr: lambda n: self.expression(n.value, discarded=True),
            ast.Assign: self.assign,
            ast.AnnAssign: self.ann_assign,
            ast.AugAssign: self.aug_assign,
            ast.Return: self.return_statement,
            ast.Raise: self.raise_statement,
            ast.Break: self.jump,
            ast.Continue: self.jump,
            ast.Delete: self.delete,
            ast.Import: self.import_statement,
            ast.ImportFrom: self.import_from,
            ast.Assert: lambda n: self.expression(n.test),
            ast.Pass: lambda n: None,
            ast.Global: lambda n: None,
            ast.Nonlocal: lambda n: None,
            ast.If: self.if_statement,
            ast.For: self.for_statement,
            ast.AsyncFor: self.for_statement,
            ast.While: self.while_statement,
            ast.Try: self.try_statement,
            ast.With: self.with_statement,
            ast.AsyncWith: self.with_statement,
            ast.FunctionDef: self.function_def,
            ast.AsyncFunctionDef: self.function_def,
            ast.ClassDef: self.class_def,
            ast.Match: self.match_statement,
        }
        if hasattr(ast, "TryStar"):  # Python >= 3.11
            self._statements[ast.TryStar] = self.try_statement

    # ----------------------------------------------------------------- entry points
    def run_module(self, module: ast.Module) -> None:
        frame = _Frame(state={}, parent=None, is_module=True)
        self.frames.append(frame)
        depth = len(self.guards)
        for statement in module.body:
            if frame.state is None:
                break
            self.statement(statement)
        del self.guards[depth:]
        while self.pending:
            key = self.pending.pop(0)
            if key in self.analysed:
                continue
            self.analysed.add(key)
            if key in self.classes:
                self.analyse_class(self.classes[key])
            elif self.reaches(self.functions[key].node):
                self.analyse_function_alone(self.functions[key])
        self.frames.pop()

    def analyse_function_alone(self, info: _FunctionInfo) -> None:
        bindings: dict[str, Values] = {}
        for param in _params(info.node):
            bindings[param.arg] = self.annotation_values(param)
        self.run_function(info, bindings, call_chain=())

    def reaches(self, node: ast.AST) -> bool:
        reach = self.analysis.reach
        return reach is None or reach.reaches(node)

    def analyse_class(self, info: _ClassInfo) -> None:
        if not any(self.reaches(method) for method in info.methods.values()):
            return
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
            if name == "__init__" or key in self.analysed or not self.reaches(method):
                continue
            self.analysed.add(key)
            first = _first_param(method)
            bindings = {p.arg: self.annotation_values(p) for p in _params(method)}
            if first is not None and not _is_static(method):
                bindings[first] = frozenset({this})
                bindings.update({first + k[4:]: v for k, v in self_state.items()})
            self.run_function(self.functions[key], bindings, call_chain=())

    def run_function(
        self, info: _FunctionInfo, bindings: dict[str, Values], call_chain: tuple[Origin, ...]
    ) -> tuple[Values, State]:
        """Walk a function body with its parameters bound: what it returns, and the state at its exits."""
        for key in bindings:
            if "." in key:
                self.note_parents(key)
        frame = _Frame(state=dict(bindings), parent=info.parent, call_chain=call_chain)
        self.frames.append(frame)
        saved_guards = self.guards
        self.guards = list(saved_guards)
        try:
            self.block(info.node.body)
        finally:
            self.guards = saved_guards
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
        if not self.guards or not values:
            return values
        return frozenset(v for v in values if v.feasible_under(self.guards))

    def bind(self, key: str, values: Values) -> None:
        """Rebinding ``x`` kills the facts about ``x.attr`` too."""
        state = self.frame.state
        if state is None:
            return
        if key in self.attribute_parents:  # the scan costs; most keys never have attribute facts
            prefix = key + "."
            for existing in [k for k in state if k.startswith(prefix)]:
                del state[existing]
        if "." in key:
            self.note_parents(key)
        state[key] = values

    def note_parents(self, key: str) -> None:
        parts = key.split(".")
        for end in range(1, len(parts)):
            self.attribute_parents.add(".".join(parts[:end]))

    def unbind(self, key: str) -> None:
        """``del x``: x holds nothing any more (kept as a key, so reads do not reach an outer x)."""
        state = self.frame.state
        if state is None:
            return
        prefix = key + "."
        for existing in [k for k in state if k.startswith(prefix)]:
            del state[existing]
        state[key] = NOTHING

    def forget_everything(self) -> None:
        """Code the analysis cannot see ran here (a notebook cell that does not parse; see
        sources.UNKNOWN_CODE): it may have rebound any name, so no binding of any live frame survives."""
        for frame in self.frames:
            current: _Frame | None = frame
            while current is not None:
                if current.state is not None:
                    current.state = {}
                current = current.parent
        self.star_imports.clear()

    def new_value(self, kind: Kind, node: ast.AST, note: str | None = None, **facts: Any) -> Value:
        origin = (Origin(node, note),) if note else ()
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
    def block(self, statements: Sequence[ast.stmt]) -> None:
        depth = len(self.guards)  # guards an early exit put on the rest of this block end with it
        try:
            for statement in statements:
                if self.frame.state is None:
                    return  # unreachable code after return/raise/break
                self.statement(statement)
        finally:
            del self.guards[depth:]

    def statement(self, node: ast.stmt) -> None:
        handler = self._statements.get(type(node))
        if handler is not None:
            handler(node)
        else:
            self.visit_children(node)

    def assign(self, node: ast.Assign) -> None:
        values = self.expression(node.value)
        for target in node.targets:
            self.assign_target(target, values)

    def ann_assign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.assign_target(node.target, self.expression(node.value))

    def aug_assign(self, node: ast.AugAssign) -> None:
        self.expression(node.value)
        self.assign_target(node.target, NOTHING)

    def return_statement(self, node: ast.Return) -> None:
        values = self.feasible(self.expression(node.value)) if node.value is not None else NOTHING
        if self.frame.state is not None:
            self.frame.returns.append((values, dict(self.frame.state)))
        self.frame.state = None

    def raise_statement(self, node: ast.Raise) -> None:
        if node.exc is not None:
            self.expression(node.exc)
        self.frame.state = None

    def jump(self, node: ast.Break | ast.Continue) -> None:
        if self.frame.loops:
            loop = self.frame.loops[-1]
            (loop.breaks if isinstance(node, ast.Break) else loop.continues).append(self.frame.state)
        self.frame.state = None

    def delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            for deleted in _flatten_targets(target):
                key = self.key_of(deleted)
                if key is not None:
                    self.unbind(key)

    def import_statement(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname is not None:
                self.bind(alias.asname, _import_value(alias.name))
            else:
                root = alias.name.split(".", 1)[0]
                self.bind(root, _import_value(root))

    def import_from(self, node: ast.ImportFrom) -> None:
        module = "." * node.level + (node.module or "")
        if any(alias.name == "*" for alias in node.names):
            self.star_imports.add(module.split(".", 1)[0])
            return
        for alias in node.names:
            self.bind(alias.asname or alias.name, _import_value(f"{module}.{alias.name}"))

    def with_statement(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.expression(item.context_expr)
            if item.optional_vars is not None:
                self.assign_target(item.optional_vars, NOTHING)
        self.block(node.body)

    def if_statement(self, node: ast.If) -> None:
        self.expression(node.test)
        before = self.frame.state
        true_guards = condition_guards(node.test, True)
        false_guards = condition_guards(node.test, False)
        after_true = self.branch(before, true_guards, lambda: self.block(node.body))
        if node.orelse:  # ``elif`` is an ``if`` alone in the else branch: the same flow
            after_false = self.branch(before, false_guards, lambda: self.block(node.orelse))
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

    def loop(self, head: Callable[[], None], body: list[ast.stmt], orelse: list[ast.stmt]) -> None:
        entry = self.frame.state
        loop = _Loop()
        self.frame.loops.append(loop)
        head_state = entry
        for _ in range(MAX_LOOP_PASSES):
            self.frame.state = None if head_state is None else dict(head_state)
            head()
            self.block(body)
            back = join_states([self.frame.state, *loop.continues])
            loop.continues.clear()
            new_head = join_states([entry, back])
            if new_head == head_state:
                break
            head_state = new_head
        self.frame.loops.pop()
        self.frame.state = None if head_state is None else dict(head_state)
        if orelse:
            self.block(orelse)
        self.frame.state = join_states([self.frame.state, *loop.breaks])

    def for_statement(self, node: ast.For | ast.AsyncFor) -> None:
        self.expression(node.iter)
        self.loop(lambda: self.assign_target(node.target, NOTHING), node.body, node.orelse)

    def while_statement(self, node: ast.While) -> None:
        def head() -> None:
            self.expression(node.test)

        self.loop(head, node.body, node.orelse)

    def try_statement(self, node: ast.Try) -> None:
        seen: list[State | None] = [self.frame.state]
        depth = len(self.guards)
        for statement in node.body:
            if self.frame.state is None:
                break
            self.statement(statement)
            seen.append(self.frame.state)
        del self.guards[depth:]
        if node.orelse and self.frame.state is not None:
            self.block(node.orelse)
        ends = [self.frame.state]
        handler_entry = join_states(seen)
        for handler in node.handlers:
            self.frame.state = None if handler_entry is None else dict(handler_entry)
            if handler.type is not None:
                self.expression(handler.type)
            if handler.name is not None:
                self.bind(handler.name, NOTHING)
            self.block(handler.body)
            ends.append(self.frame.state)
        after = join_states(ends)
        if node.finalbody:
            self.frame.state = after if after is not None else handler_entry
            self.block(node.finalbody)
            if after is None:
                self.frame.state = None
        else:
            self.frame.state = after

    def match_statement(self, node: ast.Match) -> None:
        self.expression(node.subject)
        before = self.frame.state
        ends: list[State | None] = [None if before is None else dict(before)]
        for case in node.cases:
            self.frame.state = None if before is None else dict(before)
            self.block(case.body)
            ends.append(self.frame.state)
        self.frame.state = join_states(ends)

    def function_def(self, node: FunctionNode) -> None:
        for decorator in node.decorator_list:
            self.expression(decorator)
        self.functions[id(node)] = _FunctionInfo(node=node, parent=self.frame, owner=None)
        self.pending.append(id(node))
        self.bind(node.name, frozenset({Value(Kind.FUNCTION, site=id(node), facts=make_facts(key=id(node)))}))

    def class_def(self, node: ast.ClassDef) -> None:
        is_module = False
        for base in node.bases:
            for value in self.expression(base):
                if value.kind is Kind.IMPORT and names.is_module_base_class(names.canonical(value.fact("qualname"))):
                    is_module = True
                elif value.kind is Kind.CLASS and self.classes[value.fact("key")].is_module:
                    is_module = True
        methods: dict[str, FunctionNode] = {}
        info = _ClassInfo(node=node, is_module=is_module, methods=methods)
        for statement in node.body:
            if isinstance(statement, _FUNCTION_TYPES):
                methods[statement.name] = statement
                self.functions[id(statement)] = _FunctionInfo(node=statement, parent=self.frame, owner=info)
        self.classes[id(node)] = info
        self.pending.append(id(node))
        self.bind(node.name, frozenset({Value(Kind.CLASS, site=id(node), facts=make_facts(key=id(node)))}))

    # ----------------------------------------------------------------- assignment
    def key_of(self, node: ast.AST) -> str | None:
        """``model`` -> "model", ``self.model`` -> "self.model"; anything else has no key."""
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            inner = self.key_of(node.value)
            return None if inner is None else f"{inner}.{node.attr}"
        return None

    def assign_target(self, target: ast.expr, values: Values) -> None:
        attributes, self.pending_attributes = self.pending_attributes, None
        if isinstance(target, (ast.Tuple, ast.List)):
            # `tokenizer, model = build()` where build returns `tok, model`: element-wise
            elements = target.elts
            starred = any(isinstance(e, ast.Starred) for e in elements)
            tuples = [v.fact("items") for v in values if v.kind is Kind.TUPLE and len(v.fact("items")) == len(elements)]
            for index, element in enumerate(elements):
                parts = NOTHING if starred else frozenset().union(*(items[index] for items in tuples))
                self.assign_target(element, parts)
            return
        if isinstance(target, ast.Starred):
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
    def expression(self, node: ast.expr | None, discarded: bool = False) -> Values:
        if node is None:
            return NOTHING
        kind = type(node)
        if kind is ast.Name:
            return self.lookup(node.id)  # type: ignore[attr-defined]
        if kind is ast.Call:
            return self.call(node, discarded)  # type: ignore[arg-type]
        if kind is ast.Attribute:
            return self.attribute(node)  # type: ignore[arg-type]
        if kind is ast.Constant:
            if isinstance(node.value, (str, bytes)):  # type: ignore[attr-defined]
                return self.strings(node, self.shapes_of(node))
            return NOTHING
        if kind is ast.JoinedStr:
            self.visit_children(node)
            return self.strings(node, self.shapes_of(node))
        if kind is ast.BinOp:
            self.expression(node.left)  # type: ignore[attr-defined]
            self.expression(node.right)  # type: ignore[attr-defined]
            if isinstance(node.op, (ast.Div, ast.Add)):  # type: ignore[attr-defined]
                shapes = self.shapes_of(node)
                return self.strings(node, shapes) if shapes else NOTHING
            return NOTHING
        if kind is ast.Dict:
            self.visit_children(node)
            return frozenset({self.new_value(Kind.DICT, node)})
        if kind is ast.Tuple or kind is ast.List:
            elements = node.elts  # type: ignore[attr-defined]
            if any(isinstance(e, ast.Starred) for e in elements):
                self.visit_children(node)
                return NOTHING
            items = tuple(self.expression(element) for element in elements)
            if not any(items):
                return NOTHING
            return frozenset({Value(Kind.TUPLE, site=id(node), facts=(("items", items),))})
        if kind is ast.IfExp:
            self.expression(node.test)  # type: ignore[attr-defined]
            return self.expression(node.body) | self.expression(node.orelse)  # type: ignore[attr-defined]
        if kind is ast.BoolOp:
            return frozenset().union(*(self.expression(value) for value in node.values))  # type: ignore[attr-defined]
        if kind is ast.Await:
            return self.expression(node.value)  # type: ignore[attr-defined]
        if kind is ast.NamedExpr:
            values = self.expression(node.value)  # type: ignore[attr-defined]
            self.assign_target(node.target, values)  # type: ignore[attr-defined]
            return values
        if kind in _COMPREHENSIONS:
            self.comprehension(node)
            return NOTHING
        if kind is ast.Lambda:
            return NOTHING  # its body runs later, if ever: left alone
        self.visit_children(node)
        return NOTHING

    def visit_children(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expression(child)
            elif isinstance(child, ast.stmt):
                self.statement(child)
            elif not isinstance(child, (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)):
                self.visit_children(child)

    def comprehension(self, node: ast.AST) -> None:
        """Calls inside are evaluated; the comprehension's own names never leak out."""
        saved = self.frame.state
        self.frame.state = None if saved is None else dict(saved)
        for clause in node.generators:  # type: ignore[attr-defined]
            self.expression(clause.iter)
            self.assign_target(clause.target, NOTHING)
            for condition in clause.ifs:
                self.expression(condition)
        if isinstance(node, ast.DictComp):
            self.expression(node.key)
            self.expression(node.value)
        else:
            self.expression(node.elt)  # type: ignore[attr-defined]
        self.frame.state = saved

    def attribute(self, node: ast.Attribute) -> Values:
        key = self.key_of(node)
        if key is not None and self.frame.state is not None:
            found = self.lookup(key)
            if found:
                return found
        return self.attribute_of(self.expression(node.value), node.attr)

    def strings(self, node: ast.AST, shapes: Sequence[paths.Shape]) -> Values:
        return frozenset(
            Value(Kind.STRING, site=(id(node), shape), guards=frozenset(self.guards), facts=make_facts(shape=shape))
            for shape in shapes
        )

    # ----------------------------------------------------------------- calls
    def call(self, node: ast.Call, discarded: bool) -> Values:
        func = node.func
        receiver: Values = NOTHING
        method: str | None = None
        if isinstance(func, ast.Attribute):
            method = func.attr
            receiver = self.feasible(self.expression(func.value))
            callee_values = self.attribute_of(receiver, method)
        elif isinstance(func, ast.Name) and func.id == UNKNOWN_CODE:  # issue 12: code we cannot see ran here
            self.forget_everything()
            return NOTHING
        else:
            callee_values = self.expression(func)
        args: list[Values] = []
        kwargs: dict[str, Values] = {}
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.expression(arg.value)
            else:
                args.append(self.feasible(self.expression(arg)))
        for keyword in node.keywords:
            values = self.feasible(self.expression(keyword.value))
            if keyword.arg is not None:
                kwargs[keyword.arg] = values
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
        )
        self.analysis.on_call(site)
        local = [v for v in callee_values if v.kind in (Kind.FUNCTION, Kind.CLASS)]
        if len(local) == 1:
            return self.call_local(local[0], site, receiver if method else NOTHING)
        if method is not None and callee is None:
            bound = self.bound_method(receiver, method)
            if bound is not None:
                receiver_key = self.key_of(func.value) if isinstance(func, ast.Attribute) else None
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
            facts.update(model_class=info.node.name, local_module=True)
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
        receiver_param = first if has_self else None  # ``self`` is in every context; its attributes count
        if any(_interesting(values) for key, values in frame.items() if key != receiver_param):
            # The same call in the same context (a loop's next pass, mostly) walks the same way and
            # reports the same calls: walked once.
            chain, guards = self.frame.call_chain, tuple(self.guards)
            context = (id(info.node), id(site.node), chain, frozenset(frame.items()), guards)
            memo = self.inline_calls.get(context)
            if memo is None:
                memo = self.inline_calls[context] = self._run_inline(info, site, frame)
            returned, end = memo
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
        bindings: State = {p.arg: self.annotation_values(p) for p in params}
        positional = list(site.args)
        if this is not None and params:
            bindings[params[0].arg] = this
            params = params[1:]
        for param, values in zip(params, positional, strict=False):
            bindings[param.arg] = values
        for param in params:
            if param.arg in site.kwargs:
                bindings[param.arg] = site.kwargs[param.arg]
        return bindings

    def _run_inline(self, info: _FunctionInfo, site: CallSite, bindings: State) -> tuple[Values, State]:
        self.inlining.append(id(info.node))
        chain = (*self.frame.call_chain, Origin(site.node, f"{info.node.name}() is called here"))
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
        loader = names.peft_adapter_loader(canonical)
        if loader is not None:
            return self.wrap(site, f"{loader}.from_pretrained", adapter=site.shapes(1, "model_id"))
        if canonical is not None and canonical.endswith(".from_pretrained"):
            owner = canonical[: -len(".from_pretrained")]
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
            origin=(Origin(site.node, note), *site.call_chain),
            guards=frozenset(self.guards),
            facts=make_facts(**facts),
        )
        bases = {v.site for v in models if v.kind is Kind.BASE_MODEL}
        injected_note = Origin(site.node, f"{how} injected PEFT layers into this model in place")
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

    def literal_keywords(self, node: ast.Call) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for keyword in node.keywords:
            if keyword.arg is not None:
                value = _literal(keyword.value)
                if value is not _UNKNOWN:
                    result[keyword.arg] = value
        return result

    def annotation_values(self, param: ast.arg) -> Values:
        annotation = param.annotation
        if annotation is None:
            return NOTHING
        qualname = (
            _single_qualname(self.expression(annotation)) if isinstance(annotation, (ast.Name, ast.Attribute)) else None
        )
        canonical = names.canonical(qualname) if qualname else None
        if names.is_peft_model_class(canonical):
            return frozenset(
                {Value(Kind.PEFT_MODEL, site=id(param), origin=(Origin(param, f"annotated as {_leaf(canonical)}"),))}
            )
        if names.is_module_base_class(canonical):
            return frozenset({Value(Kind.BASE_MODEL, site=id(param), facts=make_facts(model_class=canonical))})
        return NOTHING

    # ----------------------------------------------------------------- path shapes
    def shapes_of(self, node: ast.expr | None) -> tuple[paths.Shape, ...]:
        """Every path shape an expression can have (at most MAX_SHAPES)."""
        if node is None:
            return ()
        return tuple(dict.fromkeys(paths.normalise(s) for s in self._shapes(node)))[:MAX_SHAPES]

    def _shapes(self, node: ast.expr) -> list[paths.Shape]:
        if isinstance(node, ast.Constant):
            value = node.value
            return [paths.literal(value)] if isinstance(value, str) else [paths.placeholder(self.analysis.code(node))]
        if isinstance(node, ast.JoinedStr):
            pieces: list[ast.expr | paths.Shape] = []
            for part in node.values:
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    pieces.append(paths.literal(part.value))
                elif isinstance(part, ast.FormattedValue):
                    pieces.append(part.value)
            return self._product(pieces, paths.concat)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self._product([node.left, node.right], paths.concat)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return self._product([node.left, node.right], lambda *s: paths.join(s))
        if isinstance(node, ast.Call):
            qualname = _single_qualname(self.callee_values(node.func))
            canonical = names.canonical(qualname) if qualname else None
            positional = [a for a in node.args if not isinstance(a, ast.Starred)]
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
        self, pieces: Sequence[ast.expr | paths.Shape], combine: Callable[..., paths.Shape]
    ) -> list[paths.Shape]:
        combos: list[tuple[paths.Shape, ...]] = [()]
        for piece in pieces:
            options = [piece] if isinstance(piece, tuple) else self._shapes(piece)
            combos = [(*c, o) for c in combos for o in options][:MAX_SHAPES]
        return [combine(*c) for c in combos]

    def callee_values(self, func: ast.expr) -> Values:
        if isinstance(func, ast.Attribute):
            return self.attribute_of(self.lookup_quiet(func.value), func.attr)
        return self.lookup_quiet(func)

    def lookup_quiet(self, node: ast.expr) -> Values:
        """Values of a name or attribute path, evaluating nothing (no call events)."""
        key = self.key_of(node)
        if key is not None:
            found = self.lookup(key)
            if found or not isinstance(node, ast.Attribute):
                return found
            return self.attribute_of(self.lookup_quiet(node.value), node.attr)
        return NOTHING


_COMPREHENSIONS = frozenset({ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp})


# ----------------------------------------------------------------- helpers
def condition_guards(test: ast.expr, polarity: bool) -> list[Guard]:
    """The facts a branch may assume: ``if not a and b`` (true) gives (a, False), (b, True).

    The first guard always stands for the whole test, so joins can tag values with it.
    """
    while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test, polarity = test.operand, not polarity
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        flips = {ast.IsNot: "is", ast.NotEq: "==", ast.NotIn: "in"}
        positive = flips.get(type(test.ops[0]))
        if positive is not None:
            return [(f"{_text(test.left)} {positive} {_text(test.comparators[0])}", not polarity)]
    guards: list[Guard] = [(_text(test), polarity)]
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) == polarity:
        for value in test.values:  # conjunctive: every part holds
            guards += condition_guards(value, polarity)
    return guards


def _text(node: ast.expr) -> str:
    """A condition's identity, the same for the same expression written twice however it is
    spaced or parenthesised: built from the tree for the usual shapes (names, attributes, calls,
    comparisons, ``and``/``or``/``not``, literals), by ``ast.unparse``, which is slower, for the rest."""
    key = _condition_key(node)
    return key if key is not None else ast.unparse(node)


_OPERATORS: dict[type, str] = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.Gt: ">", ast.LtE: "<=", ast.GtE: ">=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not", ast.And: "and", ast.Or: "or",
}  # fmt: skip


def _condition_key(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _condition_key(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    if isinstance(node, ast.Constant):
        return repr(node.value)
    if isinstance(node, ast.Call):
        if any(isinstance(arg, ast.Starred) for arg in node.args) or any(k.arg is None for k in node.keywords):
            return None
        func = _condition_key(node.func)
        shown = [_condition_key(arg) for arg in node.args]
        shown += [None if (text := _condition_key(k.value)) is None else f"{k.arg}={text}" for k in node.keywords]
        if func is None or None in shown:
            return None
        return f"{func}({', '.join(shown)})"  # type: ignore[arg-type]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _condition_key(node.operand)
        return None if inner is None else f"not ({inner})"
    if isinstance(node, ast.BoolOp):
        parts = [_condition_key(value) for value in node.values]
        return None if None in parts else f" {_OPERATORS[type(node.op)]} ".join(f"({p})" for p in parts)
    if isinstance(node, ast.Compare) and all(type(op) in _OPERATORS for op in node.ops):
        pieces = [_condition_key(node.left)]
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            pieces += [_OPERATORS[type(op)], _condition_key(comparator)]
        return None if None in pieces else " ".join(pieces)  # type: ignore[arg-type]
    return None


_UNKNOWN = object()


def _literal(node: ast.expr) -> Any:
    """The value of a literal keyword argument: numbers, strings, booleans, lists of those, TaskType.X."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal(node.operand)
        return -inner if isinstance(inner, (int, float)) and not isinstance(inner, bool) else _UNKNOWN
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_literal(e) for e in node.elts]
        return _UNKNOWN if _UNKNOWN in items else items
    if isinstance(node, ast.Attribute):
        owner = node.value
        owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
        if owner_name == "TaskType":
            return node.attr  # TaskType.CAUSAL_LM is given as "CAUSAL_LM"
    return _UNKNOWN


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


def _params(node: FunctionNode) -> list[ast.arg]:
    arguments = node.args
    return [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]


def _first_param(node: FunctionNode) -> str | None:
    params = _params(node)
    return params[0].arg if params else None


def _is_static(node: FunctionNode) -> bool:
    return any(isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod") for d in node.decorator_list)


def _flatten_targets(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, (ast.Tuple, ast.List)):
        return [leaf for element in node.elts for leaf in _flatten_targets(element)]
    return [node]
