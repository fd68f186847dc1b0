"""Abstract values: what an expression can hold at a point of the flow.

A value has a kind (a fresh model, a PEFT-wrapped model, a state dict...), an allocation
``site`` that gives it identity (so in-place changes reach every alias of the same object),
the ``origin`` locations that explain how it got its kind, the branch ``guards`` under which it
was produced (so correlated ``if resume:`` tests do not produce impossible paths), and facts.

A set of values is exhaustive: ``UNKNOWN`` stands in it for anything the analysis cannot tell
(an argument nobody passed, a call into code it does not read). Only a set without ``UNKNOWN``
can decide a branch; rules look for the kinds they know and ignore the rest.
"""

from __future__ import annotations

import bisect
import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


class Kind(enum.Enum):
    UNKNOWN = "unknown"
    CONST = "constant"  # None, a bool, a number, bytes; facts: value
    STRING = "string"  # facts: shape (paths.py), text when it is all literal
    IMPORT = "import"  # a name bound by an import statement; facts: qualname
    FUNCTION = "function"  # a def, a lambda, a bound method or a partial; facts: key
    CLASS = "class"  # a class of the analysed code; facts: key
    INSTANCE = "instance"  # an instance of such a class that is not a model; facts: class_key
    BASE_MODEL = "base model"  # a plain model: transformers/diffusers/torch.nn module
    PEFT_MODEL = "PEFT model"  # carries a PEFT wrapper (PeftModel, get_peft_model result)
    INJECTED_BASE = "base with injected PEFT layers"  # a base changed in place by get_peft_model
    STATE_DICT = "state dict"
    TORCH_LOADED = "torch.load result"  # the whole object read back by torch.load(path)
    PEFT_CONFIG = "peft config"
    TUPLE = "tuple"  # facts: items, the values of each element
    LIST = "list"  # facts: items (unknown length: each item may be any of them)
    DICT = "dict"  # facts: entries, (constant key, values) pairs; sources: a config file's keys
    TRAINER = "trainer"  # facts: attrs (model, ref_model...)
    OPTIMIZER = "optimizer"
    PARAMETERS = "parameters"  # model.parameters(); facts: of (the model's site)
    ACCELERATOR = "accelerator"
    PIPELINE = "pipeline"  # a diffusers pipeline; its components are models
    DISTRIBUTED = "distributed wrapper"  # DDP / DataParallel / FSDP; facts: attrs (module)
    ARG_PARSER = "argument parser"  # facts: options, (dest, default values) pairs
    NAMESPACE = "parsed arguments"  # facts: attrs
    FILE = "open file"  # ``open(path)``; facts: sources (how its path reads)
    SUPER = "super()"  # facts: class_key, the instance values
    OUTPUT = "model output"  # what a forward pass gives (and its loss, logits...); facts: models
    # Something unknown that still has an identity: what a loop variable over an unknown iterable
    # holds (``for epoch in range(n)``); ``best = epoch`` copies it. facts: text (the loop target).
    SYMBOL = "symbol"


MODEL_KINDS = frozenset({Kind.BASE_MODEL, Kind.PEFT_MODEL, Kind.INJECTED_BASE})
# Values whose branch conditions are worth remembering: the ones rules ask about.
GUARDED_KINDS = MODEL_KINDS | {Kind.TORCH_LOADED, Kind.STATE_DICT, Kind.PEFT_CONFIG, Kind.TRAINER, Kind.OPTIMIZER}
# Values whose identity or contents can change what a called function does.
INTERESTING_KINDS = GUARDED_KINDS | {Kind.CONST, Kind.STRING, Kind.FUNCTION, Kind.CLASS, Kind.INSTANCE}

Guard = tuple[str, bool]


