"""The interpreter's bookkeeping: scopes (frames), modules, functions and classes.

Functions and classes of the analysed code are objects the values point at (``Kind.FUNCTION``
and ``Kind.CLASS`` carry them as a fact), with their libcst node parsed the first time a call
needs it: a def nobody calls is never parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import libcst as cst

from peftlint.analysis.values import Origin, State, Values

if TYPE_CHECKING:
    from peftlint.analysis.units import ParsedUnit, Source

FunctionNode = cst.FunctionDef | cst.Lambda
MAX_INLINE_DEPTH = 6  # calls into the analysed code followed this deep (a call chain across modules too)
# ... and from a def analysed on its own: its parameters are unknown, so deep calls learn little
MAX_INLINE_DEPTH_ALONE = 2
# A def this short is still followed one call past either depth (its own calls are not): the end
# of a deep chain is often a small helper that hands back what it is given (``maybe_compile``)
SMALL_LEAF_LINES = 12


@dataclass
class Loop:
    breaks: list[State | None] = field(default_factory=list)
    continues: list[State | None] = field(default_factory=list)
    targets: frozenset[str] = frozenset()  # the names a ``for`` binds to each element


@dataclass(eq=False)
class ModuleScope:
    """One file as a module: its source, its module-level frame and its dotted name."""

    path: str
    source: Source
    name: str  # "__main__" for the file being linted; its dotted name when imported
    frame: Frame | None = None
    imported: bool = False  # evaluated only for its bindings: rules hear nothing from it
    star_imports: set[str] = field(default_factory=set)  # libraries imported with ``*``
    reach: Any = None  # reach.Reach of an imported module: which of its defs are worth inlining
    # An imported module's names are bound when first read (project.py), from the pre-screen's
    # bindings: a def or class is parsed alone, an import is an import; only a name bound by
    # other code makes the module's statements run.
    lazy: bool = False
    subclasses_bound: bool = False  # its classes ran, for a base's ``__init_subclass__`` (interpreter.py)
    imported_for_effects: bool = False  # its decorated defs ran (``import zoo.builders``: interpreter.py)

    @property
    def key(self) -> str:
        return "scope:" + self.path


@dataclass(eq=False)
class Frame:
    state: State | None
    parent: Frame | None  # the enclosing scope a name not bound here is read from
    module: ModuleScope
    kind: str = "function"  # "module", "function" or "class"
    returns: list[tuple[Values, State]] = field(default_factory=list)
    yields: list[Values] = field(default_factory=list)
    loops: list[Loop] = field(default_factory=list)
    call_chain: tuple[Origin, ...] = ()
    globals: set[str] = field(default_factory=set)  # names declared ``global`` here
    function: Function | None = None
    # names bound to a test (``do_train = args.mode != "eval"``): ``if do_train:`` tests that too
    tests: dict[str, Any] = field(default_factory=dict)
    # a module whose statements end the program (``sys.exit(main())``): its state just before
    ended: State | None = None
    # an inlined call's parameters, named as the caller named the arguments it gave (path parts,
    # strings.placeholder_part): ``save(model, out)`` saves where the caller's ``out`` points
    placeholders: dict[str, tuple[str, str]] = field(default_factory=dict)

    def module_frame(self) -> Frame:
        frame: Frame = self
        while frame.parent is not None and frame.kind != "module":
            frame = frame.parent
        return frame


Loader = Callable[[], "tuple[ParsedUnit, FunctionNode]"]


@dataclass(eq=False)
class Function:
    """A def or lambda; ``load`` parses it (once) and gives its unit and node."""

    name: str
    load: Loader
    parent: Frame  # the scope it was defined in (closures read it when called)
    owner: ClassInfo | None = None
    _loaded: tuple[ParsedUnit, FunctionNode] | None = None
    decorators: tuple[str, ...] | None = None  # canonical names, once evaluated
    names_used: frozenset[str] | None = None  # every name its body mentions, for memo keys
    source_unit: Any = None  # the pre-screen's Unit of a def parsed on its own
    _locals: frozenset[str] | None = None

    def loaded(self) -> tuple[ParsedUnit, FunctionNode]:
        if self._loaded is None:
            self._loaded = self.load()
        return self._loaded

    @property
    def node(self) -> FunctionNode:
        return self.loaded()[1]

    @property
    def unit(self) -> ParsedUnit:
        return self.loaded()[0]

    def local_names(self) -> frozenset[str]:
        """The names its body binds (its parameters, assignments and loop targets, nested defs
        and classes, imports): a name it only reads or sets attributes on is its enclosing scope's."""
        if self._locals is None:
            from peftlint.analysis.syntax import names_bound

            node = self.node
            parameters = {param.name.value for param in self.params()}
            for star in (node.params.star_arg, node.params.star_kwarg):
                if isinstance(star, cst.Param):
                    parameters.add(star.name.value)
            self._locals = frozenset(parameters) | names_bound(node.body)
        return self._locals

    def params(self) -> list[cst.Param]:
        parameters = self.node.params
        return [*parameters.posonly_params, *parameters.params, *parameters.kwonly_params]

    def positional(self) -> list[cst.Param]:
        parameters = self.node.params
        return [*parameters.posonly_params, *parameters.params]

    def first_parameter(self) -> str | None:
        """``self`` (or ``cls``): the first positional parameter's name."""
        positional = self.positional()
        return positional[0].name.value if positional else None

    def is_static(self) -> bool:
        return "staticmethod" in (self.decorators or ())

    def is_classmethod(self) -> bool:
        return "classmethod" in (self.decorators or ())

    def is_property(self) -> bool:
        return bool({"property", "functools.cached_property"} & set(self.decorators or ()))


