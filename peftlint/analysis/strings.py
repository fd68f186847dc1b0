"""Strings and operators: literal and formatted strings, ``+ / %`` on paths and numbers, and the
path shapes (paths.py) a value can have (part of the Interpreter)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import libcst as cst

from peftlint.analysis import conditions, paths, scopes, training
from peftlint.analysis.values import (
    UNKNOWN,
    Kind,
    Value,
    Values,
    const,
    constants_of,
    known,
    make_facts,
    or_unknown,
)

if TYPE_CHECKING:
    from peftlint.analysis.frames import Frame, Function
    from peftlint.analysis.project import Project
    from peftlint.analysis.units import ParsedUnit

MAX_SHAPES = 8


class Strings:
    # provided by Interpreter / Expressions
    guards: list[Any]
    unit: ParsedUnit | None
    expression: Callable[..., Values]
    code: Callable[[cst.CSTNode], str]
    resolve_import: Callable[..., Values | None]
    resolved_constants: Callable[[Values], Values]
    binding_frame: Callable[[str], Frame | None]
    object_names: dict[object, str]
    anchor: str
    project: Project

    def string_value(self, text: str, node: cst.CSTNode | None = None) -> Values:
        return self.strings(node, [paths.literal(text)], text=text)

    def strings(
        self,
        node: cst.CSTNode | None,
        shapes: Sequence[paths.Shape],
        text: str | None = None,
        sources: Sequence[Values] = (),
    ) -> Values:
        """``sources``: the values the strings are built from; the module constants among them
        (``CKPT_DIR / "policy.pt"``) are the new strings' too, so a path built from one names the
        same place wherever the constant is imported."""
        guards = frozenset(self.guards)
        constants = _constants(sources)
        found = []
        for shape in list(dict.fromkeys(paths.normalise(s) for s in shapes))[:MAX_SHAPES]:
            literal_text = text if text is not None else paths.literal_text(shape)
            facts = make_facts(shape=shape, text=literal_text, constants=constants)
            found.append(Value(Kind.STRING, site=(id(node), shape), guards=guards, facts=facts))
        return or_unknown(found)

    # ----------------------------------------------------------------- path shapes
    def shapes(self, values: Values, node: cst.CSTNode | None) -> list[paths.Shape]:
        """Every path shape a value can have; a value the analysis cannot read stands for itself
        by its source text (the same text in one file names the same place)."""
        found: list[paths.Shape] = []
        placeholder = False
        for value in sorted(values, key=_value_order):
            if value.kind is Kind.IMPORT and value.fact("importer") is not None:
                resolved = self.resolve_import(value)
                strings = [v for v in resolved or () if v.kind is Kind.STRING]
                if strings:
                    found += [v.fact("shape") for v in strings]
                    continue
            if value.kind is Kind.STRING:
                found.append(value.fact("shape"))
            elif value.kind is Kind.CONST and type(value.fact("value")) in (int, float):
                found.append(paths.literal(str(value.fact("value"))))  # ``{EPOCHS - 1}`` with EPOCHS = 3: "2"
            elif value.kind is Kind.DICT and value.fact("sources"):
                found += [paths.config(source) for source in value.fact("sources")]
            elif value.kind is Kind.FILE and value.fact("shapes"):
                found += list(value.fact("shapes"))  # ``torch.load(f)`` of ``f = open(path, "rb")``
            elif value.kind is Kind.SYMBOL:
                found.append(paths.each(value.fact("text")))  # named by the loop it comes from
            elif value.kind is Kind.IMPORT and not value.fact("qualname").startswith("builtins."):
                importer = value.fact("importer")
                place = self.project.place_of(value.fact("qualname"), importer) if importer else None
                found.append(paths.imported(place or value.fact("qualname")))
            else:
                placeholder = True
        if placeholder or not found:
            found.append(self.placeholder_shape(node) if node is not None else paths.placeholder("?"))
        return list(dict.fromkeys(found))[:MAX_SHAPES]

    def placeholder_shape(self, node: cst.CSTNode) -> paths.Shape:
        """A part unknown to the analysis, named by its key where it has one (``cfg["out"]`` and
        ``cfg['out']`` are one place), else by its code without layout."""
        key = conditions.key_of(node)
        if key is None:
            return paths.placeholder(" ".join(self.code(node).split()))
        return (self.placeholder_part(key),)

    def placeholder_part(self, key: str) -> paths.Part:
        """The same text names the same place in one scope, not across functions: a name bound in
        a function to a value the analysis cannot read (a parameter of a def analysed alone, a
        local) is that function's own (``def save_full(model, path)`` and ``def
        load_weights(model, path)`` are given different paths). A parameter of an inlined call is
        named as the caller named the argument (``save(model, out)`` then ``load(model, out)`` do
        share one). Module-level names, and names of objects the analysis knows (``self``, an
        argparse namespace), keep their text."""
        name = scopes.root(key)
        frame = self.binding_frame(name)
        if frame is None or frame.kind != "function" or frame.function is None or frame.state is None:
            return ("var", key)
        given = frame.placeholders.get(name)
        if given is not None:
            return (given[0], given[1] + key[len(name) :])
        values = frame.state.get(name)
        if values and all(v.kind is Kind.UNKNOWN for v in values):
            function = frame.function
            return paths.local(f"{function.name}@{frame.module.path}:{function.unit.offset}", key)
        if values and all(v.fact("class") is not None for v in values):
            # ``self.path`` names a place on that object: a writer's is not a reader's
            return paths.local(self.objects_named(values), key)
        return ("var", key)

    def objects_named(self, values: Values) -> str:
        """The objects ``values`` holds, named by the order the analysis of this file first met
        them (the same every run, and never the same as another file's)."""
        names = self.object_names
        return "|".join(sorted(names.setdefault(v.site, f"{self.anchor}#{len(names)}") for v in values))

    def argument_parts(self, function: Function, site: Any, this: Values | None) -> dict[str, paths.Part]:
        """How the caller names the arguments it gives an inlined call, by parameter (only when the
        call site's arguments are the call's own: not a partial's or an explicit ``self``'s)."""
        node = site.node
        params = [param.name.value for param in function.positional()]
        if this is not None and params and not function.is_static():
            params = params[1:]
        if site.given_parts:
            return {param: part for param, part in zip(params, site.given_parts, strict=False) if part is not None}
        if not isinstance(node, cst.Call) or site.spread:
            return {}
        positional = [arg.value for arg in node.args if arg.keyword is None and not arg.star]
        keywords = {arg.keyword.value: arg.value for arg in node.args if arg.keyword is not None}
        if len(positional) != len(site.args) or set(keywords) != set(site.kwargs):
            return {}
        named = {param.name.value for param in function.params()}
        given = [*zip(params, positional, strict=False), *((k, v) for k, v in keywords.items() if k in named)]
        found: dict[str, paths.Part] = {}
        for param, arg in given:
            key = conditions.key_of(arg)
            if key is not None:
                found[param] = self.placeholder_part(key)
        return found

    def product(self, pieces: Sequence[list[paths.Shape]], combine: Callable[..., paths.Shape]) -> list[paths.Shape]:
        combos: list[tuple[paths.Shape, ...]] = [()]
        for options in pieces:
            combos = [(*c, o) for c in combos for o in options][:MAX_SHAPES]
        return [combine(*c) for c in combos]

    def binary(
        self,
        operator: str,
        left: Values,
        right: Values,
        left_node: cst.CSTNode | None = None,
        right_node: cst.CSTNode | None = None,
    ) -> Values:
        # ``OUT_DIR / "model.pt"`` with ``from config import OUT_DIR``: the constant's own value
        left = self.resolved_constants(left)
        right = self.resolved_constants(right)
        outputs = training.combined_outputs(left, right)
        if outputs is not None:
            return outputs
        strings = any(v.kind is Kind.STRING for v in left)
        if operator == "Add" and (strings or any(v.kind is Kind.STRING for v in right)):
            pieces = [self.shapes(left, left_node), self.shapes(right, right_node)]
            return self.strings(left_node, self.product(pieces, paths.concat), sources=(left, right))
        # ``x / "adapter_model.safetensors"``: only a path divides by a string, whatever ``x`` is
        if operator == "Divide" and (strings or any(v.kind is Kind.STRING for v in right)):
            pieces = [self.shapes(left, left_node), self.shapes(right, right_node)]
            return self.strings(left_node, self.product(pieces, lambda *s: paths.join(s)), sources=(left, right))
        if operator == "Modulo" and strings and any(v.kind is Kind.DICT for v in right):
            return self.strings(left_node, self.percent_by_name(left, right), sources=(left, right))
        if operator == "Modulo" and strings:
            # ``"%s/%s.pt" % (root, name)``: each item read as its own element of the tuple says it
            elements = [e.value for e in right_node.elements] if isinstance(right_node, cst.Tuple) else []
            arguments = [
                self.shapes(item, elements[index] if len(elements) == len(v.fact("items")) else None)
                for v in right
                if v.kind is Kind.TUPLE
                for index, item in enumerate(v.fact("items"))
            ] or [self.shapes(right, right_node)]
            shapes = [
                paths.percent(v.fact("shape"), list(combo))  # type: ignore[arg-type]
                for v in left
                if v.kind is Kind.STRING
                for combo in self.product(arguments, lambda *s: s)  # type: ignore[arg-type]
            ]
            return self.strings(left_node, [s for s in shapes if s is not None], sources=(left, right))
        shifted = _shifted_element(operator, left, right)
        if shifted is not None:
            return shifted
        if known(left) and known(right):
            numbers = [
                (a.fact("value"), b.fact("value"))
                for a in left
                for b in right
                if a.kind is Kind.CONST and b.kind is Kind.CONST
            ]
            # one number each, or a few (``epoch + 1`` for each of a small range's numbers)
            if numbers and len(numbers) == len(left) * len(right) <= _MAX_RESULTS and operator in _ARITHMETIC:
                try:
                    return frozenset().union(*(const(_ARITHMETIC[operator](a, b)) for a, b in numbers))
                except Exception:  # noqa: BLE001 - the user's arithmetic may raise; we learn nothing
                    return UNKNOWN
        return UNKNOWN

    def percent_by_name(self, templates: Values, mappings: Values) -> list[paths.Shape]:
        """``"%(root)s/%(name)s.pt" % cfg``: each field read from the dict's entry of its name (a
        dict the analysis cannot list, or a field it lacks, gives no path)."""
        found: list[paths.Shape] = []
        for template in sorted(templates, key=_value_order):
            fields = paths.percent_fields(template.fact("shape")) if template.kind is Kind.STRING else None
            for mapping in sorted(mappings, key=_value_order):
                entries = dict(mapping.fact("entries", ())) if mapping.kind is Kind.DICT else {}
                if not fields or mapping.fact("open") or not all(field in entries for field in fields):
                    continue
                pieces = [self.shapes(entries[field], None) for field in fields]
                for combo in self.product(pieces, lambda *s: s):
                    shape = paths.percent(template.fact("shape"), [], dict(zip(fields, combo, strict=True)))
                    if shape is not None:
                        found.append(shape)
        return found

    def binary_operation(self, node: cst.BinaryOperation) -> Values:
        left = self.expression(node.left)
        right = self.expression(node.right)
        return self.binary(type(node.operator).__name__, left, right, node.left, node.right)

    def formatted(self, node: cst.FormattedString) -> Values:
        pieces: list[list[paths.Shape]] = []
        sources: list[Values] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                pieces.append([paths.literal(part.value)])
            elif isinstance(part, cst.FormattedStringExpression):
                values = self.expression(part.expression)
                spec = _plain_spec(part.format_spec)
                if part.conversion or spec is None:
                    pieces.append([self.placeholder_shape(part.expression)])
                elif spec:  # ``f"epoch_{epoch:03d}.pt"``
                    pieces.append(self.formatted_shapes(values, part.expression, spec))
                else:
                    pieces.append(self.shapes(values, part.expression))
                    sources.append(self.resolved_constants(values))
        return self.strings(node, self.product(pieces, paths.concat), sources=sources)

    def formatted_shapes(self, values: Values, node: cst.BaseExpression, spec: str) -> list[paths.Shape]:
        """``{epoch:03d}``: a number known formats as Python formats it (``000``); a part known only
        by what it stands for (a loop's element, an argument) keeps the spec beside it, so that
        ``epoch_{epoch:03d}`` and ``epoch_{best:03d}`` of the same element name one file and a
        different spec another."""
        found: list[paths.Shape] = []
        for shape in self.shapes(values, node):
            number = _number(shape)
            if number is not None:
                try:
                    found.append(paths.literal(format(number, spec)))
                except ValueError:
                    return [self.placeholder_shape(node)]
            elif any(kind == "lit" for kind, _ in shape):
                return [self.placeholder_shape(node)]  # text formatted by a spec: not followed
            else:
                found.append(tuple((kind, f"{text}:{spec}") for kind, text in shape))
        return found

    def literal_string(self, node: cst.SimpleString | cst.ConcatenatedString) -> Values:
        if isinstance(node, cst.ConcatenatedString):
            parts = [node.left, node.right]
            if not all(isinstance(p, (cst.SimpleString, cst.ConcatenatedString)) for p in parts):
                pieces = [self.shapes(self.expression(p), p) for p in parts]
                return self.strings(node, self.product(pieces, paths.concat))
        value = conditions.string_value(node) if isinstance(node, cst.SimpleString) else conditions.evaluated(node)
        if isinstance(value, bytes):
            return const(value)
        if not isinstance(value, str):
            return UNKNOWN
        return self.strings(node, [paths.literal(value)], text=value)


def _plain_spec(spec: Sequence[cst.BaseFormattedStringContent] | None) -> str | None:
    """A format spec written out (``03d``, ``.4f``): its text; "" for none; None for one with
    fields of its own (``{x:{width}}``)."""
    if not spec:
        return ""
    if not all(isinstance(part, cst.FormattedStringText) for part in spec):
        return None
    return "".join(part.value for part in spec)  # type: ignore[union-attr]


def _number(shape: paths.Shape) -> int | float | None:
    """The number a shape of one literal part spells, as the shape of a number constant does."""
    if len(shape) != 1 or shape[0][0] != "lit":
        return None
    text = shape[0][1]
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


_MAX_RESULTS = 16  # numbers an arithmetic on known numbers is followed for (loops.MAX_RANGE's, shifted)


def _shifted_element(operator: str, left: Values, right: Values) -> Values | None:
    """``epoch + 1`` for a loop's element ``epoch``: the element of the same loop, shifted
    (``f"epoch_{epoch + 1}.pt"`` over ``range(EPOCHS)`` names ``epoch_1.pt`` to ``epoch_{EPOCHS}.pt``),
    and the loop's first number shifted with it (``epoch`` is ``0`` on the first pass)."""
    if operator not in ("Add", "Subtract") or len(right) != 1 or not any(v.kind is Kind.SYMBOL for v in left):
        return None
    (number,) = right
    amount = number.fact("value") if number.kind is Kind.CONST else None
    if type(amount) is not int:
        return None
    sign = 1 if operator == "Add" else -1
    found: set[Value] = set()
    for element in left:
        first = element.fact("value") if element.kind is Kind.CONST else None
        if type(first) is int:
            found |= const(first + sign * amount)
        elif element.kind is Kind.SYMBOL:
            name, _, iterable = str(element.fact("text")).partition(" in ")
            text = f"{name} {'+' if sign > 0 else '-'} {amount} in {iterable}"
            found.add(Value(Kind.SYMBOL, site=("shifted", element.site, text), facts=(("text", text),)))
        else:
            return None
    return frozenset(found)


def _constants(sources: Sequence[Values]) -> tuple[str, ...] | None:
    found = {c for values in sources for value in values if value.kind is Kind.STRING for c in constants_of(value)}
    return tuple(sorted(found)) or None


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "Add": lambda a, b: a + b,
    "Subtract": lambda a, b: a - b,
    "Multiply": lambda a, b: a * b,
}


def _value_order(value: Value) -> str:
    return f"{value.kind.value}:{value.fact('shape')!r}:{value.fact('qualname')}"
