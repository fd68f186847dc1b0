"""Abstract values: what an expression can hold at a point of the flow.

A value has a kind (a fresh model, a PEFT-wrapped model, a state dict...), an allocation
``site`` that gives it identity (so in-place changes reach every alias of the same object),
the ``origin`` locations that explain how it got its kind, and the branch ``guards`` under
which it was produced (so correlated ``if resume:`` tests do not produce impossible paths).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any


class Kind(enum.Enum):
    BASE_MODEL = "base model"  # a plain model: transformers/diffusers/torch.nn module
    PEFT_MODEL = "PEFT model"  # carries a PEFT wrapper (PeftModel, get_peft_model result)
    INJECTED_BASE = "base with injected PEFT layers"  # a base mutated in place by get_peft_model
    STATE_DICT = "state dict"
    DICT = "dict"
    TORCH_LOADED = "torch.load result"  # the whole object read back by torch.load(path)
    PEFT_CONFIG = "peft config"
    STRING = "string"  # with a path shape (see paths.py)
    IMPORT = "import"  # a name bound by an import statement; facts: qualname
    FUNCTION = "function"  # a def in the analysed file; facts: node
    CLASS = "class"  # a class in the analysed file; facts: node, is_module
    TUPLE = "tuple"  # a tuple or list display; facts: items, the values of each element


MODEL_KINDS = frozenset({Kind.BASE_MODEL, Kind.PEFT_MODEL, Kind.INJECTED_BASE})
# Values whose branch conditions are worth remembering: the ones rules ask about.
GUARDED_KINDS = MODEL_KINDS | {Kind.TORCH_LOADED, Kind.STATE_DICT}

Guard = tuple[str, bool]


@dataclass(frozen=True)
class Origin:
    """A node that explains a value (``note`` is said of its location).

    The node, not its position, is kept: a character column costs a line decode that only files
    with findings pay for.
    """

    node: Any
    note: str


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

    def with_facts(self, **updates: Any) -> Value:
        merged = dict(self.facts)
        merged.update(updates)
        return replace(self, facts=tuple(sorted(merged.items(), key=lambda item: item[0])))

    def feasible_under(self, guards: Iterable[Guard]) -> bool:
        """False when this value was produced under a condition the current path contradicts."""
        return not any((cond, not polarity) in self.guards for cond, polarity in guards)


def make_facts(**facts: Any) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(((k, _freeze(v)) for k, v in facts.items() if v is not None), key=lambda i: i[0]))


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, Mapping):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


Values = frozenset[Value]
NOTHING: Values = frozenset()

# The abstract state at a point: per name or attribute path, the values that can reach it.
State = dict[str, Values]


def join_states(states: Iterable[State | None]) -> State | None:
    """Union per key; ``None`` stands for an unreachable point and is the identity."""
    live = [s for s in states if s is not None]
    if not live:
        return None
    joined = dict(live[0])
    for state in live[1:]:
        for key in sorted(_differing_keys(joined, state)):
            joined[key] = joined.get(key, NOTHING) | state.get(key, NOTHING)
    return joined


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
        return dict(live[0][0])  # the caller puts the rest of the block under that branch's guard
    first_state = live[0][0]
    joined: State = dict(first_state)  # keys untouched by every branch, the common case, are kept as they are
    changed: set[str] = set()
    for state, _ in live[1:]:
        changed |= _differing_keys(first_state, state)
    for key in sorted(changed):  # sorted: the same state, key order included, on every run
        present = [s.get(key, NOTHING) for s, _ in live]
        common = frozenset.intersection(*present)
        merged = set(common)
        for (_, guard), values in zip(live, present, strict=True):
            for value in values - common:
                merged.add(_add_guard(value, guard))
        joined[key] = frozenset(merged)
    return joined


def _add_guard(value: Value, guard: Guard | None) -> Value:
    if guard is None or value.kind not in GUARDED_KINDS or guard in value.guards:
        return value
    return Value(value.kind, value.site, value.origin, value.guards | {guard}, value.facts)
