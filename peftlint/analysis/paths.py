"""Path shapes: a save and a load name the same file when their shapes agree.

A shape is a tuple of parts: ``("lit", text)`` for literal text and ``("var", expr)`` for a part
only known by the expression that computes it (``args.output_dir``), ``("here", folder)`` for the
folder of a module's ``__file__``, ``("local", ...)`` for one
known by an expression of one function's own (strings.placeholder_part), or by an imported module
constant (``("import", "config.CHECKPOINT")``), resolved once every file of the run is known.
``os.path.join``, ``Path(...) / "x"``, f-strings and ``+`` all reduce to the same parts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import lru_cache

Part = tuple[str, str]
Shape = tuple[Part, ...]

SEPARATOR: Shape = (("lit", "/"),)


def literal(text: str) -> Shape:
    return (("lit", text),)


def placeholder(expr: str) -> Shape:
    return (("var", expr),)


def local(scope: str, expr: str) -> Part:
    """A part named by ``expr`` in one function only (``scope``): the scope is part of its
    identity, not of how it reads."""
    return ("local", f"{scope}\n{expr}")


def config(source: str) -> Shape:
    """A value read from a config file by its keys, ``configs/run.yaml['training']['save_path']``:
    the same file read the same way gives the same value, as good as a literal."""
    return (("config", source),)


def config_home(shape: Shape, anchor: str) -> str | None:
    """Where a script that reads its path from a config file named relatively (``config.yaml``)
    must run for that file to open: the nearest folder, from the script's own upwards, that holds
    it. None for a path not read from a relatively named config file, or none found."""
    if not shape or shape[0][0] != "config":
        return None
    name = shape[0][1].split("[", 1)[0]
    if not name or os.path.isabs(name) or name.startswith(("~", "{")):
        return None
    folder = os.path.dirname(os.path.abspath(anchor))
    for _ in range(CONFIG_LEVELS):
        if os.path.isfile(os.path.join(folder, name)):
            return folder
        above = os.path.dirname(folder)
        if above == folder:
            break
        folder = above
    return None


CONFIG_LEVELS = 3  # a script in ``serve/`` or ``scripts/sub/`` run from the project's root


def module_file(path: str) -> Shape:
    """``__file__`` of the module at ``path``: its folder (by its absolute path, so two modules
    of one folder name one place), then its name."""
    folder, name = os.path.split(os.path.abspath(path))
    return (("here", f"{folder}\n0\n{name}"), ("lit", "/" + name))


def parent(shape: Shape) -> Shape | None:
    """``os.path.dirname(p)``, ``Path(p).parent``: the path without its last segment, where that
    segment is literal text after a ``/``, or the folder above ``__file__``'s folder
    (``Path(__file__).parent.parent``); None otherwise."""
    if len(shape) == 1 and shape[0][0] == "here":
        folder, levels, module = _here(shape[0][1])
        above = os.path.dirname(folder)
        return None if above == folder else (("here", f"{above}\n{levels + 1}\n{module}"),)
    if not shape or shape[-1][0] != "lit" or "/" not in shape[-1][1]:
        return None
    head = shape[-1][1].rsplit("/", 1)[0]
    if not head and len(shape) == 1:
        head = "/"  # the root
    return concat(shape[:-1], literal(head))


def here_folder(text: str) -> str:
    """A ``("here", ...)`` part's absolute folder: what names the place."""
    return _here(text)[0]


def _here(text: str) -> tuple[str, int, str]:
    """A ``("here", ...)`` part: the absolute folder, how many levels above the module's own folder
    it is, and the module's file name (these two say it in a message: ``{config.py's folder}/..``)."""
    folder, _, rest = text.partition("\n")
    levels, _, module = rest.partition("\n")
    return folder, int(levels or 0), module or "__file__"


def each(loop: str) -> Shape:
    """An element of a loop, ``"epoch in range(args.epochs)"``: the loop's iterable is its identity."""
    return (("each", loop),)


