"""Expressions: what each libcst expression node can evaluate to (part of the Interpreter)."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import libcst as cst

from peftlint.analysis import conditions, names, registry
from peftlint.analysis.loops import Loops
from peftlint.analysis.pyobjects import item_of, known_keys, missing_entries, some_slot
from peftlint.analysis.strings import Strings
from peftlint.analysis.syntax import target_names
from peftlint.analysis.values import (
    NONE,
    NOTHING,
    UNKNOWN,
    Kind,
    Value,
    Values,
    after_comprehension,
    const,
    contained,
    keys_of,
    make_facts,
    not_empty,
    or_unknown,
    parameter_items,
    put_entry,
    with_item,
)

if TYPE_CHECKING:
    from peftlint.analysis.frames import Frame, Function
    from peftlint.analysis.project import Project
    from peftlint.analysis.units import ParsedUnit

_BUILTINS = frozenset(dir(builtins))

_LITERAL_NAMES = {"True": True, "False": False, "None": None}


class Expressions(Loops):
    # provided by Interpreter / Calls
    frames: list[Frame]
    guards: list[Any]
    unit: ParsedUnit | None
    attribute_parents: set[str]
    lookup: Callable[[str], Values | None]
    bind: Callable[..., None]
    attributes_of_key: Callable[[str], dict[str, Values]]
    call: Callable[..., Values]
    attribute_of: Callable[..., Values]
    new_value: Callable[..., Value]
    transform_everywhere: Callable[..., None]
    set_attributes_everywhere: Callable[..., None]
    refined: Callable[..., Any]
    quietly: Callable[[Callable[[], Values]], Values]
    lazy_function: Callable[..., Function]
    project: Project

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    # ----------------------------------------------------------------- dispatch
    def expression(self, node: cst.BaseExpression | None, discarded: bool = False) -> Values:
        if node is None:
            return UNKNOWN
        kind = type(node)
        if kind is cst.Name:
            return self.name(node.value)  # type: ignore[attr-defined]
        if kind is cst.Call:
            return self.call(node, discarded)
        if kind is cst.Attribute:
            return self.attribute(node)  # type: ignore[arg-type]
        handler = _HANDLERS.get(kind)
        if handler is not None:
            return handler(self, node)  # type: ignore[no-any-return]
        return self.children(node)

    def children(self, node: cst.CSTNode) -> Values:
        """Evaluate every sub-expression (for the calls inside); the value itself is unknown."""
        for child in _expression_children(node):
            self.expression(child)
        return UNKNOWN

    def name(self, identifier: str) -> Values:
        found = self.lookup(identifier)
        if found is not None:
            return self.with_key_attributes_of(identifier, found)
        if identifier in _LITERAL_NAMES:
            return const(_LITERAL_NAMES[identifier])
        for module in sorted(self.frame.module.star_imports):
            exported = names.STAR_EXPORTS.get(module)
            if exported is not None and exported(identifier):
                return self.import_value(f"{module}.{identifier}")
        if identifier in _BUILTINS:
            return self.import_value(f"builtins.{identifier}")
        return UNKNOWN

    def with_key_attributes_of(self, key: str, values: Values) -> Values:
        """Attributes set through a name (``r.model = m``) travel with the object it holds."""
        attributes = self.attributes_of_key(key) if key in self.attribute_parents else {}
        if not attributes:
            return values
        attributes = {name: frozenset(_flat(v) for v in found) for name, found in attributes.items()}
        return frozenset(
            v.with_attrs(attributes) if v.kind not in (Kind.UNKNOWN, Kind.CONST, Kind.IMPORT) else v for v in values
        )

    def with_key_attributes(self, node: cst.BaseExpression, values: Values) -> Values:
        key = conditions.key_of(node)
        return self.with_key_attributes_of(key, values) if key is not None else values

    def attribute(self, node: cst.Attribute) -> Values:
        key = conditions.key_of(node)
        if key is not None:
            found = self.lookup(key)
            if found is not None:
                return self.with_key_attributes_of(key, found)
        return self.attribute_of(self.expression(node.value), node.attr.value, node)

    def feasible(self, values: Values) -> Values:
        if not self.guards or not values:
            return values
        return or_unknown(v for v in values if v.feasible_under(self.guards))

    # ----------------------------------------------------------------- values of things
    def import_value(self, qualname: str) -> Values:
        canonical = names.canonical(qualname)
        if canonical in registry.CONSTANTS:
            return const(registry.CONSTANTS[canonical])
        facts: dict[str, Any] = {"qualname": qualname}
        if not names.is_library(qualname, self.frame.module.path):
            facts["importer"] = self.frame.module.path
        return frozenset({Value(Kind.IMPORT, site=("import", qualname), facts=make_facts(**facts))})

    def import_value_for(self, qualname: str, scope: Any) -> Values:
        """An import in another module (``scope``): relative names resolve against that module."""
        facts: dict[str, Any] = {"qualname": qualname}
        if not names.is_library(qualname, scope.path):
            facts["importer"] = scope.path
        canonical = names.canonical(qualname)
        if canonical in registry.CONSTANTS:
            return const(registry.CONSTANTS[canonical])
        return frozenset({Value(Kind.IMPORT, site=("import", qualname), facts=make_facts(**facts))})

    def function_value(self, function: Function) -> Values:
        return frozenset({Value(Kind.FUNCTION, site=("function", id(function)), facts=(("function", function),))})

    def dotted(self, node: cst.BaseExpression) -> str:
        if isinstance(node, cst.Name):
            return node.value
        if isinstance(node, cst.Attribute):
            return f"{self.dotted(node.value)}.{node.attr.value}"
        return ""

    def code(self, node: cst.CSTNode) -> str:
        return self.unit.code(node) if self.unit is not None else ""

    # ----------------------------------------------------------------- assignment
    def assign_target(self, target: cst.BaseExpression, values: Values) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            self.assign_elements([e for e in target.elements], values)
            return
        if isinstance(target, cst.StarredElement):
            self.assign_target(target.value, UNKNOWN)
            return
        key = conditions.key_of(target)
        if key is not None:
            self.bind(key, values)
            if isinstance(target, cst.Subscript):
                self.store_item(target, values)
            elif isinstance(target, cst.Attribute):
                if isinstance(target.value, cst.Name):
                    self.set_module_attribute(target.value, target.attr.value, values)
                self.set_shared_attribute(target, values)
            return
        if isinstance(target, cst.Attribute):
            self.expression(target.value)
        elif isinstance(target, cst.Subscript):
            self.store_item(target, values)

    def set_shared_attribute(self, target: cst.Attribute, values: Values) -> None:
        """``state.model = m`` or ``self.state.model = m`` on an object of the analysed code that
        other names hold too (the caller's ``state``, another object's ``self.state``): the one
        object changes, so every name and object holding it sees the attribute. ``self.x = v``
        reaches the caller through the call's receiver when the method returns; while it runs,
        what its own frame holds sees it (``self.evaluator.owner.x``, the evaluator it calls next)."""
        receiver = conditions.key_of(target.value)
        if receiver is None or receiver == "cls":
            return
        held = self.lookup(receiver) or frozenset()
        sites = {v.site for v in held if v.kind is Kind.INSTANCE}
        if not sites or any(v.kind is not Kind.INSTANCE for v in held):  # (one object, in several versions)
            return
        attrs = {target.attr.value: values}
        if receiver == "self":
            self.transform_in_frame(sites, lambda value: value.with_attrs(attrs))
        else:
            self.set_attributes_everywhere(sites, attrs)

    def set_module_attribute(self, module: cst.Name, name: str, values: Values) -> None:
        """``state.MODEL = model`` where ``state`` is an imported module of the run: the module is
        one object, so every importer reads the new value (as ``global`` writes are seen)."""
        imported = self.lookup(module.value)
        if not imported or len(imported) != 1:
            return
        (value,) = imported
        if value.kind is not Kind.IMPORT or not value.fact("importer"):
            return
        scope = self.project.module_scope(value.fact("qualname"), value.fact("importer"), self)  # type: ignore[arg-type]
        if scope is not None and scope.frame is not None:
            self.bind(name, values, module=scope.frame)

    def assign_elements(self, elements: Sequence[cst.BaseElement], values: Values) -> None:
        """``tokenizer, model = build()`` where build returns ``tok, model``: element-wise."""
        starred = any(isinstance(e, cst.StarredElement) for e in elements)
        exact = [v.fact("items") for v in values if v.kind is Kind.TUPLE and len(v.fact("items")) == len(elements)]
        loose = [v for v in values if v.kind is Kind.LIST or (v.kind is Kind.TUPLE and v.fact("open"))]
        unknown = any(
            v.kind not in (Kind.TUPLE, Kind.LIST) or (v.kind is Kind.TUPLE and len(v.fact("items")) != len(elements))
            for v in values
        )
        for index, element in enumerate(elements):
            if starred:
                parts = UNKNOWN
            else:
                found: set[Value] = set()
                for items in exact:
                    found |= items[index]
                for value in loose:
                    for item in value.fact("items", ()):
                        found |= item
                parts = frozenset(found) | (UNKNOWN if unknown or loose else frozenset())
            self.assign_target(element.value, or_unknown(parts))

    def store_item(self, target: cst.Subscript, values: Values) -> None:
        """``models[name] = m``: the container object now holds ``m`` too (for every alias)."""
        containers = [v for v in self.expression(target.value) if v.kind in (Kind.DICT, Kind.LIST)]
        index = target.slice[0].slice if len(target.slice) == 1 else None
        constant = conditions.literal(index.value) if isinstance(index, cst.Index) else None
        # a setting stored under its key (``CFG["ckpt_path"] = os.path.join(...)``) is kept as a dict
        # display keeps it; elsewhere only what the rules follow
        named = isinstance(constant, str) and all(v.kind is Kind.DICT for v in containers)
        values = contained(values, settings=named)
        given: Values = UNKNOWN
        if constant is conditions.UNKNOWN_LITERAL and isinstance(index, cst.Index):
            # ``REGISTRY[name] = fn`` with ``name`` known to hold one string or number: that key
            given = self.quietly(lambda: self.resolved_constants(self.expression(index.value)))
            keys = keys_of(given)
            if keys is not None and len(set(keys)) == 1:
                constant = keys[0]
        if values == UNKNOWN and all(
            v.fact("open") and constant not in dict(v.fact("entries", ())) and not v.fact("keyed") for v in containers
        ):
            return  # nothing the rules follow goes in, nothing they follow is overwritten, no key is new
        sites = {v.site for v in containers}
        # ``scores[i] = acc`` in ``for i, hp in enumerate(GRID)``, ``models[lang] = m`` for each of
        # ``LANGS``: the key is one of the loop's elements, and iterating the dict gives them
        keyed = given if given and all(_key_like(v) for v in given) else None

        def add(value: Value) -> Value:
            if value.kind is Kind.DICT:
                entries = value.fact("entries", ())
                if isinstance(constant, (str, int)) and not isinstance(constant, bool):
                    return value.updated(entries=put_entry(entries, constant, values))
                # under a key the analysis cannot tell
                ordered = put_entry(entries, "*", dict(entries).get("*", frozenset()) | values)
                if keyed is None or (value.fact("open") and not value.fact("keyed")):
                    return value.updated(entries=ordered, open=True, keyed=None)
                return value.updated(entries=ordered, open=True, keyed=(value.fact("keyed") or frozenset()) | keyed)
            return with_item(value, values)

        # ``self.models[lang] = m``: the dict is an object's attribute, reached inside that object
        self.transform_everywhere(sites, add, nested=isinstance(target.value, cst.Attribute))
        if isinstance(target.value, cst.Attribute):  # ``Exporter.registry[fmt] = cls``: a class's own
            owners = self.quietly(lambda: self.expression(target.value.value))  # type: ignore[attr-defined]
            self.transform_in_classes(owners, target.value.attr.value, sites, add)  # type: ignore[attr-defined]

    # ----------------------------------------------------------------- containers
    def iterate(self, values: Values) -> Values:
        """What ``for x in values`` binds ``x`` to."""
        found: set[Value] = set()
        complete = True
        for value in values:
            if value.kind in (Kind.TUPLE, Kind.LIST):
                for item in value.fact("items", ()):
                    found |= item
            elif value.kind is Kind.DICT and (not value.fact("open") or value.fact("keyed")):
                found |= known_keys(value)
            elif value.kind is Kind.PARAMETERS:
                found.add(parameter_items(value))  # ``for n, p in m.named_parameters()``: p is one of m's
            else:
                complete = False
        return frozenset(found) | (UNKNOWN if not complete or not found else frozenset())

    def subscript(self, node: cst.Subscript) -> Values:
        key = conditions.key_of(node)
        if key is not None:
            found = self.lookup(key)
            if found is not None:
                return found
        containers = self.resolved_constants(self.expression(node.value))  # ``from models import BUILDERS``
        index_values: Values = UNKNOWN
        index_node = None
        for element in node.slice:
            if isinstance(element.slice, cst.Index):
                index_node = element.slice.value
                index_values = self.expression(index_node)
            else:
                self.children(element.slice)
                index_values = UNKNOWN
        keys = keys_of(index_values) if len(node.slice) == 1 else None
        exact = keys is not None
        # ``HOOKS[event]`` of a defaultdict without that key, held by a name: the new list it now
        # holds there (one held inside other objects, ``self._metrics[mode][key]``, is not followed:
        # reaching it in every object that holds it, on every read, is what makes big trainers slow)
        direct = isinstance(node.value, cst.Name) and keys is not None and len(keys) == 1
        made = missing_entries(self, containers, keys[0], node) if direct else NOTHING
        items: set[Value] = set(made)
        for value in containers:
            if not made or not value.fact("default"):
                items |= item_of(value, keys)
        return or_unknown(items) if exact else some_slot(frozenset(items))

    def display(self, node: cst.Tuple | cst.List | cst.Set) -> Values:
        items = []
        starred = False
        for element in node.elements:
            if isinstance(element, cst.StarredElement):
                starred = True
                items.append(self.iterate(self.expression(element.value)))
            else:
                items.append(self.expression(element.value))
        kind = Kind.TUPLE if isinstance(node, cst.Tuple) else Kind.LIST
        return frozenset({self.new_value(kind, node, None, items=tuple(items), open=starred or None)})

    def dict_display(self, node: cst.Dict) -> Values:
        entries: dict[object, Values] = {}
        open_ = False
        for element in node.elements:
            if isinstance(element, cst.StarredDictElement):
                spread = self.expression(element.value)
                for value in spread:
                    if value.kind is Kind.DICT and not value.fact("open"):
                        entries.update(dict(value.fact("entries", ())))
                    else:
                        open_ = True
                continue
            assert isinstance(element, cst.DictElement)
            key = conditions.literal(element.key)
            self.expression(element.key)
            values = self.expression(element.value)
            if isinstance(key, (str, int)) and not isinstance(key, bool):
                entries[key] = values
            else:
                open_ = True
                entries.setdefault("*", NOTHING)
                entries["*"] = entries["*"] | values
        pairs = tuple(sorted(entries.items(), key=lambda e: repr(e[0])))
        order = tuple(entries) if not open_ else None  # the entries are kept sorted: Python's order is this
        return frozenset({self.new_value(Kind.DICT, node, None, entries=pairs, open=open_ or None, order=order)})

    def comprehension(self, node: cst.BaseComp | cst.DictComp) -> Values:
        """Calls inside are evaluated; the comprehension's own names never leak out."""
        saved = self.frame.state
        self.frame.state = None if saved is None else dict(saved)
        own: set[str] = set()
        runs = False
        try:
            clause: cst.CompFor | None = node.for_in
            while clause is not None:
                iterated = self.expression(clause.iter)
                if clause is node.for_in:
                    runs = not_empty(iterated)
                    in_order = self.comprehension_in_order(node, clause, iterated)
                    if in_order is not None:
                        own |= target_names(clause.target)
                        return in_order
                own |= target_names(clause.target)
                self.assign_target(clause.target, self.loop_elements(clause.target, clause.iter, iterated))
                for condition in clause.ifs:
                    self.expression(condition.test)
                clause = clause.inner_for_in
            if isinstance(node, cst.DictComp):
                self.expression(node.key)
                values = self.expression(node.value)
                return frozenset({self.new_value(Kind.DICT, node, None, entries=(("*", values),), open=True)})
            values = self.expression(node.elt)  # type: ignore[attr-defined]
        finally:
            self.frame.state = after_comprehension(saved, self.frame.state, own, runs)
        return frozenset({self.new_value(Kind.LIST, node, None, items=(values,), open=True)})

    # ----------------------------------------------------------------- operators
    def boolean(self, node: cst.BooleanOperation) -> Values:
        left = self.expression(node.left)
        saved = self.frame.state
        polarity = isinstance(node.operator, cst.And)  # `a and b` evaluates b only when a is true
        entry = self.refined(saved, node.left, polarity)
        if entry is None:
            return left
        self.frame.state = entry
        try:
            right = self.expression(node.right)
        finally:
            self.frame.state = saved
        # ``name or fn.__name__`` is ``fn.__name__`` where ``name`` is None: a left value is the
        # result only where it can test true (``or``) or false (``and``)
        return frozenset(v for v in left if conditions.may_be(v, not polarity)) | right

    def if_expression(self, node: cst.IfExp) -> Values:
        self.expression(node.test)
        saved = self.frame.state
        found: Values = NOTHING
        for polarity, branch in ((True, node.body), (False, node.orelse)):
            entry = self.refined(saved, node.test, polarity)
            if entry is None:
                continue
            self.frame.state = entry
            try:
                found |= self.expression(branch)
            finally:
                self.frame.state = saved
        return or_unknown(found)

    def comparison(self, node: cst.Comparison) -> Values:
        left = self.expression(node.left)
        rights = [self.expression(target.comparator) for target in node.comparisons]
        state = self.frame.state
        if state is None:
            return UNKNOWN
        if len(rights) == 1 and conditions.is_one_literal(left):
            # ``part.strip() in KNOWN``: literals on both sides decide it (the right side's imported
            # constant read from its module only then: resolving every comparison's names loads
            # modules for nothing)
            decided = conditions.compared(node.comparisons[0].operator, left, self.resolved_constants(rights[0]))
            if decided is not None:
                return const(decided)
        can_be_true = self.refined(state, node, True) is not None
        can_be_false = self.refined(state, node, False) is not None
        if can_be_true != can_be_false:
            return const(can_be_true)
        return UNKNOWN

    def unary(self, node: cst.UnaryOperation) -> Values:
        values = self.expression(node.expression)
        if isinstance(node.operator, cst.Not):
            state = self.frame.state
            if state is not None:
                can_be_true = self.refined(state, node.expression, True) is not None
                can_be_false = self.refined(state, node.expression, False) is not None
                if can_be_true != can_be_false:
                    return const(not can_be_true)
            return UNKNOWN
        constant = conditions.literal(node)
        if conditions.is_literal(constant):
            return const(constant)
        del values
        return UNKNOWN

    def named(self, node: cst.NamedExpr) -> Values:
        values = self.expression(node.value)
        self.assign_target(node.target, values)
        return values

    def yield_expression(self, node: cst.Yield) -> Values:
        value = node.value
        if isinstance(value, cst.From):  # ``yield from loader``: a generator still, of unknown items
            self.expression(value.item)
            self.frame.yields.append(UNKNOWN)
        elif value is not None:
            self.frame.yields.append(self.expression(value))
        else:
            self.frame.yields.append(NONE)
        return UNKNOWN

    def lambda_expression(self, node: cst.Lambda) -> Values:
        unit = self.unit
        function = self.lazy_function("<lambda>", lambda: (unit, node), owner=None)
        return self.function_value(function)


