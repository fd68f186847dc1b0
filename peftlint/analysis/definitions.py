"""Definitions (part of the Interpreter): defs, lambdas and classes become Function and
ClassInfo objects, parsed when first called; defs and classes that can reach a rule's call but
that no analysed code called are analysed on their own, with what their parameters' annotations,
defaults and pytest fixtures say."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import libcst as cst

from peftlint.analysis import names
from peftlint.analysis.callsite import CallSite
from peftlint.analysis.frames import ClassInfo, Frame, Function, ModuleScope, short_def
from peftlint.analysis.objects import info_value
from peftlint.analysis.prescreen import DEF, Unit
from peftlint.analysis.units import ParsedUnit, UnitParseError, statements_of, unit_node
from peftlint.analysis.values import UNKNOWN, Kind, State, Value, Values, is_none

if TYPE_CHECKING:
    from peftlint.analysis.project import Project
    from peftlint.analysis.reach import Reach


class Definitions:
    # provided by Interpreter / Expressions / Calls
    frames: list[Frame]
    guards: list[Any]
    unit: ParsedUnit | None
    statement_node: cst.CSTNode | None
    inlining: list[Function]
    inlined: set[int]
    pending: list[Function | ClassInfo]
    quiet: int
    reach: Reach | None
    project: Project
    bind: Callable[[str, Values], None]
    expression: Callable[..., Values]
    resolved_constants: Callable[[Values], Values]
    statement: Callable[[cst.CSTNode], None]
    walk_statements: Callable[..., None]
    walk_module: Callable[..., None]
    module_frame: Callable[[ModuleScope], Frame]
    run_function: Callable[..., Any]
    function_value: Callable[[Function], Values]
    parameter_values: Callable[[Function, cst.Param], Values]
    instance_value: Callable[..., Value]
    quietly: Callable[[Callable[[], Values]], Values]
    reaches: Callable[[Unit | None], bool]

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    def apart(self, frame: Frame, analyse: Callable[[], None]) -> None:
        """Analyse one def or class on its own, from the module as its statements left it: what it
        writes to module globals (``global MODEL``, ``state.MODEL = ...`` on an imported module)
        is undone afterwards. Nothing says it runs before the next def analysed on its own."""
        scopes = [scope for scope in self.project.scopes.values() if scope is not None and scope.frame is not None]
        saved = [(f.state, dict(f.state)) for f in (frame, *(s.frame for s in scopes)) if f and f.state is not None]
        known = set(self.project.scopes)
        try:
            analyse()
        finally:
            for state, before in saved:
                state.clear()
                state.update(before)
            for key in set(self.project.scopes) - known:
                del self.project.scopes[key]  # loaded meanwhile, and maybe written to: loaded afresh

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
            self_state = _placeholders_set_later(info, self_state)
        triggered = set()
        for name, method in sorted(info.members.items()):
            if name == "__init__" or id(method) in self.inlined or not self.method_calls_trigger(method):
                continue
            triggered.add(name)
            self.analyse_method_alone(method, instance, self_state)
        for method in _template_methods(info, triggered):
            if id(method) not in self.inlined:
                self.analyse_method_alone(method, instance, self_state)
        for name, method in sorted(info.members.items()):
            if name not in triggered and id(method) not in self.inlined and self.runs_in_sequence(info, method):
                self.analyse_method_alone(method, instance, self_state)

    def runs_in_sequence(self, info: ClassInfo, method: Function) -> bool:
        """A method that calls, on ``self``, one method that gives a model PEFT layers (an inherited
        ``setup()`` wrapping ``self.model``) and another of this file that makes a call a rule
        reports at (``load_checkpoint()``): neither alone shows what their order does, so the
        method that runs them in order is analysed on its own too."""
        unit = method.source_unit
        if unit is None or self.reach is None or method.name == "__init__":
            return False
        callees = [c for name in sorted(unit.calls) if (c := info.lookup(name)) is not None and c is not method]
        reaching = [c for c in callees if not c.parent.module.imported and self.reach.unit_reaches(c.source_unit)]  # type: ignore[arg-type]
        producing = [c for c in callees if self.produces(c)] if reaching else []
        return any(made is not reported for made in producing for reported in reaching)

    def produces(self, function: Function) -> bool:
        """The def can reach a call that gives a model PEFT layers (in its module's terms)."""
        imported = function.parent.module.imported
        reach = function.parent.module.reach if imported else self.reach
        return function.source_unit is not None and reach is not None and reach.unit_wraps(function.source_unit)

    def method_calls_trigger(self, method: Function) -> bool:
        """A method is analysed on its own when it makes a call some rule reports at itself:
        through the methods it calls, those calls are reached anyway, each by its own method
        (with ``self`` as ``__init__`` left it), and a class's every path is not walked twice."""
        reach = self.reach
        if reach is None or method.source_unit is None:
            return self.function_reaches(method)
        return bool(reach.method_triggered(method.source_unit.calls))

    def analyse_method_alone(self, method: Function, instance: Value, self_state: State) -> None:
        params = method.params()
        bindings = {p.name.value: self.parameter_values(method, p) for p in params}
        first = _first_param(method)
        if first is not None and not method.is_static():
            bindings[first] = frozenset({instance}) if not method.is_classmethod() else UNKNOWN
            if not method.is_classmethod():
                bindings.update({first + key: values for key, values in self_state.items()})
        self.run_function(method, bindings, call_chain=())

    def function_def(self, node: cst.FunctionDef) -> None:
        unit = self.unit
        assert unit is not None
        function = self.lazy_function(node.name.value, lambda: (unit, node), owner=None)
        value = self.function_value(function)
        if self.frame.kind == "class" and _property_accessor(node):
            function.decorators = self.decorator_names(node, evaluate=True)
            return  # ``@model.setter``: ``model`` stays the property, read through its getter
        replaced = self.run_decorators(function, node, value)
        self.bind(node.name.value, replaced if replaced is not None and self.frame.kind != "class" else value)
        if self.frame.kind != "class" and not self.frame.module.imported and self.function_reaches(function):
            self.pending.append(function)

    def function_reaches(self, function: Function) -> bool:
        """Whether a def can reach a call some rule needs (in its own module's terms)."""
        imported = function.parent.module.imported
        reach = function.parent.module.reach if imported else self.reach
        if reach is None:
            return True
        if function.source_unit is not None:
            # another module's def is followed into when it can make what a rule looks for
            check = reach.unit_produces if imported else reach.unit_reaches
            return bool(check(function.source_unit))
        node = function.node
        return not isinstance(node, cst.FunctionDef) or bool(reach.node_reaches(node, function.unit))

    def function_produces(self, function: Function) -> bool:
        """Whether a call to a def is followed into: it can reach a call that makes what some
        rule looks for (else a summary of it from the pre-screen stands for the call)."""
        reach = function.parent.module.reach if function.parent.module.imported else self.reach
        unit = function.source_unit
        if reach is None or unit is None:
            return True
        if reach.unit_produces(unit):
            return True
        # Called from the code being analysed itself, or from a def it calls (a script's
        # ``main()``), one that returns something made inside it is followed too (what it makes,
        # a path built with os.path.join, is unknown to the pre-screen); deeper down, and for a
        # procedure or one handing back its arguments, the pre-screen's summary stands for it.
        made_inside = any(
            name is None
            or (name != "None" and name.split(".")[0] not in unit.parameters)
            or _set_by_def(name, unit)  # ``cls._instance = cls(root)`` ... ``return cls._instance``
            for name in unit.returns
        )
        # (a property, read as an attribute, is followed at any depth: ``self.checkpoint_path``; a
        # short one, two calls deeper: ``checkpoint_file(run)`` joining ``run_dir(run)``'s path)
        short = short_def(function) and len(self.inlining) <= 4
        return made_inside and (len(self.inlining) <= 2 or short or bool(unit.decorators & _PROPERTIES))

    def overrides_produce(self, function: Function, this: Values | None) -> bool:
        """A method called on an instance of a subclass whose own methods, which ``function``
        calls on ``self`` (``self.setup()``, ``self._timed("setup", self.setup)``), make what a
        rule looks for: a template method in a base class of another module runs them."""
        unit = function.source_unit
        if this is None or function.owner is None or unit is None or len(self.inlining) > 2:
            return False  # (deeper down, as for function_produces, the pre-screen's summary stands)
        for value in this:
            info = value.fact("class")
            if info is None or info is function.owner:
                continue
            for name in sorted(unit.calls):
                method = info.lookup(name)
                if method is not None and method.owner is not function.owner and self.function_produces(method):
                    return True
        return False

    def dispatch_produces(self, function: Function, this: Values | None, site: CallSite) -> bool:
        """A def that calls something it does not name (``getattr(cb, event)(self)``, ``fn()`` of
        a parameter) may run the methods of the objects it is given (its instance's callbacks):
        followed when one of those makes what a rule looks for."""
        reach = function.parent.module.reach if function.parent.module.imported else self.reach
        unit = function.source_unit
        if reach is None or unit is None or not reach.calls_unknown(unit) or len(self.inlining) > 2:
            return False
        given = [*(this or ()), *(v for values in (*site.args, *site.kwargs.values()) for v in values)]
        classes: dict[int, ClassInfo] = {}
        for value in _objects_in(given, 2):
            info = value.fact("class")
            if info is not None:
                classes.setdefault(id(info), info)
        return any(
            self.function_produces(method)
            for info in classes.values()
            for cls in info.mro()
            for method in cls.members.values()
            if method is not function
        )

    def evaluate_unit(self, scope: ModuleScope, unit: Any) -> None:
        """One def or class of a lazy imported module, bound in its module frame (quietly)."""
        assert scope.frame is not None
        saved = (self.frames, self.guards, self.unit, self.statement_node, self.inlining)
        self.frames, self.guards, self.inlining = [scope.frame], [], []
        self.quiet += 1
        try:
            self.module_unit(scope.source.parse, unit)  # type: ignore[attr-defined]
        finally:
            self.frames, self.guards, self.unit, self.statement_node, self.inlining = saved
            self.quiet -= 1

    def evaluate_imported(self, scope: ModuleScope) -> None:
        """An imported module's bindings, as ``import`` makes them: quietly, nothing pending."""
        saved = (self.frames, self.guards, self.unit, self.statement_node, self.inlining)
        self.frames, self.guards, self.inlining = [], [], []
        self.quiet += 1
        try:
            self.walk_module(scope, scope.frame if scope.frame is not None else self.module_frame(scope))
        finally:
            self.frames, self.guards, self.unit, self.statement_node, self.inlining = saved
            self.quiet -= 1

    def class_def(self, node: cst.ClassDef) -> None:
        unit = self.unit
        info = self.new_class(node)
        frame = Frame(state={}, parent=self.frame, module=self.frame.module, kind="class")
        self.frames.append(frame)
        try:
            for statement in statements_of(node.body):
                if isinstance(statement, cst.FunctionDef) and _property_accessor(statement):
                    continue  # ``@model.setter``: ``model`` stays the property, read through its getter
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
                if member.name in info.members and member.decorators & {"setter", "deleter"}:
                    continue  # ``@model.setter``: ``model`` stays the property, read through its getter
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
            for value in self.quietly(lambda b=base: self.base_class(b.value)):  # type: ignore[misc]
                if value.kind is Kind.CLASS:
                    info.bases.append(value.fact("class"))
                elif value.kind is Kind.IMPORT:
                    library.append(names.canonical(value.fact("qualname")))
        info.library_bases = tuple(library)
        return info

    def base_class(self, node: cst.BaseExpression) -> Values:
        """A base in a ``class`` header: a class of the run (imported from another of its modules
        too: its methods are inherited and ``super()`` reaches them) or a library's import."""
        return self.resolved_constants(self.expression(node))

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
        made = info_value(info)
        self.bind(info.name, made)
        self.init_subclass(info, made)
        node = info.node
        if isinstance(node, cst.ClassDef) and node.decorators:  # ``@saver("pickle") class PickleSaver``
            saved, self.unit = self.unit, info.unit
            try:
                self.run_decorators(info, node, made)
            finally:
                self.unit = saved

    def init_subclass(self, info: ClassInfo, made: Values) -> None:
        """``class FullExporter(Exporter, fmt="full")``: a base's ``__init_subclass__`` runs on the
        new class with the header's keywords (``Exporter.registry[fmt] = cls``)."""
        hook = next((h for base in info.bases if (h := base.lookup("__init_subclass__")) is not None), None)
        node = info.node
        if hook is None or not isinstance(node, cst.ClassDef):
            return
        kwargs = {arg.keyword.value: self.expression(arg.value) for arg in node.keywords if arg.keyword is not None}
        site = CallSite.implied(
            self,
            node,
            unit=self.unit,
            statement=node,
            method="__init_subclass__",
            receiver=made,
            kwargs=kwargs,
            call_chain=self.frame.call_chain,
        )
        self.inline(hook, site, made, None, True)  # type: ignore[attr-defined]

    def runs_decorators(self, unit: Unit) -> bool:
        """A module-level def that makes something a rule follows (a model builder), decorated by
        a def of the run, of its own module or imported from another (``from zoo.registry import
        register``), or by a method of an object of a class of the run (``@MODELS.register("lora")``):
        the decorator may do something (fill a registry) when the def runs. A library's decorators
        are not run (``@auto_docstring`` on every def of transformers)."""
        reach = self.frame.module.reach if self.frame.module.imported else self.reach
        if reach is not None and not reach.unit_produces(unit):
            return False
        state = self.frame.state or {}
        for name in sorted(unit.decorators | unit.decorator_roots):
            values = state.get(name)
            if values is None and self.frame.module.lazy and self.frame.kind == "module":
                values = self.project.value_of(self.frame.module, name, self)  # type: ignore[attr-defined]
            for value in values or ():
                resolved = self.resolve_import(value) if value.kind is Kind.IMPORT else None  # type: ignore[attr-defined]
                if resolved is None and value.kind is Kind.IMPORT and name in unit.decorator_roots:
                    # ``from . import registry`` then ``@registry.register("lora")``: a module of the
                    # run, whose function decorates
                    resolved = self.module_decorators(value, unit.decorators)
                for decorator in resolved or (value,):
                    if decorator.kind is Kind.FUNCTION:
                        return True
                    if decorator.kind is Kind.INSTANCE and decorator.fact("class") and name in unit.decorator_roots:
                        return True  # ``@MODELS.register("lora")``: a method of a registry of the run
        return False

    def module_decorators(self, module: Value, names: set[str]) -> Values | None:
        """The functions ``module.name`` names, for ``name`` in ``names``, where ``module`` is an
        import of a module of the run (``registry`` of ``from . import registry``)."""
        found: set[Value] = set()
        qualname = module.fact("qualname")
        for name in sorted(names):
            member = module.updated(qualname=f"{qualname}.{name}")
            found |= {v for v in self.resolve_import(member) or () if v.kind is Kind.FUNCTION}  # type: ignore[attr-defined]
        return frozenset(found) or None

    def decorate(self, function: Function, value: Values) -> Values | None:
        """A module-level def, parsed to run its decorators (``run_decorators``)."""
        try:
            parsed, node = function.loaded()
        except (UnitParseError, RecursionError):
            return None
        saved, self.unit = self.unit, parsed
        try:
            return self.run_decorators(function, node, value)
        finally:
            self.unit = saved

    def run_decorators(
        self, function: Function | ClassInfo, node: cst.FunctionDef | cst.ClassDef, value: Values
    ) -> Values | None:
        """The def (or class) statement: its decorator expressions are evaluated (and their calls
        heard), then each that is a def of the run (``@register("bert-lora")`` gives ``deco``) is
        called with the def, innermost first: what it does happens (a registry is filled). One
        that hands back another def (``@with_lora(r=16)``'s ``wrapper``, which calls the loader
        and wraps what it returns) replaces it: that is returned, for the def's name to hold.
        None: the name keeps the def itself (a decorator that returns it, or a library's)."""
        applied: list[tuple[cst.Decorator, Values]] = []
        self.decorating += 1  # a decorator of another module of the run is followed into
        try:
            function.decorators = self.decorator_names(node, evaluate=True, applied=applied)
        finally:
            self.decorating -= 1
        current, replaced = value, False
        for decorator, given in reversed(applied):
            callables = frozenset(v for v in given if v.kind is Kind.FUNCTION and v.fact("function") is not None)
            if not callables:
                continue  # a library's decorator (``torch.no_grad()``, ``lru_cache``): nothing to run
            site = CallSite.implied(
                self,
                decorator,
                unit=self.unit,
                statement=decorator,
                receiver=UNKNOWN,
                args=(current,),
                discarded=True,
                call_chain=self.frame.call_chain,
            )
            made = self.quietly(lambda s=site, c=callables, d=decorator: self.call_values(c, s, None, d.decorator))  # type: ignore[misc, attr-defined]
            if _other_def(made, current):
                current, replaced = made, True
        return current if replaced else None

    def lazy_function(self, name: str, load: Callable[[], Any], owner: ClassInfo | None) -> Function:
        return Function(name=name, load=load, parent=self.frame, owner=owner)

    def decorator_names(
        self,
        node: cst.FunctionDef | cst.ClassDef,
        evaluate: bool = False,
        applied: list[tuple[cst.Decorator, Values]] | None = None,
    ) -> tuple[str, ...]:
        """The canonical names of a def's decorators; ``evaluate``: the def statement runs here, so
        the decorator expressions are evaluated (and their calls heard) first, each with what it
        gives put in ``applied``."""
        found = []
        for decorator in node.decorators:
            if evaluate:
                saved, self.statement_node = self.statement_node, decorator
                try:
                    given = self.expression(decorator.decorator)
                finally:
                    self.statement_node = saved
                if applied is not None:
                    applied.append((decorator, given))
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


def def_of(parsed: ParsedUnit) -> tuple[ParsedUnit, Any]:
    return parsed, unit_node(parsed)


def _loader(unit: ParsedUnit | None, node: cst.FunctionDef) -> Callable[[], tuple[Any, cst.FunctionDef]]:
    return lambda: (unit, node)


def _member_loader(parse: Callable[[Unit], ParsedUnit], member: Unit) -> Callable[[], tuple[Any, Any]]:
    return lambda: def_of(parse(member))


def _template_methods(info: ClassInfo, triggered: set[str]) -> list[Function]:
    """The methods ``info`` inherits from the analysed code's base classes that call one of its own
    ``triggered`` methods on ``self``: ``BaseJob.run()`` calling ``self.setup()`` then
    ``self.reload_best()`` runs this class's overrides, in that order, on its instance."""
    found = []
    for cls in list(info.mro())[1:]:
        for name, method in sorted(cls.members.items()):
            unit = method.source_unit
            if name != "__init__" and unit is not None and info.lookup(name) is method and triggered & unit.calls:
                found.append(method)
    return found


def _first_param(function: Function) -> str | None:
    params = function.params()
    return params[0].name.value if params else None


def _property_accessor(node: cst.FunctionDef) -> bool:
    """``@model.setter`` / ``@model.deleter`` on ``def model``: another accessor of a property."""
    return any(
        isinstance(d.decorator, cst.Attribute)
        and isinstance(d.decorator.value, cst.Name)
        and d.decorator.value.value == node.name.value
        and d.decorator.attr.value in ("setter", "deleter")
        for d in node.decorators
    )


def _objects_in(values: Iterable[Value], depth: int) -> list[Value]:
    """The objects among ``values`` and, ``depth`` levels down, in their attributes and items."""
    found: list[Value] = []
    for value in values:
        if value.kind in (Kind.INSTANCE, Kind.TRAINER, Kind.BASE_MODEL):
            found.append(value)
        if depth > 0:
            inner = [v for _, held in value.fact("attrs", ()) for v in held]
            inner += [v for held in value.fact("items", ()) or () for v in held]
            found += _objects_in(inner, depth - 1)
    return found


_PROPERTIES = frozenset({"property", "cached_property"})  # (the pre-screen keeps a decorator's last name)


def _placeholders_set_later(info: ClassInfo, self_state: State) -> State:
    """``self.model = None`` in ``__init__``, assigned by ``setup()``: a method analysed on its own
    runs at some time after ``__init__``, when such an attribute may hold what another method of the
    class gave it. It is unknown there, not None."""
    later = {
        attribute
        for cls in info.mro()
        for name, method in cls.members.items()
        if name != "__init__" and method.source_unit is not None
        for attribute in method.source_unit.sets_on_self
    }
    return {
        key: UNKNOWN if key.count(".") == 1 and key[1:] in later and all(is_none(v) for v in values) else values
        for key, values in self_state.items()
    }


def _set_by_def(returned: str, unit: Unit) -> bool:
    """``return cls._instance`` (or ``self.x``) of an attribute the def sets on its first parameter."""
    root, _, attribute = returned.partition(".")
    return bool(unit.parameters) and root == unit.parameters[0] and attribute.split(".")[0] in unit.sets_on_self


def _other_def(made: Values, given: Values) -> bool:
    """What a decorator of the run gave back is a def of the run other than the one it was given
    (a wrapper closure), and nothing else."""
    return (
        bool(made)
        and made != given
        and all(
            v.kind is Kind.FUNCTION
            and v.fact("function") is not None
            and not v.fact("partial")
            and not v.fact("method")
            for v in made
        )
    )