def _iterated(iterable: str) -> str:
    """What a loop iterates, one spelling for the same elements: ``d.items()[0]`` (the key of
    ``for k, v in d.items()``) and ``d.keys()`` are ``d``; ``d.items()[1]`` is ``d.values()``."""
    for suffix, same in ((".items()[0]", ""), (".keys()", ""), (".items()[1]", ".values()")):
        if iterable.endswith(suffix) and len(iterable) > len(suffix):
            return iterable[: -len(suffix)] + same
    return iterable


@lru_cache(maxsize=4096)
def identity(shape: Shape) -> Shape:
    """What decides that two shapes name the same files: a loop element by its iterable alone; a
    function's own unknown by its function too, unless a literal is part of the path: ``{path}``
    in two defs is whatever each caller gives, while ``{out_dir}/best.pt`` in ``save_best`` and
    ``load_best`` names the file the pair is written for."""
    literal = has_literal(shape)

    def part(kind: str, text: str) -> Part:
        if kind == "each":
            element, iterable = text.split(" in ", 1)
            iterable = _iterated(iterable)
            last = _last_of_range(element, iterable)
            if last is not None:
                return ("last", last)
            shift = _offset(element)[1]  # ``{i + 1}`` over a list is not ``{i}`` over it
            return (kind, iterable if not shift else f"{iterable}\n{shift}")
        if kind == "here":  # one folder, whichever module's ``__file__`` it is found from
            return (kind, here_folder(text))
        if kind == "local" and literal:
            kind, text = "var", text.split("\n", 1)[1]
        if kind == "var":
            stop, offset = _offset(text)
            return ("last", f"{stop}\n{offset}")
        return (kind, text)

    return tuple(part(kind, text) for kind, text in shape)


def loop_pass(read: Shape, written: Shape) -> bool:
    """Whether ``read`` names a file that a pass of a loop writing ``written`` wrote: the same
    place, except that where ``written`` has the loop's element over a range
    (``epoch_{epoch}.pt``), ``read`` has a number of that range at or below it
    (``epoch_{epoch - 1}.pt``, a rollback to the previous epoch; ``epoch_{EPOCHS - 2}.pt``;
    ``epoch_19.pt`` for ``range(20)``), or, where the element stands between literal text of its
    file name, a number the analysis does not know (``epoch_{best_epoch}.pt``: files of that name
    are the ones the loop writes, the best epoch reloaded)."""
    if not any(kind == "each" for kind, _ in written):
        return False  # no loop's element: no pass of a loop wrote it (most saves; asked per load)
    places = identity(written)
    loops = [kind == "each" and place[0] == "last" for (kind, _), place in zip(written, places, strict=True)]
    wanted = _tokens(identity(read))
    if not any(loops) or identity(read) == places:
        return False
    i = 0
    for index, ((kind, text), loop) in enumerate(zip(places, loops, strict=True)):
        if not loop:
            for token in _tokens(((kind, text),)):
                if i >= len(wanted) or wanted[i] != token:
                    return False
                i += 1
            continue
        stop, offset = text.split("\n")
        if i < len(wanted) and wanted[i][0] == "last":
            other_stop, other_offset = wanted[i][1].split("\n")
            if other_stop != stop or int(other_offset) > int(offset):
                # a number the range's own stop decides (``{args.epochs}``, one past the last) is
                # known not to be one of its files; any other unknown may be
                related = stop in other_stop
                if related or not (_named_around(written, index) and _read_unknown(read, wanted[i])):
                    return False
            i += 1
            continue
        digits = ""
        while i < len(wanted) and wanted[i][0] == "lit" and wanted[i][1].isdigit():
            digits, i = digits + wanted[i][1], i + 1
        if not digits or not stop.isdigit() or int(digits) > int(stop) + int(offset):
            return False  # the numbers a range starting at 0 or above writes end at its last
    return i == len(wanted)