@dataclass(eq=False)
class ClassInfo:
    name: str
    parent: Frame
    bases: list[ClassInfo] = field(default_factory=list)  # the analysed code's classes among its bases
    library_bases: tuple[str, ...] = ()  # canonical names of library classes among its bases
    members: dict[str, Function] = field(default_factory=dict)
    attributes: dict[str, Values] = field(default_factory=dict)  # class-level assignments
    fields: list[str] = field(default_factory=list)  # annotated class-level names, in order
    decorators: tuple[str, ...] = ()
    unit: Any = None
    node: Any = None
    analysed: bool = False

    def mro(self) -> Iterator[ClassInfo]:
        """This class, then its bases depth first, each once (C3 where it matters: diamonds are rare)."""
        seen: set[int] = set()
        stack = [self]
        while stack:
            current = stack.pop(0)
            if id(current) in seen:
                continue
            seen.add(id(current))
            yield current
            stack = [*current.bases, *stack]

    def lookup(self, name: str, after: ClassInfo | None = None) -> Function | None:
        """The method ``name`` as ``self.name`` finds it (or ``super()`` from ``after``)."""
        skipping = after is not None
        for cls in self.mro():
            if skipping:
                skipping = cls is not after
                continue
            if name in cls.members:
                return cls.members[name]
        return None

    def class_attribute(self, name: str) -> Values | None:
        for cls in self.mro():
            if name in cls.attributes:
                return cls.attributes[name]
        return None

    def all_library_bases(self) -> set[str]:
        return {base for cls in self.mro() for base in cls.library_bases}

    def is_dataclass(self) -> bool:
        return any(d in ("dataclasses.dataclass", "attr.s", "attrs.define") for d in self.decorators) or (
            "typing.NamedTuple" in self.library_bases  # ``class Setup(NamedTuple): model: Any``
        )


def short_def(function: Function) -> bool:
    """A def of fewer than SMALL_LEAF_LINES lines, known by its pre-screened unit."""
    unit = function.source_unit
    return unit is not None and unit.end - unit.start < SMALL_LEAF_LINES
