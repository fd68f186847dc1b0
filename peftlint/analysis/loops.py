"""Loops: what a ``for`` (statement or comprehension) binds its target to (part of the Interpreter).

A small ``range`` with known bounds gives its numbers; ``enumerate`` and a ``range`` with a known
start give that start on the first pass and one unknown number for the rest; any other iterable
gives its elements, or one unknown element with an identity (two loops over the same iterable take
the same elements).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import libcst as cst

from peftlint.analysis import conditions
from peftlint.analysis.pyobjects import known_parts, unknown_element
from peftlint.analysis.values import (
    NOTHING,
    UNKNOWN,
    UNKNOWN_VALUE,
    Guard,
    Kind,
    State,
    Value,
    Values,
    const,
    keys_of,
    make_facts,
    one_constant,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from peftlint.analysis import registry
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.interpreter import Interpreter

# A loop over ``range(...)`` with known bounds takes its numbers one by one up to this many (the
# path shapes a file name built from them can take: strings.MAX_SHAPES)
MAX_RANGE = 8


class Loops:
    # provided by the other parts of the Interpreter
    expression: Callable[..., Values]
    iterate: Callable[[Values], Values]
    code: Callable[[cst.CSTNode], str]
    name: Callable[[str], Values]
    quietly: Callable[..., Any]
    resolved_constants: Callable[[Values], Values]
    new_value: Callable[..., Value]
    assign_target: Callable[[cst.BaseAssignTargetExpression, Values], None]
    frame: Any
    test_guards: Callable[[cst.BaseExpression, bool], list[Guard]]

    def loop_elements(self, target: cst.BaseExpression, iterable: cst.BaseExpression, iterated: Values) -> Values:
        """What a ``for`` (statement or comprehension) binds its target to, one element for all: a
        small known ``range``'s numbers; else the elements, where unknown one unknown element, the
        same one for what is copied from it (two loops over the same iterable take the same
        elements: ``epoch_{epoch}`` saved in one, ``epoch_{e}`` read in the next, one file)."""
        numbers = self.range_numbers(iterable)
        if numbers is not None:
            return frozenset().union(*(const(number) for number in numbers))
        counted = self.enumerated(target, iterable, iterated)
        if counted is not None:
            return counted
        elements = self.iterate(iterated)
        element = unknown_element(target, " ".join(self.code(iterable).split()), id(iterable))
        first = self.range_start(iterable)
        if first is not None and element is not None:
            # ``for fold in range(args.folds)``: whatever the stop, a loop that runs takes its start
            # first (``fold{fold}.pt`` read in it names ``fold0.pt``), as ``enumerate`` counts
            return const(first) | {element}
        if UNKNOWN_VALUE not in elements:
            # ``for lang, member in zoo.items()`` over a dict whose keys are not known: each key
            # is the loop's element, as ``for lang in zoo`` takes it
            return frozenset(known_parts(v, element) for v in elements) if element is not None else elements
        return (elements - UNKNOWN) | {element} if element is not None else elements

    def comprehension_in_order(
        self, node: cst.BaseComp | cst.DictComp, clause: cst.CompFor, iterated: Values
    ) -> Values | None:
        """``[s.strip() for s in "lora, warm_start".split(",") if s]``: over a list or tuple known
        item by item (at most MAX_RANGE), with one ``for`` and tests each item decides, the list it
        makes, in order, each item's calls evaluated in turn; a dict too (``{s.name: s for s in
        (TrainStage(), EvaluateStage())}``) when each key is a known string or number. None for
        anything else (the state is then as it was)."""
        if not isinstance(node, (cst.ListComp, cst.GeneratorExp, cst.DictComp)) or clause.inner_for_in is not None:
            return None
        if clause.asynchronous is not None or not isinstance(clause.target, cst.Name) or len(iterated) != 1:
            return None
        (container,) = iterated
        items = container.fact("items") if container.kind in (Kind.LIST, Kind.TUPLE) else None
        if not items or container.fact("open") or len(items) > MAX_RANGE:
            return None
        entry = self.frame.state
        self.frame.state = None if entry is None else dict(entry)
        made: list[Values] = []
        entries: dict[object, Values] = {}
        for item in items:
            if self.frame.state is None:  # an item's call never returns
                return NOTHING
            self.assign_target(clause.target, item)
            tests = (conditions.truth_of(self.expression(condition.test)) for condition in clause.ifs)
            kept = True
            for truth in tests:  # ``a if x and y``: the tests after a false one are not evaluated
                if truth is None:
                    self.frame.state = entry
                    return None
                if not truth:
                    kept = False
                    break
            if kept and isinstance(node, cst.DictComp):
                keys = keys_of(self.resolved_constants(self.expression(node.key)))
                key = keys[0] if keys and len(set(keys)) == 1 else None
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    self.frame.state = entry
                    return None
                entries[key] = self.expression(node.value)
            elif kept:
                made.append(self.expression(node.elt))
        if isinstance(node, cst.DictComp):
            pairs = tuple(sorted(entries.items(), key=lambda e: repr(e[0])))
            return frozenset({self.new_value(Kind.DICT, node, None, entries=pairs, order=tuple(entries))})
        return frozenset({self.new_value(Kind.LIST, node, None, items=tuple(made))})

    def enumerated(self, target: cst.BaseExpression, node: cst.BaseExpression, iterated: Values) -> Values | None:
        """``for i, x in enumerate(xs)``: pairs of a count, ``start`` (0) on the first pass and one
        unknown for the rest (``fold{i}.pt`` saved in it names ``fold0.pt`` too), and an element
        of ``xs``. None for anything else (``enumerate`` rebound, an unknown ``start``)."""
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "enumerate"):
            return None
        args = node.args
        if not 1 <= len(args) <= 2 or any(a.star for a in args) or args[0].keyword is not None:
            return None
        if not any(v.fact("qualname") == "builtins.enumerate" for v in self.name("enumerate")):
            return None
        start = conditions.literal(args[1].value) if len(args) == 2 else 0
        if type(start) is not int:
            return None
        pair = target.elements if isinstance(target, cst.Tuple) and len(target.elements) == 2 else None
        counter = pair[0].value if pair else None
        text = f"{counter.value if isinstance(counter, cst.Name) else '_'} in {' '.join(self.code(node).split())}"
        count = const(start) | {Value(Kind.SYMBOL, site=("symbol", id(node)), facts=(("text", text),))}
        items = args[0].value  # evaluated again only where that has no effect (no call in it)
        if has_call(items):  # ``enumerate(load_backbones(names))``: what the loop's call gave it
            inner = frozenset().union(*(v.fact("iterable") or UNKNOWN for v in iterated)) if iterated else UNKNOWN
        else:
            inner = self.quietly(lambda: self.expression(items))
        element = self.loop_elements(pair[1].value, items, inner) if pair else self.iterate(inner)
        return frozenset({self.new_value(Kind.TUPLE, node, None, items=(count, element))})

    def last_pass_guards(self, node: cst.For) -> frozenset[Guard]:
        """The tests that hold on a counted loop's last pass only, each with the truth it has
        there: over ``enumerate(stages)`` or ``range(len(stages))``, ``i == len(stages) - 1`` true
        (also ``i + 1 == len(stages)``, ``i >= len(stages) - 1``) and ``i < len(stages) - 1``
        false; over ``range(n)``, the same with ``n``. Empty for any other loop."""
        target, iterable = node.target, node.iter
        counter: cst.BaseExpression | None = target
        if isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name) and iterable.func.value == _ENUMERATE:
            pair = target.elements if isinstance(target, cst.Tuple) and len(target.elements) == 2 else ()
            counter = pair[0].value if pair else None
            args = iterable.args
            if len(args) != 1 or args[0].star or args[0].keyword is not None:
                return frozenset()  # ``enumerate(xs, 1)``: another count
            if not any(v.fact("qualname") == "builtins.enumerate" for v in self.name("enumerate")):
                return frozenset()
            length = f"len({self.code(args[0].value)})"
        elif self.range_start(iterable) == 0 and len(iterable.args) == 1:  # type: ignore[attr-defined]
            length = self.code(iterable.args[0].value)  # type: ignore[attr-defined]
        else:
            return frozenset()
        if not isinstance(counter, cst.Name):
            return frozenset()
        i, last = counter.value, f"{length} - 1"
        truths = {
            f"{i} == {last}": True, f"{last} == {i}": True, f"{i} + 1 == {length}": True,
            f"{length} == {i} + 1": True, f"{i} >= {last}": True, f"{i} + 1 >= {length}": True,
            f"{i} < {last}": False, f"{i} + 1 < {length}": False,
        }  # fmt: skip
        return frozenset((_spaceless(text), truth) for text, truth in truths.items())

    def continuing(self, state: State | None, last: frozenset[Guard]) -> State | None:
        """``state`` as the next pass of a loop starts from it: without what was made on a path
        that holds only on the last pass (``if not is_last: model = model.merge_and_unload()``, the
        model left unmerged there is not what the next pass loads onto). A name whose every value is
        such is left as it is."""
        if not last or state is None:
            return state
        tests = self.frame.tests

        def on_last(guard: Guard) -> bool:
            for text, truth in _conjuncts(*guard):  # ``not is_last or merge_last`` false: both false
                if (_spaceless(text), truth) in last:
                    return True
                named = tests.get(text)  # ``is_last = i == len(stages) - 1``, tested as ``is_last``
                if named is not None:
                    whole, held = self.test_guards(named, truth)[0]
                    if (_spaceless(whole), held) in last:
                        return True
            return False

        found: dict[str, Values] = {}
        for key, values in state.items():
            kept = frozenset(v for v in values if not any(on_last(guard) for guard in v.guards))
            found[key] = kept or values
        return found

    def range_start(self, node: cst.BaseExpression) -> int | None:
        """The start of ``range(stop)`` (0) or ``range(start, ...)`` with a known ``start``, the
        other bounds unknown; None for anything else."""
        if not self.is_range(node):
            return None
        args = node.args  # type: ignore[attr-defined]
        if len(args) == 1:
            return 0
        return None if has_call(args[0].value) else self.known_int(args[0].value)

    def known_int(self, node: cst.BaseExpression) -> int | None:
        """The one int an expression without calls can be (``EPOCHS + 1``), or None."""
        number = one_constant(self.quietly(lambda: self.resolved_constants(self.expression(node))))
        return number if type(number) is int else None

    def is_range(self, node: cst.BaseExpression) -> bool:
        """``range(...)`` of the builtin, with one to three plain arguments."""
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "range"):
            return False
        if not 1 <= len(node.args) <= 3 or any(a.keyword or a.star for a in node.args):
            return False
        return any(v.fact("qualname") == "builtins.range" for v in self.name("range"))  # not rebound

    def range_numbers(self, node: cst.BaseExpression) -> range | None:
        """The numbers of ``range(3)`` or ``range(1, EPOCHS + 1)`` with the bounds known and at
        most MAX_RANGE of them (``epoch_{epoch}.pt`` saved in the loop names ``epoch_0.pt`` to
        ``epoch_2.pt``); None otherwise. Bounds with a call in them are not evaluated again."""
        if not self.is_range(node) or any(has_call(arg.value, _PURE) for arg in node.args):  # type: ignore[attr-defined]
            return None
        bounds = [self.known_int(arg.value) for arg in node.args]  # type: ignore[attr-defined]
        if None in bounds:
            return None
        try:
            numbers = range(*bounds)  # type: ignore[arg-type]
        except ValueError:  # a step of 0
            return None
        return numbers if 0 < len(numbers) <= MAX_RANGE else None


@lru_cache(maxsize=1024)
def _conjuncts(text: str, truth: bool) -> tuple[Guard, ...]:
    """A guard and, for a test made of parts, the parts that each hold with it (a join tags a
    value with the whole test only: conditions.guards)."""
    try:
        node = cst.parse_expression(text)
    except cst.ParserSyntaxError:
        return ((text, truth),)
    return ((text, truth), *conditions.guards(node, truth, _EMPTY.code_for_node)[1:])


_EMPTY = cst.Module(body=[])


def _spaceless(text: str) -> str:
    return "".join(text.split())


_ENUMERATE = "enumerate"
_PURE = frozenset({"max", "min", "len", "int", "abs"})  # builtins evaluated again without effect


def has_call(node: cst.CSTNode, pure: frozenset[str] = frozenset()) -> bool:
    """Whether a call occurs in ``node`` (evaluating it again could have effects), other than of
    the builtins named in ``pure`` (``range(max(0, EPOCHS - AVG), EPOCHS)``)."""
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Call) and not (isinstance(current.func, cst.Name) and current.func.value in pure):
            return True
        stack.extend(current.children)
    return False


def pairs(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``enumerate(xs)`` and ``zip(a, b)``: a list of tuples, of an unknown count and an element of
    ``xs``, or of an element of each (a ``for`` over ``enumerate`` refines the count: Loops)."""
    counting = site.callee == "builtins.enumerate"
    # ``zip(a, b, strict=True)`` pairs the same items (it only raises on unequal lengths)
    if site.spread or not site.args or (site.kwargs and not counting and set(site.kwargs) != {"strict"}):
        return UNKNOWN
    given = site.args[:1] if counting else site.args
    parts = tuple(interpreter.iterate(values) for values in given)
    made = interpreter.new_value(Kind.LIST, site.node, None, open=True, iterable=given[0])
    pair = Value(Kind.TUPLE, site=(made.site, "pair"), facts=make_facts(items=(UNKNOWN, *parts) if counting else parts))
    return frozenset({made.updated(items=(frozenset({pair}),))})