@lru_cache(maxsize=8192)
def family_member(read: Shape, written: Shape, family: tuple[Shape, ...]) -> bool:
    """Whether ``read`` names ``written`` as one of a family of files one save writes (a loop over a
    known range, walked pass by pass: ``epoch_0.pt`` ... ``epoch_4.pt``): ``read`` has one unknown
    part between literal text of its file name (``epoch_{best_epoch}.pt``), and with ``*`` there it
    finds ``written`` and another file of the family."""
    pattern = unknown_as_wildcards(read, named=True)
    if sum(kind == "wild" for kind, _ in pattern) != 1:
        return False
    wanted = identity(pattern)
    if any(kind == "each" for kind, _ in written) or not matches(wanted, identity(written)):
        return False
    # the files themselves, each pass written out: not a loop's element, nor its first pass beside it
    passes = [shape for shape in family if not any(kind == "each" for kind, _ in shape)]
    return len({place for place in map(identity, passes) if matches(wanted, place)}) >= 2


def same_scheme(read: Shape, written: Shape) -> bool:
    """Whether ``read`` names one of the files a save of ``written`` writes, numbered by a value
    the save's path does not know: the same path, except where the save has an unknown between
    literal text of its file name (``{tag}_step{step}.pt``, where ``step`` counts), the read has
    another unknown (a loop's element too) named the same way or a number (``{tag}_step{last}.pt``,
    ``{tag}_step1000.pt``).
    Files of that name are the ones the save writes. A part the save takes from a loop over a
    known range is loop_pass's to decide (its last number is known)."""
    places = identity(written)
    wanted = _scheme_tokens(read)
    for index, (kind, _) in enumerate(written):
        if kind not in ("var", "local", "each") or not _named_around(written, index):
            continue
        if kind == "each" and places[index][0] == "last":
            continue  # over a range: its numbers are known
        before, after = _tokens(places[:index]), _tokens(places[index + 1 :])
        if len(wanted) <= len(before) + len(after) or [t for t, _ in wanted[: len(before)]] != before:
            continue
        if after and [t for t, _ in wanted[-len(after) :]] != after:
            continue
        middle = wanted[len(before) : len(wanted) - len(after)]
        if len(middle) == 1 and middle[0][1] and middle[0][0] != places[index]:
            return True  # another unknown, named the same way
        if all(token[0] == "lit" and token[1].isdigit() for token, _ in middle):
            return True  # a number
    return False


@lru_cache(maxsize=4096)
def _scheme_tokens(shape: Shape) -> tuple[tuple[Part, bool], ...]:
    """The identities of ``shape`` as tokens (see _tokens), each with whether it is an
    unknown of the path's own (an expression's value, a loop's element) between literal text of
    its file name."""
    found: list[tuple[Part, bool]] = []
    for index, ((kind, _), place) in enumerate(zip(shape, identity(shape), strict=True)):
        unknown = kind in ("var", "local", "each") and _named_around(shape, index)
        found += [(token, unknown) for token in _tokens((place,))]
    return tuple(found)


def _read_unknown(read: Shape, token: Part) -> bool:
    """The part of ``read`` that ``token`` (an identity) stands for is an expression's unknown
    value, not another loop's element."""
    places = identity(read)
    return any(kind in ("var", "local") and place == token for (kind, _), place in zip(read, places, strict=True))


def _named_around(shape: Shape, index: int) -> bool:
    """The part at ``index`` stands between literal text of its own file or folder name, other than
    an extension (``epoch_`` in ``epoch_{epoch}.pt``): a number alone (``{epoch}.pt``) names too
    little to say which files a load of an unknown name reads."""
    before = shape[index - 1] if index > 0 else None
    after = shape[index + 1] if index + 1 < len(shape) else None
    if before is not None and before[0] == "lit" and before[1].rsplit("/", 1)[-1]:
        return True
    if after is None or after[0] != "lit":
        return False
    name = after[1].split("/", 1)[0]
    return bool(name) and not _EXTENSION.fullmatch(name)


_EXTENSION = re.compile(r"\.\w+")