def _flat(value: Value) -> Value:
    """An attribute's value without attributes of its own: objects carry one level of them."""
    return value.updated(attrs=None) if value.fact("attrs") else value


def _number(self: Expressions, node: cst.BaseExpression) -> Values:
    value = conditions.literal(node)
    return const(value) if conditions.is_literal(value) else UNKNOWN


_HANDLERS: dict[type, Callable[[Any, Any], Values]] = {
    cst.SimpleString: Strings.literal_string,
    cst.ConcatenatedString: Strings.literal_string,
    cst.FormattedString: Strings.formatted,
    cst.Integer: _number,
    cst.Float: _number,
    cst.Imaginary: lambda self, node: UNKNOWN,
    cst.Ellipsis: lambda self, node: const(...),
    cst.BinaryOperation: Strings.binary_operation,
    cst.BooleanOperation: Expressions.boolean,
    cst.UnaryOperation: Expressions.unary,
    cst.Comparison: Expressions.comparison,
    cst.IfExp: Expressions.if_expression,
    cst.Subscript: Expressions.subscript,
    cst.Tuple: Expressions.display,
    cst.List: Expressions.display,
    cst.Set: Expressions.display,
    cst.Dict: Expressions.dict_display,
    cst.ListComp: Expressions.comprehension,
    cst.SetComp: Expressions.comprehension,
    cst.GeneratorExp: Expressions.comprehension,
    cst.DictComp: Expressions.comprehension,
    cst.Await: lambda self, node: self.expression(node.expression),
    cst.NamedExpr: Expressions.named,
    cst.Yield: Expressions.yield_expression,
    cst.Lambda: Expressions.lambda_expression,
    cst.StarredElement: lambda self, node: self.iterate(self.expression(node.value)),
}


def _expression_children(node: cst.CSTNode) -> list[cst.BaseExpression]:
    """Sub-expressions of a node of a kind the handlers do not know (a slice, a keyword...)."""
    found: list[cst.BaseExpression] = []
    stack: list[Any] = list(node.children)
    while stack:
        child = stack.pop()
        if isinstance(child, cst.BaseExpression):
            found.append(child)
        elif isinstance(child, cst.CSTNode):
            stack.extend(child.children)
    return found[::-1]


def _key_like(value: Value) -> bool:
    """A key a dict can be iterated back to: a loop's element, a number, a known string."""
    return value.kind in (Kind.SYMBOL, Kind.CONST) or (value.kind is Kind.STRING and value.fact("text") is not None)
