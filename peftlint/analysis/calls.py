"""Calls and attributes (part of the Interpreter): library calls do what the registry says,
calls into the analysed code (in this file or another module of the run) are inlined with their
actual arguments, defaults included, and memoised per context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import libcst as cst

from peftlint.analysis import conditions, effects, names, registry
from peftlint.analysis.callsite import CallSite
from peftlint.analysis.dispatch import dispatch_guards, files_a_def, opened
from peftlint.analysis.frames import MAX_INLINE_DEPTH, ClassInfo, Frame, Function, short_def
from peftlint.analysis.parameters import single_qualname
from peftlint.analysis.syntax import identifiers_in
from peftlint.analysis.units import UnitParseError
from peftlint.analysis.values import (
    GUARDED_KINDS,
    INTERESTING_KINDS,
    MODEL_KINDS,
    NONE,
    UNKNOWN,
    Guard,
    Kind,
    Origin,
    State,
    Value,
    Values,
    or_unknown,
)
from peftlint.ipython import UNKNOWN_CODE

if TYPE_CHECKING:
    from peftlint.analysis.project import Project
    from peftlint.analysis.units import ParsedUnit

MAX_REEXPORTS = 5  # as admission follows them (admission._MAX_REEXPORTS)


class Calls:
    # provided by Interpreter / Expressions
    frames: list[Frame]
    guards: list[Any]
    unit: ParsedUnit | None
    quiet: int
    inlining: list[Function]
    memo: dict[Any, Any]
    inline_budget: int
    decorating: int
    depth_limit: int
    effect_logs: list[list[Any]]
    project: Project
    listener: Callable[[CallSite], None] | None
    statement_node: cst.CSTNode | None
    expression: Callable[..., Values]
    feasible: Callable[[Values], Values]
    lookup: Callable[[str], Values | None]
    bind: Callable[[str, Values], None]
    strings: Callable[..., Values]
    shapes: Callable[..., list[Any]]
    run_function: Callable[..., tuple[Values, State, bool]]
    transform_everywhere: Callable[..., None]
    new_value: Callable[..., Value]
    origin: Callable[..., Origin]
    quietly: Callable[[Callable[[], Values]], Values]
    import_value: Callable[[str], Values]
    function_value: Callable[[Function], Values]
    attributes_of_key: Callable[..., dict[str, Values]]
    attribute_of: Callable[..., Values]
    instantiate: Callable[[ClassInfo, CallSite], Values]
    iterate: Callable[[Values], Values]

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    # ----------------------------------------------------------------- calls
    def call(self, node: cst.Call, discarded: bool = False) -> Values:
        func = node.func
        receiver: Values = UNKNOWN
        method: str | None = None
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            receiver = self.feasible(self.expression(func.value))
            if registry.method_api(method, registry.MODEL) is not None:  # ``lora_model.merge_and_unload()``
                receiver = self.imported_objects(receiver)
            callees = self.attribute_of(receiver, method, func, calling=True)
        else:
            callees = self.expression(func)
        args: list[Values] = []
        kwargs: dict[str, Values] = {}
        spread = False
        for arg in node.args:
            values = self.feasible(self.expression(arg.value))
            if arg.star == "*":
                spread = True
                items = [v for v in values if v.kind is Kind.TUPLE and not v.fact("open")]
                if len(items) == 1 and len(values) == 1 and not kwargs:
                    args.extend(items[0].fact("items"))
                    spread = False
            elif arg.star == "**":
                dicts = [v for v in values if v.kind is Kind.DICT and not v.fact("open")]
                if len(dicts) == 1 and len(values) == 1:
                    kwargs.update({str(k): v for k, v in dicts[0].fact("entries", ())})
                else:
                    spread = True
            elif arg.keyword is not None:
                kwargs[arg.keyword.value] = values
            elif not spread:
                args.append(values)
        if isinstance(func, cst.Name) and func.value == UNKNOWN_CODE:
            self.forget_everything()
            return UNKNOWN
        qualname = single_qualname(callees)
        callee = names.canonical(qualname) if qualname else None
        api = registry.function_api(callee)
        if api is None and method is not None and not any(v.kind is Kind.FUNCTION for v in callees):
            api = registry.method_api(method, frozenset(v.kind for v in receiver))
        if api is None and any(v.kind in MODEL_KINDS for v in callees):
            api = registry.FORWARD  # ``model(**batch)``: a forward pass
        elif api is not None:  # ``PeftModel.from_pretrained(lora_model, ...)`` of ``from shared import lora_model``
            args = [self.imported_objects(values) for values in args]
            kwargs = {key: self.imported_objects(values) for key, values in kwargs.items()}
        site = CallSite(
            node=node,
            unit=self.unit,
            statement=self.statement_node,
            callee=callee,
            method=method,
            api=api,
            receiver=callees if api is registry.FORWARD else receiver,  # a forward pass: the model called
            args=tuple(args),
            kwargs=kwargs,
            spread=spread,
            discarded=discarded,
            call_chain=self.frame.call_chain,
            interpreter=self,
        )
        if self.listener is not None and not self.quiet:
            self.listener(site)
        if api is not None:
            return self.library_call(api, site)
        return self.call_values(callees, site, receiver if method else None, func)

    def imported_objects(self, values: Values) -> Values:
        """A name imported from a module of the run that holds a model, a trainer, an optimizer
        or a config there (``lora_model = get_peft_model(...)`` at the top of ``shared.py``): that
        object, for a call the registry knows. (A def or class stays the import: calls of it are
        followed as such.)"""
        if not any(v.kind is Kind.IMPORT and v.fact("importer") for v in values):
            return values
        found: set[Value] = set()
        for value in values:
            resolved = self.resolve_import(value) if value.kind is Kind.IMPORT and value.fact("importer") else None
            if resolved and all(v.kind in GUARDED_KINDS for v in resolved):
                found |= resolved
            else:
                found.add(value)
        return frozenset(found)

    def library_call(self, api: registry.Api, site: CallSite) -> Values:
        made = effects.apply(self, api, site)  # type: ignore[arg-type]
        if api.fact in registry.PATH_LOADERS:
            self.named_a_path(api, site)
        return made

    def call_bound_method(self, callee: Value, site: CallSite) -> Values | None:
        """``restore(sd)`` after ``restore = model.load_state_dict``: that method of that object."""
        receiver: Values = callee.fact("self")
        method: str = callee.fact("method")
        api = registry.method_api(method, frozenset(v.kind for v in receiver))
        if api is None:
            return None
        site = replace(site, method=method, api=api, receiver=receiver, bound_receiver=callee.fact("receiver_key"))
        if self.listener is not None and not self.quiet:
            self.listener(site)
        return self.library_call(api, site)

    def named_a_path(self, api: registry.Api, site: CallSite) -> None:
        """``PeftModel.from_pretrained(model, adapter_dir)`` returns only if ``adapter_dir`` names
        a directory: a name the analysis cannot read holds a path afterwards, not None (so
        ``self.active = adapter_dir`` then makes ``if self.active is not None:`` true)."""
        node = site.role_node(api, "path")
        key = conditions.key_of(node) if node is not None and self.frame.state is not None else None
        values = self.lookup(key) if key is not None else None
        if values and all(v.kind is Kind.UNKNOWN for v in values):
            self.bind(key, self.strings(node, self.shapes(values, node)))  # type: ignore[arg-type]

    def call_values(self, callees: Values, site: CallSite, receiver: Values | None, func: cst.CSTNode) -> Values:
        """Call every callable ``callees`` can be; join what they return."""
        results: set[Value] = set()
        returns = False
        any_known = False
        entry = self.frame.state
        ends: list[State | None] = []
        alternatives = dispatch_guards(callees, func)
        for callee in sorted(callees, key=_callee_order):
            self.frame.state = None if entry is None else dict(entry)
            depth = len(self.guards)
            self.guards.extend(alternatives.get(id(callee), ()))
            try:
                result = self.call_one(callee, site, func)
            finally:
                del self.guards[depth:]
            if result is None:
                results |= UNKNOWN
                ends.append(self.frame.state)
                continue
            any_known = True
            results |= result
            if self.frame.state is not None:
                returns = True
            ends.append(self.frame.state)
        from peftlint.analysis.values import join_states

        self.frame.state = join_states(ends) if ends else entry
        if any_known and not returns:
            self.frame.state = None
        return or_unknown(results)

    def call_one(self, callee: Value, site: CallSite, func: cst.CSTNode) -> Values | None:
        """What calling ``callee`` returns; None when the analysis does not know the callee."""
        if callee.kind is Kind.FUNCTION and callee.fact("method") is not None:
            return self.call_bound_method(callee, site)
        if callee.kind is Kind.FUNCTION:
            partial = callee.fact("partial")
            if partial is not None:
                inner, bound_args, bound_kwargs = partial
                merged = site.with_arguments((*bound_args, *site.args), {**dict(bound_kwargs), **site.kwargs})
                merged = replace(merged, offset=site.offset + len(bound_args))
                return self.call_values(inner, merged, None, func)
            function: Function | None = callee.fact("function")
            if function is None:
                return None  # a library method reached through super()
            this = callee.fact("self")
            receiver_key = conditions.key_of(func.value) if isinstance(func, cst.Attribute) else None
            if receiver_key is None and this is not None and callee.fact("receiver_key") is not None:
                # ``fn()`` of a method read as ``self.setup``: its object, where ``self`` here holds it
                held = self.lookup(callee.fact("receiver_key"))
                if held and {v.site for v in held} == {v.site for v in this}:  # the same objects
                    receiver_key, this = callee.fact("receiver_key"), held  # with what they hold now
            if isinstance(func, cst.Attribute) and _is_super(func.value):
                receiver_key = self.own_self_key()  # ``super().setup()`` sets attributes on our self
            elif this is None and isinstance(func, cst.Attribute) and self.explicit_self(function, site):
                # ``Base.setup(self)``: the instance is given as the first argument
                this, site = site.args[0], site.with_arguments(site.args[1:], site.kwargs)
                receiver_key = conditions.key_of(site.node.args[0].value)
            return self.inline(function, site, this, receiver_key)
        if callee.kind is Kind.CLASS:  # ``saved``: ``Lit.load_from_checkpoint(path)`` is ``cls(**saved)``
            saved = site.with_arguments((), {}, spread=True) if callee.fact("saved") else site
            return self.instantiate(callee.fact("class"), saved)
        if callee.kind is Kind.INSTANCE and callee.fact("class") is not None:
            # ``stopper(val_loss, model)``: an instance of a class of the run that defines __call__
            method = callee.fact("class").lookup("__call__")
            if method is not None:
                return self.inline(method, site, frozenset({callee}), conditions.key_of(func))
        if callee.kind is Kind.IMPORT:
            # Another module's helper is worth loading its module for if it is handed a model (it
            # may hand it back: ``PPOLoop(policy).train()``), or makes calls a rule needs; in a def
            # analysed alone (unknown arguments), only if it makes PEFT models itself.
            given = any(v.kind in MODEL_KINDS for values in (*site.args, *site.kwargs.values()) for v in values)
            # ``@register("lora")`` on a def: what the call returns is called with the def (it may fill
            # a registry), so it is followed whatever its module makes
            decorating = self.decorating > 0
            named = func.value if isinstance(func, cst.Name) else getattr(getattr(func, "attr", None), "value", None)
            # ``training.train(...)`` of ``from . import training``: admission names the module
            owner = func.value.value if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) else None
            helpers = self.reach.helpers if self.reach is not None else frozenset()  # type: ignore[attr-defined]
            admitted = named in helpers or owner in helpers
            alone = self.depth_limit < MAX_INLINE_DEPTH and not given and not decorating and not admitted
            resolved = self.resolve_import(callee, calling=not given and not decorating, makers=alone)
            if resolved is not None and known_callables(resolved):
                return self.call_values(resolved, site, None, func)
            if resolved is not None and len(resolved) == 1 and next(iter(resolved)).kind is Kind.IMPORT:
                callee = next(iter(resolved))  # ``from compat import PeftModel``: peft's own
            canonical = names.canonical(callee.fact("qualname"))
            api = registry.function_api(canonical)
            if api is None or site.callee == canonical:
                return None
            # a library function reached through a partial or a dict of callables
            library = replace(site, callee=canonical, api=api)
            if self.listener is not None and not self.quiet:
                self.listener(library)
            return effects.apply(self, api, library)  # type: ignore[arg-type]
        return None

    def caller_guards(self, function: Function, site: CallSite, this: Values | None, returned: Values) -> Values:
        """What the callee returns under a test of its parameter (``if not lora: return model``)
        is, for the caller, under the same test of the argument it gave (``lora=args.resume is
        None``): the guard is renamed, so the caller's own tests can exclude it."""
        node = function.node
        if not isinstance(node, cst.FunctionDef) or not isinstance(site.node, cst.Call) or site.spread:
            return returned  # a property read has no arguments
        positional = [p.name.value for p in (*node.params.posonly_params, *node.params.params)]
        if this is not None and positional and not function.is_static():
            positional = positional[1:]
        given = [arg for arg in site.node.args if arg.keyword is None and not arg.star]
        if len(given) != len(site.args):
            return returned  # a partial's bound arguments: not this call's own
        renamed: dict[str, str] = {}
        for index, arg in enumerate(site.node.args):
            name = (
                arg.keyword.value
                if arg.keyword is not None
                else (positional[index] if index < len(positional) else None)
            )
            if name is not None and not arg.star:
                renamed[name] = conditions.condition_text(arg.value, self.code)  # type: ignore[attr-defined]

        def rename(guard: Guard) -> Guard:
            text, polarity = guard
            subject, space, rest = text.partition(" ")
            if subject in renamed:
                return (f"{renamed[subject]}{space}{rest}" if space else renamed[subject], polarity)
            return guard

        returned = _renamed_guards(returned, rename)
        receiver = conditions.key_of(site.node.func.value) if isinstance(site.node.func, cst.Attribute) else None
        first = function.first_parameter() if this is not None and not function.is_static() else None
        return _rebased(returned, first, receiver) if first and receiver else returned

    def own_self_key(self) -> str | None:
        """The first parameter of the method being walked (its ``self``)."""
        function = self.frame.function
        if function is None or function.owner is None or function.is_static():
            return None
        positional = function.positional()
        return positional[0].name.value if positional else None

    def explicit_self(self, function: Function, site: CallSite) -> bool:
        """``Base.method(obj, ...)``: an instance method called through its class, the instance first."""
        if function.owner is None or function.is_static() or site.spread or not isinstance(site.node, cst.Call):
            return False
        if not site.node.args:
            return False
        if function.decorators is None:
            function.decorators = self.function_decorators(function)  # type: ignore[attr-defined]
        first = site.node.args[0]
        return not function.is_classmethod() and first.keyword is None and not first.star

    def resolve_import(self, value: Value, calling: bool = False, makers: bool = False) -> Values | None:
        """What an import of a module of the run names (through re-exports: ``from .build import f``
        in a package's ``__init__``)."""
        first = value
        for _ in range(MAX_REEXPORTS):
            importer = value.fact("importer")
            resolved = None
            if importer is not None:
                resolved = self.project.resolve(value.fact("qualname"), importer, self, calling, makers)  # type: ignore[arg-type]
            if resolved is None and value is not first:
                return frozenset({value})  # a module of the run re-exports a library's name
            if resolved is None or len(resolved) != 1:
                return resolved
            (single,) = resolved
            if single.kind is not Kind.IMPORT:
                return resolved
            value = single
        return None

    def forget_everything(self) -> None:
        """A notebook cell that does not parse may have rebound anything, imports included: no
        finding may depend on what happened before it."""
        for frame in self.frames:
            if frame.state is not None:
                frame.state = {key: UNKNOWN for key in frame.state if "." not in key and "[" not in key}
            frame.module.star_imports.clear()

    # ----------------------------------------------------------------- inlining
    def inline(
        self, function: Function, site: CallSite, this: Values | None, receiver_key: str | None, follow: bool = False
    ) -> Values:
        """``follow``: walked even if it makes nothing itself (an event a trainer fires: what it
        sets on its callback, a path, a later event reads)."""
        if function in self.inlining or not self.within_depth(function):
            return UNKNOWN
        produces = (
            follow
            or self.function_produces(function)  # type: ignore[attr-defined]
            or self.overrides_produce(function, this)  # type: ignore[attr-defined]
            or self.dispatch_produces(function, this, site)  # type: ignore[attr-defined]
            or self.short_passthrough(function)
            or files_a_def(function, site)
        )
        if function.source_unit is not None and (self.inline_budget <= 0 or not produces):
            # a def that can reach no call making what a rule looks for, or a file so big that
            # its calls are no longer followed (the budget keeps a 26,000-line module to seconds)
            return self.summarise(function, site, this, receiver_key)
        try:
            parsed, node = function.loaded()
        except (UnitParseError, RecursionError):
            return UNKNOWN
        if function.decorators is None:
            function.decorators = self.function_decorators(function)
        bindings = self.bind_arguments(function, site, this)
        first = function.first_parameter()
        if this is not None and receiver_key is not None and first is not None and self.frame.state is not None:
            for name, values in self.attributes_of_key(receiver_key, deep=True).items():
                bindings[f"{first}.{name}"] = values
        # The same call of a function with the same inputs under the same branch conditions walks
        # the same way and reports the same calls: walked once (a loop walks it again and again).
        # Another call of it is walked anew: the objects it makes are other objects
        # (``a = load(); b = load()`` are two models, and wrapping one leaves the other plain).
        key = (
            id(function), id(site.node), frozenset(bindings.items()), tuple(self.guards), self.free_names(function),
            self.quiet > 0,
        )  # fmt: skip
        memo = self.memo.get(key)
        if memo is None:
            log: list[Any] = []
            self.effect_logs.append(log)
            self.inlining.append(function)
            self.inline_budget -= 1
            chain = (*self.frame.call_chain, self.origin(site.node, f"{function.name}() is called here"))
            placeholders = self.argument_parts(function, site, this)  # type: ignore[attr-defined]
            try:
                returned, end, returns = self.run_function(function, bindings, chain, placeholders)
            finally:
                self.inlining.pop()
                self.effect_logs.pop()
            memo = self.memo[key] = (returned, end, returns, tuple(log))
        else:
            self.replay(memo[3])
        returned, end, returns, _ = memo
        if any(v.guards for v in returned):
            returned = self.caller_guards(function, site, this, returned)
        if not self.quiet:
            self.inlined.add(id(function))  # type: ignore[attr-defined]
        if this is not None and receiver_key is not None and first is not None:
            for name, values in end.items():
                if name.startswith(first + ".") and "[" not in name:
                    self.bind(receiver_key + name[len(first) :], _rebased(values, first, receiver_key))
        if not returns:
            self.frame.state = None
        del parsed, node
        return returned  # type: ignore[no-any-return]

    def within_depth(self, function: Function) -> bool:
        """A call chain is followed ``depth_limit`` calls deep, and one call more into a short def."""
        depth = len(self.inlining)
        return depth < self.depth_limit or (depth == self.depth_limit and short_def(function))

    @staticmethod
    def short_passthrough(function: Function) -> bool:
        """A short def that returns something other than a name (``return torch.compile(model)``)
        is walked: what it gives back may be its argument, which a summary cannot tell."""
        return short_def(function) and None in function.source_unit.returns  # type: ignore[union-attr]

    def summarise(self, function: Function, site: CallSite, this: Values | None, receiver_key: str | None) -> Values:
        """A call to a def that cannot reach any call a rule needs, without parsing it: what the
        pre-screen says it can change (its globals, the attributes it sets on ``self``) holds
        anything afterwards, and it returns its arguments where it returns a parameter by name."""
        unit = function.source_unit
        module = function.parent.module_frame()
        if unit.globals and module.state is not None:
            for name in unit.globals:
                old = module.state.get(name)
                module.state[name] = UNKNOWN
                for log in self.effect_logs:
                    log.append(("global", module, name, UNKNOWN, old))
        if this is not None and receiver_key is not None:
            for attribute in unit.sets_on_self:
                self.bind(f"{receiver_key}.{attribute}", UNKNOWN)
            for attribute in sorted(unit.stores_on_self - unit.sets_on_self):
                # ``self._items[key] = builder``: the registry keeps what it held, and more
                held = self.quietly(lambda a=attribute: self.attribute_of(this, a, site.node))  # type: ignore[attr-defined]
                self.bind(f"{receiver_key}.{attribute}", frozenset(opened(v) for v in held))
        if unit.never_returns:
            self.frame.state = None
            return UNKNOWN
        if not unit.returns:
            return NONE
        if None in unit.returns:
            return UNKNOWN
        parameters = list(unit.parameters)
        if this is not None and parameters and "staticmethod" not in unit.decorators:
            parameters = parameters[1:]
        first = unit.parameters[0] if unit.parameters else None
        found: set[Value] = set()
        for name in unit.returns:
            root, *attributes = name.split(".")
            if name == "None":
                found |= NONE
                continue
            if this is not None and root == first and "staticmethod" not in unit.decorators:
                carried = self.lookup(f"{receiver_key}.{attributes[0]}") if receiver_key and attributes else None
                values, attributes = (carried, attributes[1:]) if carried is not None else (this, attributes)
            elif root in parameters and parameters.index(root) < len(site.args) and not site.spread:
                values = site.args[parameters.index(root)]
            elif root in site.kwargs:
                values = site.kwargs[root]
            else:
                found |= UNKNOWN
                continue
            for attribute in attributes:
                values = self.attribute_of(values, attribute, site.node)
            found |= values
        return frozenset(found)

    def replay(self, log: tuple[Any, ...]) -> None:
        for entry in log:
            if entry[0] == "transform":
                self.transform_everywhere(set(entry[1]), entry[2], entry[3])
            elif entry[0] == "global":
                _, frame, key, values, _ = entry
                if frame.state is not None:
                    frame.state[key] = values
                for outer in self.effect_logs:
                    outer.append(entry)

    def free_names(self, function: Function) -> tuple[tuple[str, Values | None], ...]:
        """The values of the enclosing scopes' names a function reads (its memo depends on them)."""
        if function.names_used is None:
            function.names_used = identifiers_in(function.node)
        saved = self.frames
        self.frames = [*saved, Frame(state={}, parent=function.parent, module=function.parent.module)]
        try:
            found = []
            for name in sorted(function.names_used):
                values = self.lookup(name)
                if values is not None and any(v.kind in INTERESTING_KINDS for v in values):
                    found.append((name, values))
            return tuple(found)
        finally:
            self.frames = saved

    def function_decorators(self, function: Function) -> tuple[str, ...]:
        node = function.node
        if not isinstance(node, cst.FunctionDef) or not node.decorators:
            return ()
        saved_frames, saved_unit = self.frames, self.unit
        self.frames = [*saved_frames, Frame(state={}, parent=function.parent, module=function.parent.module)]
        self.unit = function.unit
        try:
            return self.decorator_names(node)  # type: ignore[attr-defined, no-any-return]
        finally:
            self.frames, self.unit = saved_frames, saved_unit


def known_callables(values: Values) -> bool:
    return any(v.kind in (Kind.FUNCTION, Kind.CLASS) for v in values)


def _callee_order(value: Value) -> tuple[str, str]:
    function = value.fact("function")
    return (value.kind.value, getattr(function, "name", "") or "")


def _is_super(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "super"


def _rebased(values: Values, old: str, new: str) -> Values:
    """Values a method left on its ``self`` (or returned), as its caller holds them through
    ``new`` (``mgr``): a branch condition about ``self.cfg['mode']`` is about ``mgr.cfg['mode']``
    there, so the caller's own test of it can exclude them."""
    return _renamed_guards(values, lambda guard: (conditions.rebase(guard[0], old, new), guard[1]))


def _renamed_guards(values: Values, rename: Callable[[Guard], Guard]) -> Values:
    if not any(v.guards for v in values):
        return values
    return frozenset(
        Value(v.kind, v.site, v.origin, frozenset(rename(g) for g in v.guards), v.facts) if v.guards else v
        for v in values
    )
