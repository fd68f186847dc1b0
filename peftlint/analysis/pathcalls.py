"""The registry's verbs for calls that build paths: ``os.path.join``, ``Path(...)``, ``joinpath``,
``with_suffix``/``with_name``, ``os.path.dirname`` and ``.parent``, ``resolve()``, ``str.format``,
and an environment variable's default (``os.environ.get("SM_MODEL_DIR", "/opt/ml/model")``).
Each gives strings whose path shapes (paths.py) say which file they name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import libcst as cst

from peftlint.analysis import paths, registry
from peftlint.analysis.values import NONE, UNKNOWN, Kind, Values, stable_key

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.interpreter import Interpreter


def _argument_pieces(interpreter: Interpreter, site: CallSite) -> list[list[paths.Shape]] | None:
    """The path shapes of each positional argument; ``*parts`` of a known tuple (the call site has
    its items) gives its items' shapes where each is a known string or number. None otherwise."""
    positional = [a for a in site.node.args if not a.keyword]
    stars = [a for a in positional if a.star]
    if site.spread or len(stars) > 1 or (not stars and len(positional) != len(site.args)):
        return None
    expanded = len(site.args) - (len(positional) - len(stars))
    pieces: list[list[paths.Shape]] = []
    values = iter(site.args)
    for arg in positional:
        if not arg.star:
            pieces.append(interpreter.shapes(next(values), arg.value))
            continue
        for _ in range(expanded):
            item = next(values)
            if not item or not all(v.kind is Kind.STRING or type(v.fact("value")) in (int, float) for v in item):
                return None  # an unknown item has no text to name it by
            pieces.append(interpreter.shapes(item, None))
    return pieces


def path(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    pieces = _argument_pieces(interpreter, site) if site.args else None
    if pieces is None:
        return UNKNOWN
    sources = [interpreter.resolved_constants(values) for values in site.args]
    if site.callee in ("os.path.join", "pathlib.Path"):
        return interpreter.strings(site.node, interpreter.product(pieces, lambda *s: paths.join(s)), sources=sources)
    if len(pieces) != 1:
        return UNKNOWN
    return interpreter.strings(site.node, pieces[0], sources=sources)


def joinpath(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    arguments = _argument_pieces(interpreter, site)
    if arguments is None:  # ``joinpath(*parts)`` of parts not known
        return UNKNOWN
    pieces = [site.receiver_shapes(), *arguments]
    sources = [interpreter.resolved_constants(values) for values in (site.receiver, *site.args)]
    return interpreter.strings(site.node, interpreter.product(pieces, lambda *s: paths.join(s)), sources=sources)


def with_suffix(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``path.with_suffix(".pt")``, ``path.with_name("best.pt")`` with a literal argument, on a path
    whose last segment is all literal text; unknown otherwise (which part is the suffix of
    ``{run}`` is not known)."""
    text = site.literal_text(api, "text") if len(site.args) == 1 and not site.spread else None
    if text is None:
        return UNKNOWN
    suffix = site.method == "with_suffix"
    return _each_path(interpreter, site.receiver, site.node, lambda s: paths.with_last_segment(s, text, suffix))


def format_string(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    nodes = [a.value for a in site.node.args if not a.keyword and not a.star]
    positional = [interpreter.shapes(v, n) for v, n in zip(site.args, nodes, strict=False)]
    keyword_nodes = {a.keyword.value: a.value for a in site.node.args if a.keyword is not None}
    keywords = {k: interpreter.shapes(v, keyword_nodes.get(k)) for k, v in site.kwargs.items()}
    found: list[paths.Shape] = []
    for value in sorted(site.receiver, key=stable_key):
        text = value.fact("text") if value.kind is Kind.STRING else None
        if text is None:
            return UNKNOWN
        for combo in interpreter.product([*positional, *keywords.values()], lambda *s: s):  # type: ignore[arg-type]
            named = dict(zip(keywords, combo[len(positional) :], strict=True))
            shape = paths.brace(text, list(combo[: len(positional)]), named)  # type: ignore[arg-type]
            if shape is None:
                return UNKNOWN
            found.append(shape)
    return interpreter.strings(site.node, found)


def glob(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``glob.glob(pattern)``, ``Path(folder).glob(pattern)``, ``.rglob(pattern)``: a list of the
    files the pattern finds, each a path whose wildcards match any text (paths.glob_pattern), so a
    save the pattern covers (``checkpoint-{step}/lora.pt`` for ``checkpoint-*``) names one of them."""
    pattern = site.role(api, "pattern")
    if not pattern or site.spread:
        return UNKNOWN
    folders = site.receiver_shapes() if api.fact == "path.glob" else None
    found: list[paths.Shape] = []
    for shape in interpreter.shapes(pattern, site.node.args[0].value if site.node.args else None):
        globbed = paths.glob_pattern(shape, recursive=site.method == "rglob")
        if globbed is None:
            return UNKNOWN
        found += [paths.join((folder, globbed)) for folder in folders] if folders is not None else [globbed]
    files = interpreter.strings(site.node, found, sources=(pattern,))
    return frozenset({interpreter.new_value(Kind.LIST, site.node, None, items=(files,), open=True)})


def move(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``shutil.move(src, dst)`` gives ``dst``; ``os.replace``/``os.rename`` give None;
    ``Path(src).rename(dst)``/``.replace(dst)`` give the new path (``str.replace(old, new)``, with
    two arguments, is not a move: unknown)."""
    if api.fact == "path.rename":
        return site.role(api, "dst") if len(site.args) == 1 and not site.spread else UNKNOWN
    return site.role(api, "dst") if site.callee == "shutil.move" else NONE


def dirname(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``os.path.dirname(path)``."""
    if site.spread or len(site.args) != 1:
        return UNKNOWN
    return parent_of(interpreter, site.args[0], site.node)


def parent_of(interpreter: Interpreter, values: Values, node: cst.CSTNode | None) -> Values:
    """The folder of each path among ``values`` (``Path(__file__).parent``)."""
    return _each_path(interpreter, values, node, paths.parent)


def _each_path(
    interpreter: Interpreter,
    values: Values,
    node: cst.CSTNode | None,
    change: Callable[[paths.Shape], paths.Shape | None],
) -> Values:
    """Each path among ``values`` changed by ``change``; unknown where one is not a path or
    ``change`` cannot tell (its last segment is not literal text)."""
    shapes = []
    for value in sorted(values, key=stable_key):
        shape = value.fact("shape") if value.kind is Kind.STRING else None
        changed = change(shape) if shape else None
        if changed is None:
            return UNKNOWN
        shapes.append(changed)
    return interpreter.strings(node, shapes, sources=(values,)) if shapes else UNKNOWN


def same_path(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``path.resolve()``, ``.absolute()``, ``.expanduser()``: the same file, named the same way."""
    if site.receiver and all(v.kind is Kind.STRING for v in site.receiver):
        return site.receiver
    return UNKNOWN


def getenv(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``os.environ.get(name, default)``, ``os.getenv(name, default)``: what the environment holds
    (unknown), or the default where the variable is not set."""
    if site.spread or not site.has_role(api, "default"):
        return UNKNOWN
    return UNKNOWN | site.role(api, "default")