@dataclass(frozen=True)
class Origin:
    """A node that explains a value: ``note`` is said of its location. ``unit`` is the parsed
    unit the node belongs to (units.ParsedUnit), which knows its file and position."""

    unit: Any
    node: Any
    note: str
    # the statement around the node (its suppression comments count for a finding reported here)
    statement: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class Value:
    kind: Kind
    site: object
    origin: tuple[Origin, ...] = ()
    guards: frozenset[Guard] = frozenset()
    facts: tuple[tuple[str, Any], ...] = ()

    def fact(self, key: str, default: Any = None) -> Any:
        for name, value in self.facts:
            if name == key:
                return value
        return default

    def updated(self, **changes: Any) -> Value:
        """The same object with facts added, changed, or (given None) removed."""
        merged = dict(self.facts)
        for key, fact in changes.items():
            if fact is None:
                merged.pop(key, None)
            else:
                merged[key] = freeze(fact)
        return Value(self.kind, self.site, self.origin, self.guards, tuple(sorted(merged.items())))

    def attr(self, name: str) -> Values | None:
        """An attribute the object is known to carry (set in ``__init__``, a dataclass field...)."""
        for key, values in self.fact("attrs", ()):
            if key == name:
                return values  # type: ignore[no-any-return]
        return None

    def with_attrs(self, attrs: Mapping[str, Values]) -> Value:
        merged = dict(self.fact("attrs", ()))
        merged.update(attrs)
        return self.updated(attrs=tuple(sorted(merged.items())))

    def feasible_under(self, guards: Iterable[Guard]) -> bool:
        """False when this value was produced under a condition the current path contradicts."""
        return not self.guards or not guards_exclude(self.guards, guards)


def stable_key(value: Value) -> tuple[object, ...]:
    """An order of values that is the same in every run: where each was made (its origins'
    places), its kind, then its site's text. A site alone holds ``id()`` numbers, whose order
    follows the memory layout, which the hash seed shifts: rules that pick "the first" of several
    values (for a message or a note) pick by this."""
    places = tuple(_place(origin) for origin in value.origin)
    # two values made at one place may differ by where a fact of theirs comes from (an optimizer
    # made stale by one wrap or by another) or by their branch conditions: those decide too
    made = tuple(
        (key, _place(item))
        for key, fact in value.facts
        for item in (fact if isinstance(fact, tuple) else (fact,))
        if isinstance(item, Origin)
    )
    # and two made by one call in a loop (``[from_pretrained(n) for n in names]``) by their plain facts
    plain = tuple((key, repr(fact)) for key, fact in value.facts if isinstance(fact, (str, int, float)))
    return (places, value.kind.value, _without_ids(str(value.site)), made, tuple(sorted(value.guards)), plain)


def _place(origin: Origin) -> tuple[str, int, int, str]:
    if origin.unit is None:
        return ("", 0, 0, origin.note)
    start = origin.unit.start(origin.node)
    return (origin.unit.path, start.line, start.column, origin.note)


def _without_ids(text: str) -> str:
    return _ID_NUMBER.sub("#", text)


_ID_NUMBER = re.compile(r"\b\d{6,}\b")  # id() numbers; line numbers and small constants stay


def guards_exclude(mine: Iterable[Guard], other: Iterable[Guard]) -> bool:
    """Two sets of branch conditions no path satisfies at once: a test and its negation,
    ``x == 'train'`` and ``x == 'eval'``, ``x is None`` and a true ``x``."""
    mine = mine if isinstance(mine, frozenset) else frozenset(mine)
    constants, options = _held_choices(mine)
    for cond, polarity in other:
        if (cond, not polarity) in mine:
            return True
        if not polarity:
            continue
        if constants and " == " in cond:
            subject, _, constant = cond.partition(" == ")
            held = constants.get(subject)
            if held and _is_constant(constant) and any(c != constant for c in held):
                return True  # ``x == 'train'`` and ``x == 'eval'``
        # ``x is None`` and a true ``x`` cannot both hold, whichever of the two is held
        if cond.endswith(_IS_NONE) and (cond[: -len(_IS_NONE)], True) in mine:
            return True
        if (cond + _IS_NONE, True) in mine:
            return True
        if options and cond.startswith(_GIVEN):
            given = options.get(cond.rpartition("> ")[0])
            if given and any(c != cond for c in given):
                return True  # two options of one mutually exclusive group were not both given
    return False


