"""Command-line arguments (part of the library semantics, effects.py): argparse's parsers,
arguments and groups, and transformers' HfArgumentParser. What ``parse_args()`` gives is each
argument's default, overridable from the command line (``_overridable``): a value a later test
of it cannot take for granted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from peftlint.analysis.values import (
    NONE,
    UNKNOWN,
    Kind,
    Value,
    Values,
    const,
    literal_text_of,
    one_constant,
    stable_key,
)

if TYPE_CHECKING:
    from peftlint.analysis import registry
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.interpreter import Interpreter


def add_argument(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``parser.add_argument("--ckpt", default="model.pt")``: the parser now has that option."""
    flags = [literal_text_of(v) for v in site.args]
    dest = literal_text_of(site.kwargs["dest"]) if "dest" in site.kwargs else None
    if dest is None:
        long = [f for f in flags if f and f.startswith("--")]
        plain = [f for f in flags if f and not f.startswith("-")]
        short = [f for f in flags if f and f.startswith("-") and not f.startswith("--") and len(f) > 1]
        # argparse's dest: the first long option, else a positional's name, else the first short option
        chosen = long[0][2:] if long else (plain[0] if plain else (short[0][1:] if short else None))
        dest = chosen.replace("-", "_") if chosen else None
    if dest is None:
        return UNKNOWN
    default = site.kwargs.get("default", NONE)
    option = (dest, default)
    groups = [v for v in site.receiver if v.kind is Kind.ARG_PARSER and v.fact("parsers")]
    parsers = {v.site for v in site.receiver if v.kind is Kind.ARG_PARSER and not v.fact("parsers")}
    parsers |= {parser for group in groups for parser in group.fact("parsers")}
    # one of a mutually exclusive group's options, given on the command line, excludes the others
    # (argparse exits): known when the option's default is None, so that a test of it tells
    exclusive = [(group.site, dest) for group in groups if group.fact("exclusive") and _given_when_set(site, default)]

    def added(parser: Value) -> Value:
        return parser.updated(
            options=(*parser.fact("options", ()), option), exclusive=(*parser.fact("exclusive", ()), *exclusive) or None
        )

    interpreter.transform_everywhere(parsers, added, nested=False)
    return UNKNOWN


def argument_group(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``parser.add_mutually_exclusive_group()`` (or ``add_argument_group``): options added to it
    are the parser's options."""
    parsers = tuple(
        dict.fromkeys(
            v.site for v in sorted(site.receiver, key=stable_key) if v.kind is Kind.ARG_PARSER and not v.fact("parsers")
        )
    )  # in a stable order: the receiver is a set
    if not parsers:
        return UNKNOWN
    exclusive = site.method == "add_mutually_exclusive_group"
    return frozenset({interpreter.new_value(Kind.ARG_PARSER, site.node, None, parsers=parsers, exclusive=exclusive)})


def _given_when_set(site: CallSite, default: Values) -> bool:
    """A test that the option is set (``args.x``, ``args.x is not None``) means it was given: it
    stores the value given and its default is None, or it is a ``store_true`` flag whose default
    is false (``--fresh`` in a group with ``--adapter``: ``if args.fresh:`` means it was given)."""
    action = literal_text_of(site.kwargs["action"]) if "action" in site.kwargs else "store"
    if action == "store_true":
        return "default" not in site.kwargs or one_constant(default) is False
    return action == "store" and default == NONE


def parse_args(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """Parsed arguments: each option's default, or whatever the command line said."""
    attrs: dict[str, Values] = {}
    for parser in site.receiver:
        if parser.kind is not Kind.ARG_PARSER:
            return UNKNOWN
        for dest, default in parser.fact("options", ()):
            attrs[dest] = attrs.get(dest, frozenset()) | default | UNKNOWN
    groups: dict[object, set[str]] = {}
    for parser in site.receiver:
        for group, dest in parser.fact("exclusive", ()):
            groups.setdefault(group, set()).add(dest)
    exclusive = tuple(sorted(tuple(sorted(dests)) for dests in groups.values() if len(dests) > 1)) or None
    namespace = interpreter.new_value(Kind.NAMESPACE, site.node, None, exclusive=exclusive).with_attrs(attrs)
    if site.method == "parse_known_args":
        return frozenset({interpreter.new_value(Kind.TUPLE, site.node, None, items=(frozenset({namespace}), UNKNOWN))})
    return frozenset({namespace})


def hf_argument_parser(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``HfArgumentParser((ModelArguments, TrainingArguments))``: a parser of those dataclasses."""
    if site.spread or not site.has_role(api, "types"):
        return UNKNOWN
    given = site.role(api, "types")
    return frozenset({interpreter.new_value(Kind.ARG_PARSER, site.node, None, dataclasses=given)})


def parse_into_dataclasses(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``parser.parse_args_into_dataclasses()``: one instance per dataclass, each field its default
    or whatever the command line said (as argparse's options are); with
    ``return_remaining_strings=True``, the strings it did not parse last."""
    given = [v.fact("dataclasses") for v in site.receiver if v.kind is Kind.ARG_PARSER]
    if len(given) != 1 or len(site.receiver) != 1 or not given[0] or len(given[0]) != 1:
        return UNKNOWN
    remaining = site.role(api, "remaining") if site.has_role(api, "remaining") else const(False)
    flags = {v.fact("value") if v.kind is Kind.CONST else None for v in remaining}
    if len(flags) != 1 or not isinstance(next(iter(flags)), bool):
        return UNKNOWN  # (how many values it returns is not known)
    (types,) = given[0]
    classes = list(types.fact("items", ())) if types.kind is Kind.TUPLE else [frozenset({types})]
    if types.kind is Kind.TUPLE and types.fact("open"):
        return UNKNOWN
    made = []
    for cls in classes:
        instances = interpreter.call_values(cls, site.with_arguments((), {}), None, site.node.func)
        made.append(frozenset(_overridable(v) for v in instances))
    if flags == {True}:
        made.append(UNKNOWN)
    return frozenset({interpreter.new_value(Kind.TUPLE, site.node, None, items=tuple(made))})


def _overridable(value: Value) -> Value:
    """An instance whose every field may also be what the command line gives."""
    attrs = value.fact("attrs")
    if value.kind not in (Kind.INSTANCE, Kind.NAMESPACE) or not attrs:
        return value
    return value.with_attrs({name: held | UNKNOWN for name, held in attrs})