# ``name``, ``name + 1``, ``name - 2``: an expression and a whole number added to it
_OFFSET = re.compile(r"(?s)(.*?\S)\s*([+-])\s*(\d+)")


def _offset(text: str) -> tuple[str, int]:
    match = _OFFSET.fullmatch(text.strip())
    if match is None:
        return text.strip(), 0
    return match.group(1), int(match.group(3)) * (1 if match.group(2) == "+" else -1)


def _last_of_range(element: str, iterable: str) -> str | None:
    """The last number a loop's element takes, as ``stop``, newline, offset: ``epoch`` over
    ``range(EPOCHS)`` ends at ``EPOCHS - 1``, and ``epoch + 1`` over ``range(1, EPOCHS + 1)`` at
    ``EPOCHS + 1``. Such a loop writes that file too, so a load of ``epoch_{EPOCHS - 1}.pt`` after
    a save of ``epoch_{epoch}.pt`` in it names a file the loop wrote; an unknown part written the
    same way (``{EPOCHS - 1}`` twice) is the same text either way. None for anything else (a
    stepped range, an iterable that is not a range)."""
    if not (iterable.startswith("range(") and iterable.endswith(")")):
        return None
    arguments = _top_level_arguments(iterable[len("range(") : -1])
    if not arguments or len(arguments) > 2:
        return None
    _, shift = _offset(element)
    stop, offset = _offset(arguments[-1])
    return f"{stop}\n{offset + shift - 1}"


def _top_level_arguments(text: str) -> list[str] | None:
    """``a, f(b, c)`` -> ``["a", "f(b, c)"]``; None for a starred or keyword argument."""
    found, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            found.append(text[start:index].strip())
            start = index + 1
    found.append(text[start:].strip())
    found = [argument for argument in found if argument]
    return None if any(a.startswith("*") or "=" in a.split("(")[0] for a in found) else found


def glob_pattern(shape: Shape, recursive: bool = False) -> Shape | None:
    """What a file ``glob`` finds with the pattern ``shape`` is named: its wildcards ``*`` and ``?``
    (``**``, or ``recursive``: any folders too) become parts of their own that match any text. None
    for a character class (``[0-9]``), which is not read."""
    parts: list[Part] = []
    for kind, text in shape:
        if kind != "lit":
            parts.append((kind, text))
            continue
        if "[" in text:
            return None
        for piece in _WILDCARD.split(text):
            if piece in ("*", "?", "**"):
                parts.append(("wild", piece))
            elif piece:
                parts.append(("lit", piece))
    if recursive:
        parts[:0] = [("wild", "**"), ("lit", "/")] if parts else [("wild", "**")]
    return tuple(parts)


_WILDCARD = re.compile(r"(\*\*|\*|\?)")


def unknown_as_wildcards(shape: Shape, named: bool = False) -> Shape:
    """A path with each part only known by an expression (``{best_epoch}``) as ``*``: the files it
    may name. ``named``: only such parts between literal text of their file name (_named_around)."""
    return tuple(
        ("wild", "*") if kind in ("var", "local") and (not named or _named_around(shape, index)) else (kind, text)
        for index, (kind, text) in enumerate(shape)
    )


def matches(pattern: Shape, shape: Shape) -> bool:
    """Whether ``shape`` (identities, see identity()) is a path ``pattern`` can find: its
    literal text the same, character by character, except where a wildcard stands (``*`` for any
    text within one folder, an unknown part included; ``?`` for one character; ``**`` for any
    folders); its other parts the same parts."""
    if not any(kind == "wild" for kind, _ in pattern):
        return pattern == shape
    wanted, given = _tokens(pattern), _tokens(shape)
    seen: dict[tuple[int, int], bool] = {}

    def match(i: int, j: int) -> bool:
        key = (i, j)
        if key not in seen:
            if i == len(wanted):
                seen[key] = j == len(given)
            elif wanted[i] == ("wild", "*") or wanted[i] == ("wild", "**"):
                crosses = wanted[i][1] == "**"
                seen[key] = match(i + 1, j) or (
                    j < len(given) and (crosses or given[j] != ("lit", "/")) and match(i, j + 1)
                )
            elif wanted[i] == ("wild", "?"):
                seen[key] = j < len(given) and given[j] != ("lit", "/") and match(i + 1, j + 1)
            else:
                seen[key] = j < len(given) and given[j] == wanted[i] and match(i + 1, j + 1)
        return seen[key]

    return match(0, 0)