@lru_cache(maxsize=4096)
def _held_choices(guards: frozenset[Guard]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Of a set of branch conditions that hold: per subject, the constants it equals
    (``x == 'train'``), and per argparse exclusive group, the options given. Computed once per set
    (a value's guards are tested against every path it is read on)."""
    constants: dict[str, set[str]] = {}
    options: dict[str, set[str]] = {}
    for cond, holds in guards:
        if not holds:
            continue
        if " == " in cond:
            subject, _, constant = cond.partition(" == ")
            if _is_constant(constant):
                constants.setdefault(subject, set()).add(constant)
        if cond.startswith(_GIVEN):
            options.setdefault(cond.rpartition("> ")[0], set()).add(cond)
    return constants, options


_IS_NONE = " is None"
_GIVEN = "<given, of the exclusive options "


def option_given(group: tuple[str, ...], dest: str) -> str:
    """The guard text for "option ``dest`` of this argparse mutually exclusive group was given"."""
    return f"{_GIVEN}{' '.join(group)}> {dest}"


def _is_constant(text: str) -> bool:
    return text[:1] in ("'", '"') or text.lstrip("-").replace(".", "", 1).isdigit() or text in ("True", "False")


# What a container is followed for holding; anything else put in one makes its contents unknown.
# objects that hold models are kept too: ``members.append(Member(model=pm))``, ``pairs.append((name, pm))``
CONTAINED_KINDS = GUARDED_KINDS | {
    Kind.SYMBOL,  # a loop's element kept for a later loop (``steps.append(step)``: ``step_{step}.pt``)
    Kind.FUNCTION,
    Kind.CLASS,
    Kind.PARAMETERS,
    Kind.INSTANCE,
    Kind.TUPLE,
    Kind.DICT,
    Kind.PIPELINE,
    Kind.DISTRIBUTED,
}


def contained(values: Values, settings: bool = False) -> Values:
    """What a container keeps of values put in it: the kinds rules follow (and, for ``settings``,
    strings and numbers), else ``UNKNOWN``."""
    kinds = CONTAINED_KINDS | {Kind.STRING, Kind.CONST} if settings else CONTAINED_KINDS
    kept = frozenset(v for v in values if v.kind in kinds)
    return kept | UNKNOWN if len(kept) != len(values) else kept


def with_item(container: Value, added: Values) -> Value:
    """A list after ``append``: its known items, then one slot for everything added after them,
    one version per object (so a list appended to in a loop stays the same size from one pass
    to the next)."""
    items = container.fact("items", ())
    if container.fact("open") and items:
        sites = {v.site for v in added}
        return container.updated(items=(*items[:-1], frozenset(v for v in items[-1] if v.site not in sites) | added))
    return container.updated(items=(*items, added), open=True)


Entries = tuple[tuple[object, "Values"], ...]  # a dict's known entries, sorted by ``repr`` of their keys


def put_entry(entries: Entries, key: object, values: Values) -> Entries:
    """A dict's entries (kept sorted by ``repr`` of their keys) with ``key`` set to ``values``: a
    dict filled key by key in a loop is not sorted again on every store."""
    text = repr(key)
    index = bisect.bisect_left(entries, text, key=lambda entry: repr(entry[0]))
    replaced = index < len(entries) and repr(entries[index][0]) == text
    return (*entries[:index], (key, values), *entries[index + replaced :])


def make_facts(**facts: Any) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(((k, freeze(v)) for k, v in facts.items() if v is not None), key=lambda i: i[0]))


_FROZEN = frozenset({tuple, str, int, bool, frozenset, type(None)})


def freeze(value: Any) -> Any:
    if type(value) in _FROZEN:  # most facts (asking an ABC whether a tuple is a Mapping is slow)
        return value
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    if isinstance(value, Mapping):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    return value


Values = frozenset[Value]
NOTHING: Values = frozenset()  # no value at all: the expression is never evaluated on a live path
UNKNOWN_VALUE = Value(Kind.UNKNOWN, site="unknown")
UNKNOWN: Values = frozenset({UNKNOWN_VALUE})


def const(value: object) -> Values:
    return frozenset({Value(Kind.CONST, site=("const", type(value).__name__, value), facts=(("value", value),))})


NONE = const(None)


def is_none(value: Value) -> bool:
    """The constant ``None`` (not an unknown value that may be None)."""
    return value.kind is Kind.CONST and value.fact("value") is None


def constants_of(value: Value) -> tuple[str, ...]:
    """The module constants of the run a string is (``path:NAME``) or was built from
    (``CKPT_DIR / "policy.pt"``)."""
    own = value.fact("constant")
    return (*((own,) if own else ()), *(value.fact("constants") or ()))


NO_CONSTANT = object()  # what one_constant gives for values that are not one constant


def one_constant(values: Values) -> object:
    """The constant every value is (``STRICT = False`` read where ``strict=STRICT`` is given, a
    helper's ``strict=False`` default), or NO_CONSTANT."""
    held = {(type(v.fact("value")), v.fact("value")) for v in values if v.kind is Kind.CONST}
    if len(held) == 1 and known(values) and all(v.kind is Kind.CONST for v in values):
        return held.pop()[1]
    return NO_CONSTANT


def literal_text_of(values: Values) -> str | None:
    """The one literal string every value is, or None."""
    texts = {v.fact("text") if v.kind is Kind.STRING else None for v in values}
    text = texts.pop() if len(texts) == 1 else None
    return text if isinstance(text, str) else None


def keys_of(values: Values) -> list[object] | None:
    """The keys an index can be, each a known constant or string; None if one is not known."""
    keys = [v.fact("value") if v.kind is Kind.CONST else v.fact("text") for v in values]
    return keys if known(values) and all(k is not None for k in keys) else None


def known(values: Values) -> bool:
    """The set names every value the expression can have: no ``UNKNOWN`` (or symbol) among them."""
    return bool(values) and UNKNOWN_VALUE not in values and not any(v.kind is Kind.SYMBOL for v in values)


def of_kind(values: Values, *kinds: Kind) -> list[Value]:
    return [value for value in values if value.kind in kinds]


def or_unknown(values: Iterable[Value]) -> Values:
    """A set, or ``UNKNOWN`` for an empty one."""
    found = frozenset(values)
    return found if found else UNKNOWN


# The abstract state at a point: per name, attribute path (``self.model``) or constant subscript
# (``models['policy']``), the values that can reach it.
State = dict[str, Values]


def join_states(states: Iterable[State | None]) -> State | None:
    """Union per key; ``None`` stands for an unreachable point and is the identity. A key bound on
    one path only may hold on the others whatever it held before: ``UNKNOWN`` is added there."""
    live = [s for s in states if s is not None]
    if not live:
        return None
    joined = dict(live[0])
    for state in live[1:]:
        for key in sorted(_differing_keys(joined, state)):
            joined[key] = collapse(joined.get(key, UNKNOWN) | state.get(key, UNKNOWN))
    return joined


def root(key: str) -> str:
    """``a.b[c]`` -> ``a``: the name before the first ``.`` or ``[``."""
    dot, bracket = key.find("."), key.find("[")
    end = bracket if dot < 0 else dot if bracket < 0 else min(dot, bracket)
    return key if end < 0 else key[:end]


def not_empty(values: Values) -> bool:
    """Every value is a list or tuple known to hold items: a loop over it runs at least once."""
    return bool(values) and all(
        v.kind in (Kind.LIST, Kind.TUPLE) and v.fact("items") and not v.fact("open") for v in values
    )


def after_comprehension(saved: State | None, after: State | None, own: set[str], runs: bool) -> State | None:
    """The state after a comprehension: what its calls changed stays (a helper's
    ``model.set_adapter(n)`` in its ``if``), its own names do not leak out; joined with the state
    before it unless it surely runs (its first iterable a known non-empty list or tuple)."""
    if saved is None or after is None:
        return saved
    kept = {key: values for key, values in after.items() if root(key) not in own}
    kept.update((key, values) for key, values in saved.items() if root(key) in own)
    return kept if runs else join_states([saved, kept])


def _differing_keys(a: State, b: State) -> set[str]:
    """Keys bound in one state only, or to different values: states are mostly copies of one
    another, so this set comparison (in C, identity first) skips the untouched keys."""
    return {key for key, _ in a.items() ^ b.items()}


def join_branches(branches: list[tuple[State | None, Guard | None]]) -> State | None:
    """Join the ends of exclusive branches; a value that only one branch holds keeps its guard.

    After ``if c: model = wrap(model)`` the wrapped value carries ``(c, True)`` and the value
    that flowed through the implicit else carries ``(c, False)``, so a later ``if c:`` only sees
    the wrapped one.
    """
    live = [(s, g) for s, g in branches if s is not None]
    if not live:
        return None
    if len(live) == 1:
        # The rest of the block runs only under that branch's guard (the caller puts new values
        # under it). A value already under some branch's guard is now under this one too: after
        # ``if wrap: model = get_peft_model(...); if resume: sys.exit()`` the wrapped model is
        # held only when not resuming, so a later ``if resume:`` does not see it.
        state, guard = live[0]
        return {key: _under(values, _fresh(guard, key)) for key, values in state.items()}
    first_state = live[0][0]
    joined: State = dict(first_state)  # keys untouched by every branch, the common case, are kept as they are
    changed: set[str] = set()
    for state, _ in live[1:]:
        changed |= _differing_keys(first_state, state)
    for key in sorted(changed):  # sorted: the same state, key order included, on every run
        present = [s.get(key, UNKNOWN) for s, _ in live]
        common = frozenset.intersection(*present)
        merged = set(common)
        for (_, guard), values in zip(live, present, strict=True):
            for value in values - common:
                merged.add(add_guard(_carried_under(value, guard, key), _fresh(guard, key)))
        joined[key] = collapse(merged)
    return joined


MAX_COPIES = 16


def collapse(values: Iterable[Value]) -> Values:
    """One object held under several branch conditions, as few times as the conditions allow.

    A value is held where any of its copies' conditions holds, so copies that differ only by their
    guards are one disjunction: a copy whose conditions include another's adds no path (``A and
    B`` is within ``A``), and two copies that differ by one test and its negation are one copy
    without it (``A and c`` or ``A and not c`` is ``A``). Without this, a model that passes through
    ``n`` independent ``if``s, each changing it on one side, is held ``2 ** n`` times. Past
    ``MAX_COPIES`` copies, the object is held once, under the conditions every copy shares: that
    forgets which combinations of the other tests it came with (a finding that needs them to be
    ruled out can then be reported), and keeps the analysis of a long function linear instead of
    exponential (trl's GRPOTrainer held one model 4,096 times).
    """
    found = values if isinstance(values, frozenset) else frozenset(values)
    if len(found) < 2:
        return found
    groups: dict[tuple[Kind, object, tuple[Origin, ...], tuple[tuple[str, Any], ...]], list[Value]] = {}
    for value in found:
        if value.kind in GUARDED_KINDS:
            groups.setdefault((value.kind, value.site, value.origin, value.facts), []).append(value)
    result: set[Value] | None = None
    for (kind, site, origin, facts), copies in groups.items():
        if len(copies) < 2:
            continue
        before = {copy.guards for copy in copies}
        after = _fewest(before)
        if len(after) > MAX_COPIES:
            after = {frozenset.intersection(*after)}
        if after != before:
            if result is None:
                result = set(found)
            result.difference_update(copies)
            result.update(Value(kind, site, origin, guards, facts) for guards in after)
    return found if result is None else frozenset(result)


def _fewest(conditions: set[frozenset[Guard]]) -> set[frozenset[Guard]]:
    """The same disjunction of conjunctions with merged and subsumed terms removed."""
    current = set(conditions)
    while True:
        merged: set[frozenset[Guard]] = set()
        used: set[frozenset[Guard]] = set()
        for guards in current:
            for guard in guards:
                other = (guards - {guard}) | {(guard[0], not guard[1])}
                if other in current:
                    merged.add(guards - {guard})
                    used.update((guards, other))
        if merged:
            current = (current - used) | merged
            continue
        break
    if frozenset() in current:
        return {frozenset()}
    ordered = sorted(current, key=len)
    kept: list[frozenset[Guard]] = []
    for guards in ordered:
        if not any(smaller <= guards for smaller in kept):
            kept.append(guards)
    return set(kept)


def _fresh(guard: Guard | None, key: str) -> Guard | None:
    """A branch's guard as the values ``key`` holds after it carry it: none when the test was about
    ``key`` itself (``if x is None: x = ...`` was about the old ``x``)."""
    return None if guard is None or _mentions(guard[0], key) else guard


def without_guards_on(values: Values, key: str | frozenset[str]) -> Values:
    """The values as ``key`` holds them once bound to it: a branch condition about ``key`` itself
    (``if self.model is None: self.model = load(...)``) was about what ``key`` held before, and says
    nothing of when the value it holds now exists; a later ``if self.model is None:`` tests the new
    value (its refinement does), not the old one."""
    if not any(v.guards for v in values):
        return values
    kept = [_drop_guards_on(v, key) if v.guards else v for v in values]
    return values if all(a is b for a, b in zip(kept, values, strict=True)) else frozenset(kept)


def _drop_guards_on(value: Value, key: str | frozenset[str]) -> Value:
    keys = (key,) if isinstance(key, str) else key
    kept = frozenset(g for g in value.guards if not any(_mentions(g[0], k) for k in keys))
    return value if len(kept) == len(value.guards) else Value(value.kind, value.site, value.origin, kept, value.facts)


def mentions(text: str, key: str) -> bool:
    """A guard's text names ``key`` (a whole name or attribute path, not part of a longer one)."""
    return _mentions(text, key)


def _mentions(text: str, key: str) -> bool:
    start = text.find(key)
    while start >= 0:
        end = start + len(key)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before in "_.") and not (after.isalnum() or after == "_"):
            return True
        start = text.find(key, start + 1)
    return False


