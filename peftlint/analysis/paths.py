"""Path shapes: a save and a load name the same file when their shapes agree.

A shape is a tuple of parts: ``("lit", text)`` for literal text and ``("var", expr)`` for a part
only known by the expression that computes it (``args.output_dir``) or by an imported module
constant (``("import", "config.CHECKPOINT")``), resolved once every file of the run is known.
``os.path.join``, ``Path(...) / "x"``, f-strings and ``+`` all reduce to the same parts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Part = tuple[str, str]
Shape = tuple[Part, ...]

SEPARATOR: Shape = (("lit", "/"),)


def literal(text: str) -> Shape:
    return (("lit", text),)


def placeholder(expr: str) -> Shape:
    return (("var", expr),)


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
        if pieces:
            pieces.append(SEPARATOR)
        pieces.append(shape)
    return concat(*pieces)


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
    return any(kind == "lit" and text.strip("/") for kind, text in shape)


def resolve_imports(shape: Shape, lookup: Callable[[str], Shape | None]) -> Shape:
    """Replace imported constants by their value where ``lookup`` knows it."""
    pieces: list[Shape] = []
    for kind, text in shape:
        resolved = lookup(text) if kind == "import" else None
        pieces.append(resolved if resolved is not None else ((kind, text),))
    return normalise(concat(*pieces))


def render(shape: Shape) -> str:
    """How a shape reads in a message: ``{args.output_dir}/model.pt``."""
    out = []
    for kind, text in shape:
        if kind == "lit":
            out.append(text)
        elif kind == "import":
            out.append("{" + text.rsplit(".", 1)[-1] + "}")
        else:
            out.append("{" + text + "}")
    return "".join(out)
