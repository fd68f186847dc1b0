"""Objects (part of the Interpreter): instances of the analysed code's classes (``__init__``
inlined, dataclass fields, a Trainer subclass's model), their attributes, properties, bound
methods, classmethods and ``super()``, and what the registry says of a library object's
attributes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import libcst as cst

from peftlint.analysis import conditions, effects, hooks, names, registry
from peftlint.analysis.callsite import CallSite
from peftlint.analysis.frames import ClassInfo, Frame, Function
from peftlint.analysis.pyobjects import config_item
from peftlint.analysis.units import UnitParseError
from peftlint.analysis.values import (
    MODEL_KINDS,
    NONE,
    UNKNOWN,
    Kind,
    Origin,
    State,
    Value,
    Values,
    make_facts,
    or_unknown,
    stable_key,
)

if TYPE_CHECKING:
    from peftlint.analysis.units import ParsedUnit


class Objects:
    frames: list[Frame]
    guards: list[Any]
    unit: ParsedUnit | None
    inlining: list[Function]
    depth_limit: int
    statement_node: cst.CSTNode | None
    expression: Callable[..., Values]
    quietly: Callable[[Callable[[], Values]], Values]
    import_value: Callable[[str], Values]
    function_value: Callable[[Function], Values]
    resolve_import: Callable[[Value], Values | None]
    function_decorators: Callable[[Function], tuple[str, ...]]
    bind_arguments: Callable[..., dict[str, Values]]
    run_function: Callable[..., tuple[Values, State, bool]]
    argument_parts: Callable[..., dict[str, Any]]
    inline: Callable[..., Values]
    origin: Callable[..., Origin]

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    def instantiate(self, info: ClassInfo, site: CallSite) -> Values:
        instance = self.instance_value(info, site=(id(site.node), tuple(id(o.node) for o in site.call_chain)), attrs={})
        library = info.all_library_bases()
        attrs: dict[str, Values] = {}
        api = next((registry.function_api(base) for base in sorted(library) if registry.function_api(base)), None)
        if api is not None and api.effect == "trainer":
            made = effects.apply(self, api, site)  # type: ignore[arg-type]
            for value in made:
                attrs.update(dict(value.fact("attrs", ())))
                # how the caller named ``args=`` (``targs``): its callbacks' ``args.output_dir`` is that
                instance = instance.updated(args_part=value.fact("args_part"))
        init = info.lookup("__init__")
        if init is not None:
            result = self.inline_init(init, site, frozenset({instance.with_attrs(attrs)}))
            if result is not None:
                attrs.update(result)
        elif info.is_dataclass() or any(cls.is_dataclass() for cls in info.mro()):
            fields = [name for cls in reversed(list(info.mro())) for name in cls.fields]
            for name, values in zip(fields, site.args, strict=False):
                attrs[name] = values
            for name in fields:
                if name in site.kwargs:
                    attrs[name] = site.kwargs[name]
                elif name not in attrs:
                    default = info.class_attribute(name) or UNKNOWN
                    # ``TrainConfig(**vars(args))``: any field may have been given
                    attrs[name] = default | UNKNOWN if site.spread else default
        return frozenset({instance.with_attrs(attrs) if attrs else instance})

    def inline_init(self, init: Function, site: CallSite, this: Values) -> dict[str, Values] | None:
        """Run ``__init__`` on a new instance: the attributes it sets on ``self``."""
        first = init.first_parameter()
        if first is None or len(self.inlining) >= self.depth_limit or init in self.inlining:
            return None
        try:
            init.loaded()
        except (UnitParseError, RecursionError):
            return None
        if init.decorators is None:
            init.decorators = self.function_decorators(init)
        bindings = self.bind_arguments(init, site, this)
        self.inlining.append(init)
        chain = (
            *self.frame.call_chain,
            self.origin(site.node, f"{init.owner.name if init.owner else ''}() is called here"),
        )
        placeholders = self.argument_parts(init, site, this)  # ``Saver(args.out)``: ``out_dir`` reads as ``args.out``
        try:
            _, end, _ = self.run_function(init, bindings, chain, placeholders)
        finally:
            self.inlining.pop()
        prefix = first + "."
        return {k[len(prefix) :]: v for k, v in end.items() if k.startswith(prefix) and "." not in k[len(prefix) :]}

    def instance_value(self, info: ClassInfo, site: object, attrs: dict[str, Values]) -> Value:
        library = info.all_library_bases()
        mro = tuple(f"class:{id(cls)}" for cls in info.mro())
        facts: dict[str, Any] = {"class": info, "class_key": id(info), "mro": mro}
        if any(registry.function_api(base) and registry.function_api(base).effect == "trainer" for base in library):  # type: ignore[union-attr]
            kind = Kind.TRAINER
        elif any(names.is_module_base_class(base) for base in library):
            kind = Kind.BASE_MODEL
            facts.update(model_class=info.name, local_module=True)
        else:
            kind = Kind.INSTANCE
        value = Value(kind, site=site, guards=frozenset(self.guards), facts=make_facts(**facts))
        return value.with_attrs(attrs) if attrs else value

    def resolve_classes(self, node: cst.BaseExpression) -> tuple[str, ...]:
        """The classes an ``isinstance`` test names: canonical library names or local class keys."""
        elements = [e.value for e in node.elements] if isinstance(node, cst.Tuple) else [node]
        found: list[str] = []
        for element in elements:
            values = self.quietly(lambda e=element: self.expression(e))  # type: ignore[misc]
            for value in values:
                if value.kind is Kind.IMPORT:
                    found.append(names.canonical(value.fact("qualname")))
                elif value.kind is Kind.CLASS:
                    found.append(f"class:{id(value.fact('class'))}")
                else:
                    return ()
        return tuple(found)

    def attribute_of(self, receiver: Values, name: str, node: cst.CSTNode, calling: bool = False) -> Values:
        """``receiver.name``: an import's member, a class's or instance's attribute or method, what
        the registry says of a library object; unknown otherwise."""
        found: set[Value] = set()
        for value in receiver:
            found |= self.attribute_of_value(value, name, node, calling)
        return or_unknown(found)

    def attribute_of_value(self, value: Value, name: str, node: cst.CSTNode, calling: bool) -> Values:
        kind = value.kind
        if kind is Kind.IMPORT:
            member = f"{value.fact('qualname')}.{name}"
            resolved = None if calling else self.resolve_import(value.updated(qualname=member))
            if resolved is not None:
                return resolved
            # (resolved from the module that imported it: ``.lora_exp.LoraExperiment`` taken out of
            # a package's registry is relative to the package, not to the file that reads it)
            importer = value.fact("importer")
            made = self.import_value(member)
            return frozenset(v.updated(importer=importer) if importer and v.fact("importer") else v for v in made)
        carried = value.attr(name)
        if carried is not None:
            return carried
        if name == "__name__" and kind in (Kind.FUNCTION, Kind.CLASS):  # ``self[name or fn.__name__] = fn``
            defined = value.fact("function") or value.fact("class")
            if defined is not None and not value.fact("partial"):
                return self.string_value(defined.name)  # type: ignore[attr-defined, no-any-return]
        info: ClassInfo | None = value.fact("class")
        if kind is Kind.CLASS and info is not None:
            method = info.lookup(name)
            if method is not None:
                if method.decorators is None:
                    method.decorators = self.function_decorators(method)
                if method.is_classmethod():
                    return frozenset({self.bound(method, frozenset({value}))})
                return self.function_value(method)
            if any(name in hooks.CONSTRUCTORS.get(base, ()) for base in info.all_library_bases()):
                saved = Value(Kind.CLASS, site=("saved", id(info)), facts=(("class", info), ("saved", True)))
                return frozenset({saved})
            return info.class_attribute(name) or UNKNOWN
        if info is not None:
            method = info.lookup(name)
            if method is not None:
                if method.decorators is None:
                    method.decorators = self.function_decorators(method)
                if method.is_property():
                    return self.call_property(method, value, node, _read_through(node))
                if method.is_static():
                    return self.function_value(method)
                if method.is_classmethod():
                    return frozenset({self.bound(method, info_value(info))})
                return frozenset({self.bound(method, frozenset({value}), node)})
            attribute = info.class_attribute(name)
            if attribute is not None:
                return attribute
        if kind is Kind.SUPER:
            return self.super_attribute(value, name)
        if kind is Kind.DICT and not calling and value.fact("sources") and not value.fact("entries"):
            return frozenset({config_item(value, f"[{name!r}]")})  # ``cfg.paths.checkpoint``
        if not calling and kind in LIBRARY_OBJECTS and registry.method_api(name, frozenset({kind})) is not None:
            return frozenset({library_method(value, name, node)})
        return effects.attribute(self, value, name)  # type: ignore[arg-type]

    def bound(self, method: Function, this: Values, node: cst.CSTNode | None = None) -> Value:
        """``obj.method`` read: the method with its instance, and the key it was read through
        (``self``), so a call of it by another name (``fn()`` of ``self._timed("setup",
        self.setup)``) changes that object's attributes where that key still names it."""
        site = ("bound", id(method), tuple(sorted(str(v.site) for v in this)))
        facts: tuple[tuple[str, Any], ...] = (("function", method), ("self", this))
        key = _read_through(node)
        if key is not None:
            facts += (("receiver_key", key),)
        return Value(Kind.FUNCTION, site=site, facts=facts)

    def entered(self, values: Values, node: cst.BaseExpression) -> Values:
        """What ``with x as y`` binds: what ``x.__enter__()`` returns. A file returns itself; a
        class of the analysed code runs its own ``__enter__`` (which sets up what the block
        uses: ``self.model = get_peft_model(...)``; ``return self``); anything else is unknown."""
        if values and all(v.kind is Kind.FILE for v in values):
            return values
        found: set[Value] = set()
        for value in sorted(values, key=stable_key):
            info: ClassInfo | None = value.fact("class")
            method = info.lookup("__enter__") if info is not None and value.kind is not Kind.CLASS else None
            if method is None:
                found |= UNKNOWN
                continue
            found |= self.call_property(method, value, node, conditions.key_of(node))
        return or_unknown(found)

    def exited(self, values: Values, node: cst.BaseExpression, held: Values | None) -> None:
        """The end of ``with x:`` that ran to its end: ``x.__exit__(None, None, None)`` of a class
        of the analysed code runs (a guard that saves the model on the way out). ``held``: what
        the ``as`` name holds now, where ``__enter__`` gave the object itself (changed in the block)."""
        sites = {v.site for v in values}
        if held and {v.site for v in held} == sites:
            values = held
        for value in sorted(values, key=stable_key):
            info: ClassInfo | None = value.fact("class")
            method = info.lookup("__exit__") if info is not None and value.kind is not Kind.CLASS else None
            if method is not None and self.frame.state is not None:  # (as ``__enter__`` is called)
                self.call_property(method, value, node, conditions.key_of(node), args=(NONE, NONE, NONE))

    def call_property(
        self,
        getter: Function,
        this: Value,
        node: cst.CSTNode,
        receiver_key: str | None = None,
        args: tuple[Values, ...] = (),
    ) -> Values:
        """A method the language calls itself: a property's getter, ``__enter__``, ``__exit__``
        (``args``: what it is given)."""
        site = CallSite.implied(
            self,
            node,
            unit=self.unit,
            statement=self.statement_node,
            method=getter.name,
            receiver=frozenset({this}),
            args=args,
            call_chain=self.frame.call_chain,
        )
        # an attribute read, not a step of a call chain: one past the depth calls are followed to
        self.depth_limit += 1
        try:
            return self.inline(getter, site, frozenset({this}), receiver_key)
        finally:
            self.depth_limit -= 1

    def super_attribute(self, value: Value, name: str) -> Values:
        info: ClassInfo = value.fact("owner")
        this: Values = value.fact("self")
        for candidate in this:
            cls: ClassInfo | None = candidate.fact("class")
            if cls is None:
                continue
            method = cls.lookup(name, after=info)
            if method is not None:
                return frozenset({self.bound(method, this)})
        library = sorted(info.all_library_bases())
        if library:
            if name == "__init__":
                return self.import_value(library[0])
            return frozenset({Value(Kind.FUNCTION, site=("library-method", name), facts=(("library", library[0]),))})
        return UNKNOWN


# Library objects whose methods the registry knows: ``restore = model.load_state_dict`` is that
# method of that object, called later by another name.
LIBRARY_OBJECTS = MODEL_KINDS | {Kind.TRAINER, Kind.ACCELERATOR, Kind.PIPELINE, Kind.DISTRIBUTED}


def library_method(value: Value, name: str, node: cst.CSTNode) -> Value:
    """``model.load_state_dict`` read, not called: a bound method, with the key of its receiver
    (``model``) for the rules that compare receivers."""
    facts = (("method", name), ("self", frozenset({value})), ("receiver_key", _read_through(node)))
    return Value(Kind.FUNCTION, site=("library-bound", name, value.site), facts=facts)


def _read_through(node: cst.CSTNode | None) -> str | None:
    """The key a method was read through: ``model`` for ``model.load_state_dict``."""
    return conditions.key_of(node.value) if isinstance(node, cst.Attribute) else None


def info_value(info: ClassInfo) -> Values:
    return frozenset({Value(Kind.CLASS, site=("class", id(info)), facts=(("class", info),))})