def _under(values: Values, guard: Guard | None) -> Values:
    if guard is None or not any(v.guards for v in values):
        return values
    return frozenset(add_guard(v, guard) if v.guards else v for v in values)


def _carried_under(value: Value, guard: Guard | None, key: str) -> Value:
    """An object of the analysed code one branch changed (``self`` after ``if task != self.active:
    self.model.set_adapter(task)``) is not itself guarded, but the models it carries are held
    under that branch's condition, as they would be under a name of their own (``self.model``)."""
    attrs = value.fact("attrs") if value.kind is Kind.INSTANCE and guard is not None else None
    if not attrs:
        return value
    return value.updated(
        attrs=tuple(
            (name, frozenset(add_guard(v, _fresh(guard, f"{key}.{name}")) for v in held)) for name, held in attrs
        )
    )


def add_guard(value: Value, guard: Guard | None) -> Value:
    if guard is None or value.kind not in GUARDED_KINDS or guard in value.guards:
        return value
    return Value(value.kind, value.site, value.origin, value.guards | {guard}, value.facts)


def parameter_items(parameters: Value) -> Value:
    """What iterating ``m.parameters()`` gives: parameters of the same models (the value stands
    for any subset of them); ``m.named_parameters()`` gives ``(name, parameter)`` pairs."""
    if not parameters.fact("named"):
        return parameters
    one = parameters.updated(named=None)
    return Value(Kind.TUPLE, site=("named", parameters.site), facts=make_facts(items=(UNKNOWN, frozenset({one}))))


def parameter_sets(values: Values, depth: int = 0) -> list[Value]:
    """The ``m.parameters()`` values an optimizer is given, also inside lists, tuples and param
    groups (``[{"params": decay, "weight_decay": 0.01}, ...]``)."""
    found: list[Value] = []
    for value in values:
        if value.kind is Kind.PARAMETERS:
            found.append(value)
        elif depth < 3 and value.kind in (Kind.LIST, Kind.TUPLE):
            for item in value.fact("items", ()):
                found += parameter_sets(item, depth + 1)
        elif depth < 3 and value.kind is Kind.DICT:
            found += parameter_sets(dict(value.fact("entries", ())).get("params", ()), depth + 1)
    return found