def _tokens(shape: Shape) -> list[Part]:
    """A shape as a sequence: each character of literal text, each other part whole."""
    found: list[Part] = []
    for kind, text in shape:
        if kind == "lit":
            found += [("lit", char) for char in text]
        else:
            found.append((kind, text))
    return found


def imported(qualname: str) -> Shape:
    return (("import", qualname),)


def concat(*shapes: Shape) -> Shape:
    parts: list[Part] = []
    for shape in shapes:
        for kind, text in shape:
            if kind == "lit" and parts and parts[-1][0] == "lit":
                parts[-1] = ("lit", parts[-1][1] + text)
            elif kind != "lit" or text:
                parts.append((kind, text))
    return tuple(parts)


def join(shapes: Iterable[Shape]) -> Shape:
    pieces: list[Shape] = []
    for shape in shapes:
        if shape and shape[0][0] == "lit" and shape[0][1].startswith("/"):
            pieces = []  # os.path.join drops everything before an absolute part
        if any(text for _, text in concat(*pieces)):  # ``join("", "x")`` (``"./"`` normalised) is "x"
            pieces.append(SEPARATOR)
        pieces.append(shape)
    return concat(*pieces)


def with_last_segment(shape: Shape, text: str, suffix: bool) -> Shape | None:
    """The path with its last segment's suffix replaced by ``text`` (``suffix``: ``with_suffix``),
    or the whole segment (``with_name``); None where that segment is not all literal text."""
    if not shape or shape[-1][0] != "lit":
        return None
    last = shape[-1][1]
    if len(shape) > 1 and "/" not in last:
        # ``f"{run}_weights.bin"``: the segment starts in the expression, but a dot in the literal
        # is its last one, so the suffix is known (``with_name`` would need the expression's end)
        if not suffix or "." not in last:
            return None
        return concat(shape[:-1], literal(last.rpartition(".")[0] + text))
    head, slash, segment = last.rpartition("/")
    if suffix:
        stem, dot, _ = segment.rpartition(".")
        segment = (stem if dot and stem else segment) + text
    else:
        segment = text
    return concat(shape[:-1], literal(head + slash + segment))


def normalise(shape: Shape) -> Shape:
    """Collapse ``//`` and ``/./`` and drop a leading ``./`` inside literal parts."""
    parts: list[Part] = []
    for index, (kind, text) in enumerate(shape):
        if kind == "lit":
            while "//" in text:
                text = text.replace("//", "/")
            while "/./" in text:
                text = text.replace("/./", "/")
            if index == 0 and text.startswith("./"):
                text = text[2:]
        parts.append((kind, text))
    return concat(tuple(parts))


def has_literal(shape: Shape) -> bool:
    return any((kind == "lit" and text.strip("/")) or kind in ("config", "here") for kind, text in shape)


def render(shape: Shape) -> str:
    """How a shape reads in a message: ``{args.output_dir}/model.pt``."""
    out = []
    for kind, text in shape:
        if kind in ("lit", "wild"):
            out.append(text)
        elif kind == "import":  # ``config.CHECKPOINT``, or ``path/to/config.py:CHECKPOINT``
            out.append("{" + text.rsplit(":", 1)[-1].rsplit(".", 1)[-1] + "}")
        elif kind == "each":
            out.append("{" + text.split(" in ", 1)[0] + "}")
        elif kind == "local":
            out.append("{" + text.split("\n", 1)[1] + "}")
        elif kind == "here":
            _, levels, module = _here(text)
            out.append(f"{{{module}'s folder}}" + "/.." * levels)
        else:
            out.append("{" + _HERE_IN_TEXT.sub(HERE, text) + "}")
    return "".join(out)


