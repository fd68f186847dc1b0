"""Scopes (part of the Interpreter): reading and binding names, attribute paths and constant
subscripts across the frames a name can be read from, and in-place changes of an object seen by
every name and container that holds it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from peftlint.analysis import conditions
from peftlint.analysis.frames import Frame
from peftlint.analysis.values import Kind, Value, Values, root, without_guards_on


class Scopes:
    frames: list[Frame]
    effect_logs: list[list[Any]]
    attribute_parents: set[str]
    index_names: set[str]

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    def lookup(self, key: str) -> Values | None:
        """What ``key`` holds here, or None when no scope binds it (nor its root object).

        A name a function has not bound on any path so far is read from the enclosing scope; Python
        would call a read before the assignment an UnboundLocalError, which is no concern of ours.
        """
        name = root(key)
        frame: Frame | None = self.frame
        assert frame is not None
        if name in frame.globals:
            frame = frame.module_frame()
        while frame is not None:
            state = frame.state
            if state is not None and frame.kind == "module" and frame.module.lazy and name not in state:
                self.project.bind_lazily(frame.module, name, self)  # type: ignore[attr-defined]
                state = frame.state
            if state is not None:
                found = state.get(key)
                if found is not None:
                    return found
                if name in state:
                    return None  # the object is bound here; that attribute is its own business
            if frame.kind == "module":
                break
            frame = frame.parent
            while frame is not None and frame.kind == "class":
                frame = frame.parent  # a method does not see its class's names
        return None

    def binding_frame(self, name: str) -> Frame | None:
        """The frame whose state binds ``name`` where it is read here (the scopes ``lookup`` reads)."""
        frame: Frame | None = self.frame
        if frame is not None and name in frame.globals:
            frame = frame.module_frame()
        while frame is not None:
            if frame.state is not None and name in frame.state:
                return frame
            if frame.kind == "module":
                return None
            frame = frame.parent
            while frame is not None and frame.kind == "class":
                frame = frame.parent
        return None

    def bind(self, key: str, values: Values, module: Frame | None = None) -> None:
        """Rebinding ``x`` kills the facts about ``x.attr`` and ``x[...]`` too. ``module``: the
        frame of another module (``state.MODEL = ...``); such a write, like one to a ``global``,
        is logged for replay."""
        frame = module or self.frame
        if module is None and root(key) in frame.globals:
            frame = frame.module_frame()
        elif module is None and key != root(key) and "[" not in key and frame.kind == "function":
            frame = self._owner_of_free(frame, root(key))
        if frame is not self.frame:
            old = frame.state.get(key) if frame.state is not None else None
            for log in self.effect_logs:
                log.append(("global", frame, key, values, old))
        state = frame.state
        if state is None:
            return
        if frame.tests:
            frame.tests.pop(key, None)
        if key in self.attribute_parents:  # the scan costs; most keys never have attribute facts
            for existing in [k for k in state if k.startswith((key + ".", key + "["))]:
                del state[existing]
        if key in self.index_names:  # `bases[i]` named another slot before `i` changed
            for existing in [k for k in state if f"[{key}]" in k]:
                del state[existing]
        if "." in key or "[" in key:
            self.note_parents(key)
            index = conditions.index_name(key)
            if index is not None:
                self.index_names.add(index)
        state[key] = without_guards_on(values, key)

    def _owner_of_free(self, frame: Frame, name: str) -> Frame:
        """Where ``name.attr = v`` in a function writes: the function's own frame if ``name`` is
        one of its locals, else the object the enclosing scope names (``app.state.model = m`` in a
        startup hook sets it on the module's ``app``, for the request handler to read). Only for an
        attribute path: a subscript's key is its index's text (``REGISTRY[name]``), which names
        another slot in every scope."""
        state = frame.state
        if state is None or name in state or frame.function is None or name in frame.function.local_names():
            return frame
        owner = self.binding_frame(name)
        return owner if owner is not None else frame

    def note_parents(self, key: str) -> None:
        start = 0
        for index, char in enumerate(key):
            if char in ".[" and index > start:
                self.attribute_parents.add(key[:index])

    def attributes_of_key(self, key: str, deep: bool = False) -> dict[str, Values]:
        """``x.a`` bindings of the scopes visible here, for the object ``x`` names (one level, or
        ``deep``: ``x.a.b`` too)."""
        if key not in self.attribute_parents:
            return {}
        found: dict[str, Values] = {}
        prefix = key + "."
        frame: Frame | None = self.frame
        while frame is not None:
            if frame.state is not None:
                for existing, values in frame.state.items():
                    rest = existing[len(prefix) :]
                    if existing.startswith(prefix) and "[" not in rest and (deep or "." not in rest):
                        found.setdefault(rest, values)
                if root(key) in frame.state:
                    break
            if frame.kind == "module":
                break
            frame = frame.parent
        return found

    def sites_where(self, wanted: Callable[[Value], bool]) -> set[object]:
        """The objects some name of a live frame holds that are ``wanted``: directly, or in a
        container or object it holds (``self.optimizer`` of a trainer object), as deep as an
        in-place change is followed."""
        found: set[object] = set()
        seen: set[int] = set()
        for frame in reversed(self.frames):
            current: Frame | None = frame
            while current is not None and id(current) not in seen:
                seen.add(id(current))
                for values in (current.state or {}).values():
                    _collect(values, wanted, found, 0)
                current = current.parent
        return found

    def transform_everywhere(self, sites: set[object], change: Callable[[Value], Value], nested: bool = True) -> None:
        """An in-place change of an object reaches every name that holds it, in every live frame,
        and (``nested``) every container or object that holds it. A container's own change
        (``append``) is followed through names only: containers of containers are rare, and
        walking every value's contents on every append is what would make big files slow."""
        if not sites:
            return
        for log in self.effect_logs:
            log.append(("transform", frozenset(sites), change, nested))
        depth = 0 if nested else MAX_NESTING
        seen: set[int] = set()
        for frame in reversed(self.frames):
            current: Frame | None = frame
            while current is not None and id(current) not in seen:
                seen.add(id(current))
                if current.state is not None:
                    for key, values in current.state.items():
                        changed = _rewrite(values, sites, change, depth)
                        if changed is not values:
                            current.state[key] = changed
                current = current.parent

    def transform_in_frame(self, sites: set[object], change: Callable[[Value], Value]) -> None:
        """An in-place change seen, for now, only by what the running def's own frame holds (a
        branch's copy of it: the join keeps it to that branch)."""
        state = self.frames[-1].state
        for key, values in list((state or {}).items()):
            changed = _rewrite(values, sites, change)
            if changed is not values:
                state[key] = changed  # type: ignore[index]

    def transform_in_classes(
        self, owners: Values, name: str, sites: set[object], change: Callable[[Value], Value]
    ) -> None:
        """``Exporter.registry[fmt] = cls``: the change reaches a class attribute that holds the
        object (where the class, or the base it inherits ``name`` from, keeps it)."""
        for owner in owners:
            info = owner.fact("class") if owner.kind is Kind.CLASS else None
            holder = next((c for c in info.mro() if name in c.attributes), None) if info is not None else None
            if holder is not None:
                holder.attributes[name] = _rewrite(holder.attributes[name], sites, change, 0)

    def set_attributes_everywhere(self, sites: set[object], attrs: dict[str, Values]) -> None:
        """Attributes set on objects of the analysed code (``state.model = m``, what a callback's
        events set on it): the one object changes, wherever it is held."""
        if attrs:
            self.transform_everywhere(sites, lambda value: value.with_attrs(attrs))


MAX_NESTING = 2  # how deep into containers and attributes an in-place change is followed


def _collect(values: Values, wanted: Callable[[Value], bool], found: set[object], depth: int) -> None:
    for value in values:
        if wanted(value):
            found.add(value.site)
        if depth < MAX_NESTING and _holds_values(value):
            for items in value.fact("items") or ():
                _collect(items, wanted, found, depth + 1)
            for name in ("entries", "attrs"):
                for _, held in value.fact(name) or ():
                    _collect(held, wanted, found, depth + 1)


def _rewrite(values: Values, sites: set[object], change: Callable[[Value], Value], depth: int = 0) -> Values:
    if not any(v.site in sites or (depth < MAX_NESTING and _holds_values(v)) for v in values):
        return values
    rewritten = []
    changed = False
    for value in values:
        new = change(value) if value.site in sites else value
        if depth < MAX_NESTING:
            new = _rewrite_facts(new, sites, change, depth + 1)
        changed = changed or new is not value
        rewritten.append(new)
    return frozenset(rewritten) if changed else values


def _holds_values(value: Value) -> bool:
    return value.kind in (Kind.TUPLE, Kind.LIST, Kind.DICT, Kind.TRAINER, Kind.DISTRIBUTED, Kind.INSTANCE) or bool(
        value.fact("attrs")
    )


def _rewrite_facts(value: Value, sites: set[object], change: Callable[[Value], Value], depth: int) -> Value:
    if not _holds_values(value):
        return value
    updates: dict[str, Any] = {}
    items = value.fact("items")
    if items is not None:
        new_items = tuple(_rewrite(v, sites, change, depth) for v in items)
        if any(a is not b for a, b in zip(new_items, items, strict=True)):
            updates["items"] = new_items
    for name in ("entries", "attrs"):
        pairs = value.fact(name)
        if pairs:
            new_pairs = tuple((k, _rewrite(v, sites, change, depth)) for k, v in pairs)
            if any(a[1] is not b[1] for a, b in zip(new_pairs, pairs, strict=True)):
                updates[name] = new_pairs
    return value.updated(**updates) if updates else value
