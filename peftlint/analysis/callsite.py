"""One evaluated call, as rules see it: libcst's node, the registry's name for the call, and the
values its receiver and arguments can hold there, already filtered to the paths that are
feasible under the enclosing ``if`` tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import libcst as cst

from peftlint.analysis import conditions, paths
from peftlint.analysis.syntax import flatten_targets
from peftlint.analysis.values import (
    NO_CONSTANT,
    UNKNOWN,
    Kind,
    Origin,
    Value,
    Values,
    constants_of,
    known,
    one_constant,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from peftlint.analysis.registry import Api
    from peftlint.analysis.units import ParsedUnit


@dataclass(frozen=True)
class CallSite:
    node: cst.Call  # a property read or a pytest fixture is a call too, of an Attribute or a def
    unit: ParsedUnit | None  # where the node is: file, positions, source text
    statement: cst.CSTNode | None  # the statement around it (a suppression on any of its lines counts)
    callee: str | None  # canonical qualified name, when the call resolves through imports
    method: str | None  # for ``obj.meth(...)``: ``meth``
    api: Api | None  # what the registry says this call is
    receiver: Values
    args: tuple[Values, ...]
    kwargs: dict[str, Values]
    spread: bool  # ``*args``/``**kwargs`` made the positions after them unknown
    discarded: bool  # the call is a whole expression statement: its result is dropped
    call_chain: tuple[Origin, ...]  # inlined helper calls that led here, outermost first
    interpreter: Any
    # positional arguments given before the call's own (``functools.partial``'s bound ones): the
    # call's text starts at this position
    offset: int = 0
    # the key of the receiver of a library method called by another name (``restore =
    # model.load_state_dict`` ... ``restore(sd)``: ``model``)
    bound_receiver: str | None = None
    # how the code names the positional arguments an event is given when the node's own are not
    # them (a callback's ``on_evaluate(args, ...)`` gets the trainer's ``args=training_args``)
    given_parts: tuple[Any, ...] = ()

    @classmethod
    def implied(
        cls,
        interpreter: Any,
        node: cst.CSTNode,
        *,
        unit: ParsedUnit | None,
        statement: cst.CSTNode | None,
        method: str | None = None,
        api: Api | None = None,
        receiver: Values = frozenset(),
        args: tuple[Values, ...] = (),
        kwargs: dict[str, Values] | None = None,
        discarded: bool = False,
        call_chain: tuple[Origin, ...] = (),
    ) -> CallSite:
        """A call the code makes without writing it as one (a property read, a decorator, a base's
        ``__init_subclass__``, a pytest fixture, a ``for`` over ``m.parameters``), at ``node``."""
        return cls(
            node=node,  # type: ignore[arg-type]
            unit=unit, statement=statement, callee=None, method=method, api=api, receiver=receiver,
            args=args, kwargs=kwargs or {}, spread=False, discarded=discarded, call_chain=call_chain,
            interpreter=interpreter,
        )  # fmt: skip

    @property
    def guards(self) -> tuple[tuple[str, bool], ...]:
        """The branch conditions the call is made under (``(text, polarity)``, in this file's
        terms), so that two facts on exclusive branches (``if full: save(...) else: load(...)``)
        are told apart."""
        return tuple(sorted(set(self.interpreter.guards))) if self.interpreter is not None else ()

    @property
    def loop_targets(self) -> frozenset[str]:
        """The names the ``for`` loops around the call bind to each element."""
        frame = self.interpreter.frame if self.interpreter is not None else None
        return frozenset().union(*(loop.targets for loop in frame.loops)) if frame is not None else frozenset()

    def left_by_an_earlier_choice(self, value: Value) -> bool:
        """``value`` is what an earlier pass of this very call left, and reaches this call only
        under a condition the call is not itself under, which the data decides pass by pass:
        - a condition on that pass's loop element (``for stage in stages: model =
          PeftModel.from_pretrained(model, stage.path); if stage.merge: model =
          model.merge_and_unload()``): whether the two calls meet is up to the elements;
        - a test on state the def around the call writes itself (``if self.active is not None:
          self.model = self.model.unload()`` before the load, ``self.active = domain`` after it):
          each pass resets what the one before left, and the analysis does not tie the test's
          state after a pass to the model that pass left.
        (``if not d: continue`` guards every pass's call alike: not such a choice.)"""
        if not any(origin.node is self.node for origin in value.origin):
            return False
        beyond = self.conditions_beyond_own(value)
        targets = self.loop_targets
        if any(set(_IDENTIFIER.findall(text)) & targets for text, _ in beyond):
            return True
        written = self.written_by_def() if beyond else frozenset()
        return any(set(_DOTTED.findall(text)) & written for text, _ in beyond)

    def conditions_beyond_own(self, value: Value) -> list[tuple[str, bool]]:
        """The branch conditions ``value`` reaches the call under that the call itself is not
        under: where it reaches the call only because they came out that way."""
        own = set(self.guards)
        return [guard for guard in sorted(value.guards) if guard not in own]

    def written_by_def(self) -> frozenset[str]:
        """The names and attributes (``self.active``) the def around the call assigns, or at
        module level the loops around it."""
        frame = self.interpreter.frame if self.interpreter is not None else None
        function = frame.function if frame is not None else None
        scopes: list[cst.CSTNode] = []
        if function is not None and isinstance(function.node, cst.FunctionDef):
            scopes.append(function.node.body)
        elif frame is not None and frame.kind == "module" and self.unit is not None:
            scopes += _loops_around(self.unit, self.node)
        found: set[str] = set()
        for statement in (s for scope in scopes for s in _assignments(scope)):
            targets = [t.target for t in statement.targets] if isinstance(statement, cst.Assign) else [statement.target]
            for target in targets:
                for leaf in flatten_targets(target):
                    text = conditions.key_of(leaf)
                    if text is not None:
                        found.add(text)
        return frozenset(found)

    @property
    def fact(self) -> str | None:
        return self.api.fact if self.api is not None else None

    def names_holding(self, wanted: Callable[[Value], bool]) -> set[str]:
        """The plain names of the current scope that hold a value ``wanted`` accepts here."""
        frame = self.interpreter.frame if self.interpreter is not None else None
        if frame is None or frame.state is None:
            return set()
        return {key for key, values in frame.state.items() if key.isidentifier() and any(map(wanted, values))}

    def read_after(self, names: set[str]) -> bool:
        """Whether one of ``names`` is read after this call's statement: later in the same def or,
        at module level, in the statements and notebook cells that follow (an attribute name or a
        keyword of the same spelling is not a read)."""
        frame = self.interpreter.frame if self.interpreter is not None else None
        if frame is None or self.unit is None or self.statement is None:
            return False
        after = self.unit.range(self.statement)[1]
        later = [self.unit]
        source, unit = self.unit.source, self.unit.unit
        if frame.kind == "module" and unit is not None and source.units is not None:
            later += [source.parse(u) for u in source.units if u.kind == unit.kind and u.start > unit.end]
        for parsed in later:
            for node in _names_in(parsed.module, names):
                start = parsed.range(node)[0]
                if (start.line, start.column) >= (after.line, after.column):
                    return True
        return False

    def arg(self, index: int | None, keyword: str | None) -> Values:
        if keyword is not None and keyword in self.kwargs:
            return self.kwargs[keyword]
        if index is not None and index < len(self.args):
            return self.args[index]
        return UNKNOWN

    def has_arg(self, index: int | None, keyword: str | None) -> bool:
        return (keyword is not None and keyword in self.kwargs) or (index is not None and index < len(self.args))

    def role(self, api: Api, name: str) -> Values:
        where = api.role(name)
        return self.arg(*where) if where is not None else UNKNOWN

    def constants(self, api: Api, name: str) -> tuple[str, ...]:
        """The module constants of the run (``path:NAME``) the argument is: ``from common.settings
        import CHECKPOINT`` names one file wherever it is imported from."""
        found: set[str] = set()
        for value in self.role(api, name):
            if value.kind is Kind.IMPORT and self.interpreter is not None and value.fact("importer"):
                value = next(iter(self.interpreter.resolve_import(value) or ()), value)
            found.update(constants_of(value))
        return tuple(sorted(found))

    def has_role(self, api: Api, name: str) -> bool:
        where = api.role(name)
        return where is not None and self.has_arg(*where)

    def arg_node(self, index: int | None, keyword: str | None) -> cst.BaseExpression | None:
        node = self.node
        if not isinstance(node, cst.Call):
            return None  # a synthetic call (property, fixture) has no argument nodes
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == keyword:
                return arg.value
        positional = [a for a in node.args if a.keyword is None and not a.star]
        if any(a.star for a in node.args if a.keyword is None):
            first_star = next(i for i, a in enumerate(node.args) if a.star)
            positional = [a for a in node.args[:first_star] if a.keyword is None]
        if index is None or not 0 <= index - self.offset < len(positional):
            return None  # a bound argument of a partial is not in this call's text
        return positional[index - self.offset].value

    def role_node(self, api: Api, name: str) -> cst.BaseExpression | None:
        where = api.role(name)
        return self.arg_node(*where) if where is not None else None

    def shapes(self, api: Api, name: str) -> list[paths.Shape]:
        """The path shapes an argument can have (see paths.py)."""
        where = api.role(name)
        if where is None or not self.has_arg(*where):
            return []
        return self.interpreter.shapes(self.arg(*where), self.arg_node(*where))  # type: ignore[no-any-return]

    def receiver_key(self) -> str | None:
        """The access path of the object a method is called on (``self.model`` in
        ``self.model.load_state_dict(sd)``), also when the method was read off it earlier."""
        func = self.node.func if isinstance(self.node, cst.Call) else None
        if isinstance(func, cst.Attribute):
            return conditions.key_of(func.value)
        return self.bound_receiver

    def receiver_shapes(self) -> list[paths.Shape]:
        """The path shapes the receiver of a method call can have (``Path(src).rename(dst)``)."""
        func = self.node.func if isinstance(self.node, cst.Call) else None
        receiver = func.value if isinstance(func, cst.Attribute) else None
        return self.interpreter.shapes(self.receiver, receiver)  # type: ignore[no-any-return]

    def literal(self, api: Api, name: str) -> object:
        """The argument's literal value as written (``is_trainable=True``), or the one constant
        every value it can hold is (``strict=STRICT``, a helper's ``strict=False`` default), or
        UNKNOWN_LITERAL."""
        node = self.role_node(api, name)
        if node is None:
            return conditions.UNKNOWN_LITERAL
        written = conditions.literal(node)
        if written is not conditions.UNKNOWN_LITERAL:
            return written
        held = one_constant(self.role(api, name))
        return held if held is not NO_CONSTANT else conditions.UNKNOWN_LITERAL

    def writes_pickle(self) -> bool:
        """A save that pickles what it is given: not ``accelerator.save(...,
        safe_serialization=True)``, which writes safetensors (nor one whose flag is unknown)."""
        api = self.api
        return api is None or not self.has_role(api, "safe") or self.literal(api, "safe") is False

    @property
    def adapters_disabled(self) -> bool:
        """The call runs inside ``with pm.disable_adapter():`` (no adapter is active, on purpose)."""
        return bool(self.interpreter.adapters_disabled)

    @property
    def in_closure_walked_alone(self) -> bool:
        """A nested def walked on its own: its free names hold their last values, not those at its call."""
        frame = self.interpreter.frame
        return not self.call_chain and frame.parent is not None and frame.parent.kind == "function"

    def resolved(self, values: Values) -> Values:
        """Imports of another module of the run, replaced by what they name (``from settings import TARGETS``)."""
        if not any(v.kind is Kind.IMPORT for v in values):
            return values
        found: set[Value] = set()
        for value in values:
            named = self.interpreter.resolve_import(value) if value.kind is Kind.IMPORT else None
            found |= named if named else {value}
        return frozenset(found)

    def literal_text(self, api: Api, name: str) -> str | None:
        """The argument's text when every value it can hold is the same known string."""
        values = self.role(api, name)
        texts = {v.fact("text") for v in values if v.kind is Kind.STRING}
        return texts.pop() if len(texts) == 1 and known(values) and None not in texts else None

    def code(self, node: cst.CSTNode) -> str:
        return self.unit.code(node) if self.unit is not None else ""

    def with_arguments(self, args: tuple[Values, ...], kwargs: dict[str, Values], spread: bool = False) -> CallSite:
        """The same call with other arguments (``spread``: and any others, ``cls(**saved)``)."""
        return replace(self, args=args, kwargs=kwargs, spread=self.spread or spread)

    def for_trainer(self) -> CallSite:
        """A trl trainer given ``peft_config=`` calls get_peft_model(model, peft_config) itself."""
        model = self.arg(0, "model")
        config = self.arg(None, "peft_config")
        return replace(self, args=(model, config), kwargs={})


def _assignments(node: cst.CSTNode) -> list[cst.Assign | cst.AugAssign | cst.AnnAssign]:
    found: list[cst.Assign | cst.AugAssign | cst.AnnAssign] = []
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
            found.append(current)
        elif not isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            stack.extend(current.children)
    return found


def _loops_around(unit: ParsedUnit, node: cst.CSTNode) -> list[cst.CSTNode]:
    """The bodies of the ``for`` and ``while`` statements of a unit that hold ``node``."""
    start, end = unit.range(node)
    found: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = [unit.module]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.FunctionDef, cst.ClassDef)):
            continue
        if isinstance(current, (cst.For, cst.While)):
            first, last = unit.range(current)
            if (first.line, first.column) <= (start.line, start.column) and (end.line, end.column) <= (
                last.line,
                last.column,
            ):
                found.append(current.body)
        stack.extend(current.children)
    return found


_DOTTED = re.compile(r"[A-Za-z_][\w.]*")


def _names_in(module: cst.Module, wanted: set[str]) -> list[cst.Name]:
    """The ``Name`` nodes spelling one of ``wanted`` that read a variable."""
    found: list[cst.Name] = []

    class Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value in wanted:
                found.append(node)

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)  # ``trainer.model``: ``model`` there is an attribute, not the name
            return False

        def visit_Arg(self, node: cst.Arg) -> bool:
            node.value.visit(self)  # ``Trainer(model=...)``: the keyword is not a read of a name
            return False

    module.visit(Names())
    return found


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")  # the names a guard's text mentions