# How ``__file__``'s folder reads in a message (its absolute path is the machine's, not the code's);
# a config file found from it keeps the folder in its source text, said the same way.
HERE = "{__file__'s folder}"
_HERE_IN_TEXT = re.compile(r"\{here:[^{}]*\}")


def literal_text(shape: Shape) -> str | None:
    """The text of a shape that is all literal, else None."""
    if all(kind == "lit" for kind, _ in shape):
        return "".join(text for _, text in shape)
    return None


ADAPTER_FILES = ("adapter_model.safetensors", "adapter_model.bin")


def names_adapter_file(shape: Shape) -> bool:
    """The path ends in peft's adapter weights file name (``.../adapter_model.safetensors``)."""
    last = shape[-1] if shape else None
    return last is not None and last[0] == "lit" and last[1].rsplit("/", 1)[-1].endswith(ADAPTER_FILES)


def is_absolute(shape: Shape) -> bool:
    """A path that names one file whatever the working directory: a literal ``/...`` or ``~...``,
    or one found from a module's ``__file__`` (its folder is known absolutely)."""
    return bool(shape) and (shape[0][0] == "here" or (shape[0][0] == "lit" and shape[0][1].startswith(("/", "~"))))


_PERCENT = re.compile(r"%(?:\(([^)]*)\))?[-#0 +]*\d*(?:\.\d+)?[sdrifgeExXo%]")


def percent_fields(template: Shape) -> list[str] | None:
    """The names of a literal ``%``-template's fields (``%(root)s``), in order, each once; None
    for a template that is not literal or has a field without a name."""
    text = literal_text(template)
    if text is None:
        return None
    names: list[str] = []
    for match in _PERCENT.finditer(text):
        if match.group() == "%%":
            continue
        if match.group(1) is None:
            return None
        if match.group(1) not in names:
            names.append(match.group(1))
    return names


_BRACE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def percent(template: Shape, arguments: list[Shape], named: dict[str, Shape] | None = None) -> Shape | None:
    """``"%s/model.pt" % out``: a literal template with ``%s``-style fields filled in order, or
    ``"%(out)s/model.pt" % cfg`` with fields filled by name from ``named``."""
    text = literal_text(template)
    if text is None:
        return None
    pieces: list[Shape] = []
    position = 0
    remaining = list(arguments)
    for match in _PERCENT.finditer(text):
        pieces.append(literal(text[position : match.start()]))
        field = match.group(1)
        if match.group() == "%%":
            pieces.append(literal("%"))
        elif named is not None and field is not None and field in named:
            pieces.append(named[field])
        elif not remaining or field is not None:
            return None
        else:
            pieces.append(remaining.pop(0))
        position = match.end()
    pieces.append(literal(text[position:]))
    return concat(*pieces) if not remaining else None


def brace(text: str, positional: list[Shape], keywords: dict[str, Shape]) -> Shape | None:
    """``"{}/model.pt".format(out)`` and ``"{name}.pt".format(name=x)``."""
    pieces: list[Shape] = []
    position = 0
    automatic = 0
    for match in _BRACE.finditer(text):
        pieces.append(literal(text[position : match.start()]))
        position = match.end()
        if match.group() in ("{{", "}}"):
            pieces.append(literal(match.group()[0]))
            continue
        field = match.group(1).split("!", 1)[0].split(":", 1)[0]
        if field == "":
            if automatic >= len(positional):
                return None
            pieces.append(positional[automatic])
            automatic += 1
        elif field.isdigit() and int(field) < len(positional):
            pieces.append(positional[int(field)])
        elif field in keywords:
            pieces.append(keywords[field])
        else:
            return None
    pieces.append(literal(text[position:]))
    return concat(*pieces)
