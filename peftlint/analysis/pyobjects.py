"""The verbs of the registry for Python's own objects: ``functools.partial``, lists
and dicts changed in place, dict views, argparse parsers and what ``parse_args`` gives. Library verbs are in
effects.py, training verbs in training.py."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import libcst as cst

from peftlint.analysis import conditions, names, paths, registry
from peftlint.analysis.values import (
    NONE,
    UNKNOWN,
    UNKNOWN_VALUE,
    Kind,
    Value,
    Values,
    const,
    contained,
    known,
    literal_text_of,
    make_facts,
    one_constant,
    or_unknown,
    put_entry,
    stable_key,
    with_item,
)

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.frames import Function
    from peftlint.analysis.interpreter import Interpreter


def getattr_(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``getattr(model, "_orig_mod", model)``: the attribute of that literal name, or the default."""
    name = site.literal_text(api, "name") if len(site.args) in (2, 3) and not site.spread else None
    if name is None:
        return UNKNOWN
    found = interpreter.attribute_of(site.role(api, "object"), name, site.node)
    return found | site.role(api, "default") if site.has_role(api, "default") else found


def partial(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    if not site.args or site.spread:
        return UNKNOWN
    bound = (site.args[0], tuple(site.args[1:]), tuple(sorted(site.kwargs.items())))
    return frozenset({Value(Kind.FUNCTION, site=("partial", id(site.node)), facts=(("partial", bound),))})


def append(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``models.append(m)``: the list (every alias of it) now holds ``m`` too."""
    added = site.args[-1] if site.args else UNKNOWN
    if site.method == "extend":
        added = interpreter.iterate(added)
    added = contained(added)
    # ``self.history.append(m)``: the list is an object's attribute, reached inside that object
    # (or a list a defaultdict made for a missing key: ``HOOKS[event].append(fn)``)
    func = site.node.func
    held = isinstance(func, cst.Attribute) and isinstance(func.value, cst.Attribute)
    held = held or any(v.fact("default_entry") for v in site.receiver)
    _hold(interpreter, [v for v in site.receiver if v.kind is Kind.LIST], added, held)
    return NONE


def _hold(interpreter: Interpreter, lists: list[Value], added: Values, held: bool) -> None:
    """The lists (every alias of each; ``held``: inside the objects that hold them too) now hold
    ``added``."""
    if added == UNKNOWN and all(v.fact("open") for v in lists):
        return  # already a list of anything: nothing to change
    interpreter.transform_everywhere({v.site for v in lists}, lambda v: with_item(v, added), nested=held)


def heap_push(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``heapq.heappush(heap, item)``: the list (every alias of it) now holds ``item`` too, as
    ``heap.append(item)`` would (its order is not followed)."""
    if site.spread or len(site.args) != 2:
        return NONE
    held = bool(site.node.args) and isinstance(site.node.args[0].value, cst.Attribute)  # ``self._heap``
    _hold(interpreter, [v for v in site.args[0] if v.kind is Kind.LIST], contained(site.args[1]), held)
    return NONE


def unknown_element(target: cst.BaseExpression, source: str, key: int) -> Value | None:
    """What ``for target in <source>`` binds on a pass over an iterable whose elements are not
    known: one unknown element, the same one for what is copied from it (two loops over the same
    iterable take the same elements: ``epoch_{epoch}`` saved in one, ``epoch_{e}`` read in the
    next, name the same files). For ``for r, lr in itertools.product(RANKS, LRS)``, each position
    its own, named by the iterable and the position (``r{r}_lr{lr}.pt`` is not ``r{lr}_lr{r}.pt``).
    None for another target (a starred one, an attribute)."""
    if isinstance(target, cst.Name):
        return Value(Kind.SYMBOL, site=("symbol", key), facts=(("text", f"{target.value} in {source}"),))
    names = [e.value for e in target.elements] if isinstance(target, (cst.Tuple, cst.List)) else []
    if not names or not all(isinstance(name, cst.Name) for name in names):
        return None
    texts = [f"{name.value} in {source}[{index}]" for index, name in enumerate(names)]  # type: ignore[attr-defined]
    symbols = tuple(
        frozenset({Value(Kind.SYMBOL, site=("symbol", key, index), facts=(("text", text),))})
        for index, text in enumerate(texts)
    )
    return Value(Kind.TUPLE, site=("symbols", key), facts=make_facts(items=symbols))


def known_parts(value: Value, element: Value) -> Value:
    """A pair a loop unpacks, its unknown parts replaced by the loop's element at that position."""
    items, symbols = value.fact("items"), element.fact("items")
    if value.kind is not Kind.TUPLE or element.kind is not Kind.TUPLE or not items or len(items) != len(symbols):
        return value
    parts = tuple(
        (part - UNKNOWN) | symbol if UNKNOWN_VALUE in part else part
        for part, symbol in zip(items, symbols, strict=True)
    )
    return value.updated(items=parts)


def same_items(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``sorted(xs)``, ``reversed(xs)`` of known lists, tuples or dicts (their keys): a list of the
    same items, their order not followed; unknown for anything else."""
    given = site.role(api, "iterable")
    if site.spread or len(site.args) != 1 or not given or any(v.kind not in _ITERABLE for v in given):
        return UNKNOWN
    items = interpreter.iterate(given)
    return frozenset({interpreter.new_value(Kind.LIST, site.node, None, items=(items,), open=True)})


def one_item(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``max(xs, key=...)``, ``min(xs)``: one item of a known list, tuple or dict (a key);
    ``max(a, b)``: one of the arguments."""
    if site.spread or not site.args:
        return UNKNOWN
    if len(site.args) > 1:
        numbers = _numbers(interpreter, site.args)
        if numbers is not None and not site.kwargs:  # ``max(0, EPOCHS - AVG_LAST)``: that number
            return const(max(numbers) if site.callee == "builtins.max" else min(numbers))
        return frozenset().union(*site.args)
    given = site.args[0]
    if not any(v.kind in _ITERABLE for v in given):
        return UNKNOWN
    # one of the known items, or (where the argument may be something else too: ``args.ckpts if
    # args.ckpts else glob.glob(...)``) anything
    return interpreter.iterate(given)


_ITERABLE = frozenset({Kind.LIST, Kind.TUPLE, Kind.DICT})  # a dict's items are its keys


def length(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``len(xs)`` of a list or tuple whose items are all known (``range(len(LR_SCHEDULE))``)."""
    given = site.role(api, "iterable") if len(site.args) == 1 and not site.spread else UNKNOWN
    sizes = {len(v.fact("items")) for v in given if v.kind in (Kind.LIST, Kind.TUPLE) and not v.fact("open")}
    if len(sizes) != 1 or len(given) != 1 or not all(v.kind in (Kind.LIST, Kind.TUPLE) for v in given):
        return UNKNOWN
    return const(sizes.pop())


def _numbers(interpreter: Interpreter, given: tuple[Values, ...]) -> list[int | float] | None:
    """The one number each argument is, or None."""
    found = [one_constant(interpreter.resolved_constants(values)) for values in given]
    return found if all(type(n) in (int, float) for n in found) else None  # type: ignore[return-value]


def listed_range(interpreter: Interpreter, site: CallSite) -> Values | None:
    """``list(range(max(0, EPOCHS - AVG_LAST), EPOCHS))``: the list of a small known range's
    numbers (a ``for`` over a ``range(...)`` takes them itself: loops.py); None otherwise."""
    arguments = site.node.args
    if len(arguments) != 1 or arguments[0].keyword is not None or arguments[0].star:
        return None
    numbers = interpreter.range_numbers(arguments[0].value)
    if numbers is None:
        return None
    return frozenset({interpreter.new_value(Kind.LIST, site.node, None, items=tuple(const(n) for n in numbers))})


def new_dict(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``dict()`` or ``OrderedDict()``: an empty dict, as ``{}`` is (with keywords, those entries);
    of a known dict, its entries; of pairs (``OrderedDict((k, make(k)) for k in names)``), a dict
    whose keys are not known, holding their second items. Unknown for anything else."""
    if site.spread or len(site.args) > 1 or (site.args and site.kwargs):
        return UNKNOWN
    if not site.args:
        entries = tuple(sorted(site.kwargs.items(), key=lambda e: repr(e[0])))
        return frozenset({interpreter.new_value(Kind.DICT, site.node, None, entries=entries, order=tuple(site.kwargs))})
    given = site.args[0]
    if len(given) == 1 and all(v.kind is Kind.DICT for v in given):
        (other,) = given
        return frozenset({_copy(interpreter, other, site.node)})
    pairs = [v.fact("items") for v in interpreter.iterate(given) if v.kind in (Kind.TUPLE, Kind.LIST)]
    if not pairs or len(pairs) != len(interpreter.iterate(given)) or any(len(p) != 2 for p in pairs):
        return UNKNOWN
    held = frozenset().union(*(pair[1] for pair in pairs))
    return frozenset({interpreter.new_value(Kind.DICT, site.node, None, entries=(("*", held),), open=True)})


def new_defaultdict(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``defaultdict(list)`` (or ``dict``): an empty dict whose missing key, once read, holds a new
    empty list (or dict): ``HOOKS[event].append(fn)`` fills it (``missing_entries``)."""
    given = site.args[0] if len(site.args) == 1 and not site.kwargs and not site.spread else frozenset()
    factories = {names.canonical(v.fact("qualname") or "") for v in given if v.kind is Kind.IMPORT}
    if len(given) != 1 or factories not in ({"builtins.list"}, {"builtins.dict"}):
        return UNKNOWN
    default = factories.pop().rpartition(".")[2]
    return frozenset({interpreter.new_value(Kind.DICT, site.node, None, entries=(), default=default)})


def missing_entries(interpreter: Interpreter, containers: Values, key: object, node: cst.CSTNode) -> Values:
    """``hooks[event]`` read from a defaultdict that has no such key: a new empty list (or dict),
    which the dict (every alias of it) now holds under the key, as Python's ``__missing__`` does."""
    made: set[Value] = set()
    for value in sorted(containers, key=stable_key):
        default = value.fact("default") if value.kind is Kind.DICT else None
        if default is None or key in dict(value.fact("entries", ())):
            continue
        kind, facts = (Kind.LIST, {"items": ()}) if default == "list" else (Kind.DICT, {"entries": ()})
        facts["default_entry"] = True
        new = interpreter.new_value(kind, node, None, **facts)

        def add(held: Value, new: Value = new) -> Value:
            entries = held.fact("entries", ())
            return held if key in dict(entries) else held.updated(entries=put_entry(entries, key, frozenset({new})))

        interpreter.transform_everywhere({value.site}, add, nested=False)
        made.add(new)
    return frozenset(made)


def namespace(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``SimpleNamespace(model=m, cfg=cfg)``: an object carrying those attributes (more can be set
    on it later: ``ctx.best = path``)."""
    if site.args or site.spread:
        return UNKNOWN
    attrs = tuple(sorted((name, contained(values, settings=True)) for name, values in site.kwargs.items()))
    return frozenset({interpreter.new_value(Kind.INSTANCE, site.node, None, attrs=attrs)})


def dict_copy(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``cfg.copy()`` of a known dict: a new dict with its entries (``args.pop("type")`` of the
    copy leaves the original whole)."""
    if site.args or site.kwargs or site.spread:
        return UNKNOWN
    return frozenset(_copy(interpreter, v, site.node) if v.kind is Kind.DICT else UNKNOWN_VALUE for v in site.receiver)


def _copy(interpreter: Interpreter, value: Value, node: cst.CSTNode) -> Value:
    """A new dict made here holding what the known dict ``value`` holds."""
    return interpreter.new_value(Kind.DICT, node, None, **dict(value.facts))


def string_method(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``"lora,warm_start".split(",")``: a literal string split on a literal separator (or on
    whitespace) is the list of its parts, in order; ``.strip()``, ``.lower()`` and the like of a
    literal string are literal strings. Unknown for anything else."""
    text = literal_text_of(site.receiver)
    arguments = [None if values == NONE else literal_text_of(values) for values in site.args]
    takes = 0 if site.method in ("lower", "upper") else 1
    unknown_argument = any(values != NONE and given is None for values, given in zip(site.args, arguments, strict=True))
    if text is None or site.spread or site.kwargs or len(arguments) > takes or unknown_argument:
        return UNKNOWN
    if site.method == "split":
        parts = tuple(interpreter.string_value(part) for part in text.split(*arguments))
        return frozenset({interpreter.new_value(Kind.LIST, site.node, None, items=parts)})
    return interpreter.string_value(getattr(text, site.method or "strip")(*arguments))


def update(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``d.update(...)`` / ``d.setdefault(...)``: the dict may now hold anything under any key."""
    added = frozenset().union(*site.args, *site.kwargs.values()) if site.args or site.kwargs else UNKNOWN
    sites = {v.site for v in site.receiver if v.kind is Kind.DICT}

    def merged(value: Value) -> Value:
        entries = value.fact("entries", ())
        anything = dict(entries).get("*", frozenset()) | added | UNKNOWN
        return value.updated(entries=put_entry(entries, "*", anything), open=True, keyed=None)

    interpreter.transform_everywhere(sites, merged, nested=False)
    return UNKNOWN


def open_file(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``open(path)``: a file named by how its path reads (a config file read from it gives values
    that name that file)."""
    node = site.role_node(api, "path")
    if node is None:
        return UNKNOWN
    return _file(interpreter, site, interpreter.shapes(site.role(api, "path"), node))


def read_file(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``path.open()``, ``path.read_text()``: the file the receiver names, as ``open(path)`` is
    (``yaml.safe_load(cfg_path.read_text())`` reads that file's config)."""
    return _file(interpreter, site, site.receiver_shapes())


def _file(interpreter: Interpreter, site: CallSite, shapes: list[paths.Shape]) -> Values:
    sources = _sources(shapes)
    if not sources:
        return UNKNOWN
    # ``torch.load(f)`` of it reads the file its path names
    return frozenset({interpreter.new_value(Kind.FILE, site.node, None, sources=sources, shapes=tuple(shapes))})


def config_file(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``yaml.safe_load(f)``, ``json.loads(p.read_text())``, ``OmegaConf.load(path)``: a config read from a file;
    what it holds is unknown, but ``cfg["training"]["save_path"]`` is the same value wherever that
    file is read (a train and an eval script sharing ``configs/run.yaml``)."""
    opens = api.role("path") is not None  # given a path, it opens it; else a string is the text
    node = site.role_node(api, "path" if opens else "file")
    given = site.role(api, "path" if opens else "file")
    sources: list[str] = []
    for value in given:
        if value.kind is Kind.FILE:
            sources += value.fact("sources", ())
        elif value.kind is Kind.STRING and node is not None and opens:
            sources += _sources(interpreter.shapes(frozenset({value}), node))
        else:
            return UNKNOWN
    if not sources:
        return UNKNOWN
    config = interpreter.new_value(Kind.DICT, site.node, None, open=True, sources=tuple(dict.fromkeys(sources)))
    return frozenset({config})


def config_item(config: Value, suffix: str) -> Value:
    """``cfg["training"]``, or ``cfg.training`` (an OmegaConf or Hydra config reads its keys as
    attributes too), of a config read from a file: the same value wherever that file is read,
    named by the file and the keys."""
    # a Hydra config's top-level key it takes from a config of its defaults list (predict.yaml's
    # ``defaults: [train, _self_]``): named by the file that defines it
    inherited = dict(config.fact("key_sources") or ())
    sources = tuple(inherited.get(suffix, source) + suffix for source in config.fact("sources"))
    facts = make_facts(open=True, sources=sources)
    return Value(Kind.DICT, site=(config.site, suffix), guards=config.guards, facts=facts)


def hydra_config(function: Function, param: cst.Param) -> Values | None:
    """The config ``@hydra.main(config_path="conf", config_name="config")`` hands the def as its
    first parameter: ``conf/config.yaml`` (relative to the def's file, as Hydra reads it), as if
    read with ``OmegaConf.load`` (``cfg.paths.checkpoint`` in train.py and evaluate.py of one
    folder is one value). None for any other def or parameter, or a config not named by literals."""
    node = function.node
    if "hydra.main" not in (function.decorators or ()) or not isinstance(node, cst.FunctionDef):
        return None
    positional = [*node.params.posonly_params, *node.params.params]
    if not positional or positional[0] is not param:
        return None
    for decorator in node.decorators:
        call = decorator.decorator
        if not isinstance(call, cst.Call) or _last_name(call.func) != "main":
            continue
        arguments = [a.value for a in call.args if a.keyword is None]
        given = dict(zip(("config_path", "config_name"), arguments, strict=False))
        given.update({a.keyword.value: a.value for a in call.args if a.keyword is not None})
        folder, name = (
            conditions.string_value(given[k]) if isinstance(given.get(k), cst.SimpleString) else None
            for k in ("config_path", "config_name")
        )
        if not isinstance(folder, str) or not isinstance(name, str):
            return None
        name = name if name.endswith((".yaml", ".yml")) else f"{name}.yaml"
        source = paths.render(paths.normalise(paths.join([paths.literal(folder), paths.literal(name)])))
        here = os.path.join(os.path.dirname(os.path.abspath(function.unit.path)), folder)
        owners = hydra_key_files(os.path.normpath(here), name)
        key_sources = tuple(
            (f"[{key!r}]", paths.render(paths.normalise(paths.join([paths.literal(folder), paths.literal(file)]))))
            for key, file in sorted(owners.items())
            if file != name
        )
        facts = make_facts(open=True, sources=(source,), key_sources=key_sources or None)
        return frozenset({Value(Kind.DICT, site=("hydra config", id(node)), facts=facts)})
    return None


@lru_cache(maxsize=64)
def hydra_key_files(folder: str, name: str, depth: int = 0) -> dict[str, str]:
    """Which file of a Hydra config folder each top-level key of config ``name`` comes from: the
    configs of its ``defaults`` list by plain name (``- train``), in order, and the file itself
    where ``_self_`` stands (last when not listed): a later one overrides. Read by lines (a
    top-level ``key:`` and the defaults' ``- name``); empty for a file that cannot be read."""
    try:
        with open(os.path.join(folder, name), encoding="utf-8") as handle:
            lines = handle.read(_MAX_CONFIG_BYTES).splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    own = [m.group(1) for m in map(_TOP_KEY.match, lines) if m and m.group(1) != "defaults"]
    order: list[str] = []
    in_defaults = False
    for line in lines:
        if _TOP_KEY.match(line):
            in_defaults = line.startswith("defaults:")
        elif in_defaults and (item := _DEFAULT_ITEM.match(line)):
            order.append(item.group(1))
    if "_self_" not in order:
        order.append("_self_")
    found: dict[str, str] = {}
    for item in order:
        if item == "_self_":
            found.update(dict.fromkeys(own, name))
        elif depth < 3:
            other = item if item.endswith((".yaml", ".yml")) else f"{item}.yaml"
            found.update(hydra_key_files(folder, other, depth + 1))
    return found


_TOP_KEY = re.compile(r"([A-Za-z_][\w-]*)[ \t]*:")
_DEFAULT_ITEM = re.compile(r"[ \t]*-[ \t]+([\w./-]+)[ \t]*(?:#.*)?$")
_MAX_CONFIG_BYTES = 256 * 1024


def _last_name(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    return node.attr.value if isinstance(node, cst.Attribute) else None


def _sources(shapes: list[paths.Shape]) -> tuple[str, ...]:
    """How the paths of the files a config may be read from read, for those that name a file by
    something fixed (a literal, a module constant): an unknown path alone names no file."""
    found = []
    for shape in shapes:
        if any(kind in ("lit", "import", "here") for kind, _ in shape):
            found.append("".join(_source_part(kind, text) for kind, text in shape))
    return tuple(found)


def _source_part(kind: str, text: str) -> str:
    if kind == "lit":
        return text
    return f"{{here:{paths.here_folder(text)}}}" if kind == "here" else f"{{{kind}:{text}}}"


def get(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``d.get(key, default)`` / ``d.pop(key, default)``: the entry, or the default."""
    keys = [v.fact("value") if v.kind is Kind.CONST else v.fact("text") for v in site.arg(0, "key")]
    exact = known(site.arg(0, "key")) and None not in keys
    default = site.args[1] if len(site.args) > 1 else NONE
    found: set[Value] = set()
    for value in site.receiver:
        entries = dict(value.fact("entries", ()))
        if exact and value.kind is Kind.DICT:
            # a known key: its entry (or one under a key the analysis could not read); a dict
            # opened by ``**spread`` may hold it from there instead, or not at all
            for k in keys:
                found |= entries.get(k, frozenset()) | entries.get("*", frozenset())
                if k not in entries:
                    found |= default | (UNKNOWN if value.fact("open") else frozenset())
            if value.fact("open"):
                found |= UNKNOWN
        else:
            found |= item_of(value, None) | default
    return or_unknown(found)


def super_(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``super()`` in a method: the instance, seen from the classes after the method's own."""
    function = interpreter.frame.function
    if function is None or function.owner is None or site.args:
        return UNKNOWN
    positional = function.positional()
    this = interpreter.lookup(positional[0].name.value) if positional else None
    if not this:
        return UNKNOWN
    return frozenset(
        {Value(Kind.SUPER, site=("super", id(site.node)), facts=(("owner", function.owner), ("self", this)))}
    )


def view(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``d.items()`` / ``d.values()`` / ``d.keys()``: a list of what the dict holds."""
    found: set[Value] = set()
    for value in site.receiver:
        if value.kind is not Kind.DICT:
            return UNKNOWN
        entries = value.fact("entries", ())
        order = value.fact("order")
        if order is not None and not value.fact("open") and set(order) == {key for key, _ in entries}:
            # a dict display's keys, as it wrote them and nothing added since: one item per entry,
            # in Python's order (``for name, stage in STAGES.items():`` takes each stage once)
            held = dict(entries)
            items = tuple(_view_item(interpreter, site, key_value(key), held[key]) for key in order)
            found.add(interpreter.new_value(Kind.LIST, site.node, None, items=items))
            continue
        values = frozenset().union(*(v for _, v in entries)) | (UNKNOWN if value.fact("open") else frozenset())
        keys = known_keys(value) | (UNKNOWN if not value.fact("keyed") else frozenset())
        item = _view_item(interpreter, site, keys, values)
        found.add(interpreter.new_value(Kind.LIST, site.node, None, items=(item,), open=True))
    return frozenset(found) or UNKNOWN


def _view_item(interpreter: Interpreter, site: CallSite, keys: Values, values: Values) -> Values:
    """What one item of the view is: a value, a key, or the pair of them."""
    if site.method == "values":
        return values
    if site.method == "keys":
        return keys
    return frozenset({interpreter.new_value(Kind.TUPLE, site.node, None, items=(keys, values))})


def known_keys(value: Value) -> Values:
    """A dict's keys the analysis knows: its entries' (not ``*``, a key it could not read), and the
    keys written from a loop's elements (``scores[path] = acc`` for each path: where the dict was
    filled only so, those are every key it has)."""
    keys = frozenset().union(*(key_value(key) for key, _ in value.fact("entries", ()) if key != "*"))
    return keys | (value.fact("keyed") or frozenset())


def key_value(key: object) -> Values:
    """A dict's key as a value: a string names a path like a literal does."""
    return (
        const(key)
        if not isinstance(key, str)
        else frozenset({Value(Kind.STRING, site=("key", key), facts=make_facts(shape=paths.literal(key), text=key))})
    )


def item_of(value: Value, keys: list[object] | None) -> Values:
    """What ``value[key]`` holds for each of ``keys`` (None: a key the analysis cannot tell)."""
    if value.kind in (Kind.TUPLE, Kind.LIST):
        items = value.fact("items", ())
        indexes = [k for k in keys or () if isinstance(k, int)]
        if keys is not None and not value.fact("open") and len(indexes) == len(keys):
            picked = [items[k] for k in indexes if -len(items) <= k < len(items)]
            if len(picked) == len(keys):
                return frozenset().union(*picked)
        return frozenset().union(*items, UNKNOWN) if items else UNKNOWN
    if value.kind is Kind.DICT:
        entries = dict(value.fact("entries", ()))
        if keys is not None and all(k in entries for k in keys):
            return frozenset().union(*(entries[k] for k in keys))
        if keys is not None and len(keys) == 1 and value.fact("sources") and not entries:
            return frozenset({config_item(value, f"[{keys[0]!r}]")})
        return frozenset().union(*entries.values(), UNKNOWN)
    return UNKNOWN


def some_slot(values: Values) -> Values:
    """What one slot of a container read by an index the analysis cannot tell holds: where its
    slots hold both PEFT wrappers and plain models, which this one is is unknown (iterating over
    every slot is another matter: each is met in turn)."""
    kinds = {v.kind for v in values}
    if Kind.PEFT_MODEL in kinds and kinds & {Kind.BASE_MODEL, Kind.INJECTED_BASE}:
        return frozenset(v for v in values if v.kind is not Kind.PEFT_MODEL) | UNKNOWN
    return values


def yields(function: Any) -> bool:
    """A def whose own body (not a def or lambda inside it) has a ``yield``."""
    try:
        node = function.node
    except Exception:  # noqa: BLE001 - a def that does not parse: not known to yield
        return False
    stack: list[cst.CSTNode] = [node.body] if isinstance(node, cst.FunctionDef) else []
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Yield):
            return True
        if not isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            stack.extend(current.children)
    return False
