"""The pre-screen: which parts of a file the analysis needs, decided on CPython's AST.

CPython's parser is fast and already answers "does this file parse?". Its tree is used for three
things only, never for the analysis itself (that walks libcst's tree, see units.py):

* the call shapes the file contains, so a rule can say "my calls cannot occur here";
* the file's units: its top-level statements, and the members of its top-level classes, with
  their line ranges, so libcst parses one ``def`` of a 5,000-line module, not the module;
* per unit, the names it calls (its nested defs' included) and how deeply its nodes nest, so
  Reach can skip units that cannot reach a rule's call and the engine can send pathologically
  deep code to a process with a big stack.

If CPython cannot parse the file (newer grammar than this interpreter, say), the caller parses
it with libcst instead, whole, and analyses everything.
"""

from __future__ import annotations

import ast
import builtins
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from peftlint.analysis.names import is_library

STATEMENTS = "statements"  # consecutive top-level (or class-level) statements that are not defs
DEF = "def"
CLASS = "class"


@dataclass
class Unit:
    """A piece of a file libcst can parse on its own: lines ``start``..``end`` (1-based, inclusive).

    A class member (``member=True``) is parsed inside a ``class _:`` line of its own, so its
    indentation and every column stay as written.
    """

    kind: str
    start: int
    end: int
    name: str | None = None
    member: bool = False
    calls: set[str] = field(default_factory=set)  # names called inside: f(...) and x.f(...) give "f"
    depth: int = 0  # how deeply its AST nodes nest
    members: list[Unit] = field(default_factory=list)  # a class split into members
    header_end: int = 0  # a split class: the last line of its header (decorators, bases, colon)
    # For a def, what a call to it can change or give back when it is not analysed (see
    # calls.py): the names it declares ``global``, the attributes it sets on its first parameter,
    # and the names it returns (None in it: it returns something else too).
    globals: set[str] = field(default_factory=set)
    sets_on_self: set[str] = field(default_factory=set)
    stores_on_self: set[str] = field(default_factory=set)  # ``self._items[key] = v``: into what it holds
    returns: set[str | None] = field(default_factory=set)
    parameters: tuple[str, ...] = ()  # positional parameter names, in order
    never_returns: bool = False  # every path raises or exits
    decorators: set[str] = field(default_factory=set)  # last names (``staticmethod``, ``fixture``)
    decorator_roots: set[str] = field(default_factory=set)  # ``MODELS`` of ``@MODELS.register("lora")``
    # Calls of something other than a def, class or builtin by name: ``fn(...)`` of a parameter or
    # loop variable (``dynamic``: those names; an import of the file is no such call) and
    # ``HOOKS[event](...)`` (``indirect``). Either may run any def the file takes as a value.
    dynamic: set[str] = field(default_factory=set)
    indirect: bool = False
    owners: set[str] = field(default_factory=set)  # ``fit`` of ``fit.run()``: names a method is called on


@dataclass
class Screen:
    """What CPython's AST tells about a file, before any analysis."""

    units: list[Unit]
    methods: set[tuple[str, str]] = field(default_factory=set)  # (last name of the receiver, method)
    functions: set[str] = field(default_factory=set)  # plain f(...) calls
    # names whose items are read, ``X[...]``: a registry's class or function taken out to be used
    # (``cls = EXPERIMENTS[kind]; cls.from_checkpoint(...)``) counts as a use of what it holds
    picked: set[str] = field(default_factory=set)
    keywords: set[str] = field(default_factory=set)  # keyword argument names of every call
    peft_names: set[str] = field(default_factory=set)  # local names bound to something from peft
    unsloth: bool = False  # imports unsloth, whose FastLanguageModel.get_peft_model wraps with peft
    imports: dict[str, str] = field(default_factory=dict)  # local name -> imported qualname
    depth: int = 0
    # How each module-level name is bound, for a module imported by the analysed file: by a def
    # or class unit, by an import (its qualname), or by other code ("flow": the module's
    # statements must run to know it).
    bindings: dict[str, tuple[str, object]] = field(default_factory=dict)
    # the full names of its module-level ``import a.b`` statements (the binding is only ``a``)
    module_imports: list[str] = field(default_factory=list)
    # the modules of its module-level ``from m import *`` statements, in order (``.modeling``)
    star_modules: list[str] = field(default_factory=list)
    # ``save(x, ...)`` calls whose ``x`` is not plainly a state dict (``m.state_dict()``, a dict
    # display): a whole object may be saved
    saves_whole: bool = False
    # ``load_state_dict(sd, strict=<not True>)`` or ``load_state_dict`` taken as a value (its
    # ``strict`` is then given where it is called): a load that may not be strict
    loads_non_strict: bool = False
    # module-level defs named other than in a call (``HOOKS = {"end": restore}``, ``run(save)``),
    # and methods read other than in a call (``stages = [self.load, self.train]``): a call of
    # something unknown may run them
    taken: set[str] = field(default_factory=set)
    # names whose attributes are read other than in a call (``PHASES = (bootstrap.init, ...)``): an
    # imported module's functions taken as values, which a call of something unknown may run
    taken_from: set[str] = field(default_factory=set)

    def calls_with_keyword(self, name: str) -> bool:
        return name in self.keywords

    def calls_named(self, names: frozenset[str]) -> bool:
        """Some ``f(...)`` or ``x.f(...)`` call with ``f`` in ``names``."""
        if not names.isdisjoint(self.functions) or any(attr in names for _, attr in self.methods):
            return True
        # ``from peft import prepare_model_for_kbit_training as prep``: ``prep(...)`` is that call
        return any(self.imports.get(f, "").rsplit(".", 1)[-1] in names for f in self.functions if f in self.imports)

    def calls_method(self, name: str) -> bool:
        """Some ``x.name(...)`` call, or ``x.name`` taken as a value."""
        return any(attr == name for _, attr in self.methods)

    def peft_call(self, wanted: Callable[[str], bool]) -> bool:
        """A call of a name peft exports: ``LoraConfig(...)``, ``peft.IA3Config(...)``, an alias of one."""
        if any(wanted(attr) and (owner in self.peft_names or owner == "peft") for owner, attr in self.methods):
            return True
        return any(
            self.imports.get(f, "").startswith("peft.") and wanted(self.imports[f].rsplit(".", 1)[-1])
            for f in self.functions
            if f in self.imports
        )

    def peft_method(self, method: str) -> bool:
        """A ``X.method(...)`` call where X names a peft class (``PeftModel``, an alias, ``peft.X``)."""
        return any(attr == method and ("Peft" in owner or owner in self.peft_names) for owner, attr in self.methods)


def parse_python(text: str, filename: str = "<peftlint>") -> ast.Module:
    """CPython's parser, its SyntaxWarnings (an invalid escape, ``is`` with a literal) silenced:
    they are the user's business, not a linter's output. Raises what ``compile`` raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile(text, filename, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)  # type: ignore[return-value]


# Deeper code (a sum of thousands of terms is that deep in either tree) overflows the stacks of
# libcst's parser and of the interpreter: it is analysed in a process with big ones.
MAX_DEPTH = 150


def libcst_accepts(text: str, max_depth: int = MAX_DEPTH) -> bool:
    """Whether libcst's parser, whose grammar is not the running interpreter's (3.12 f-strings
    under 3.11), accepts code CPython refused; code nested deeper than ``max_depth`` brackets
    (strings not told apart: an over-estimate) is refused unparsed, as it would overflow it."""
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth = max(depth - 1, 0)
    if deepest > max_depth:
        return False
    import libcst as cst

    try:
        cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError, MemoryError):
        return False
    return True


def screen(tree: ast.Module, lines: list[str]) -> Screen:
    """``lines``: the text's lines (without their endings), to see where a class body starts."""
    result = Screen(units=[])
    result.units = _units(tree.body, lines, member=False)
    result.bindings = _bindings(tree.body, result.units)
    result.module_imports = [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names if "." in a.name]
    result.star_modules = [
        "." * n.level + (n.module or "")
        for n in tree.body
        if isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
    ]
    functions = frozenset(unit.name for unit in result.units if unit.name and unit.kind == DEF)
    classes = frozenset(unit.name for unit in result.units if unit.name and unit.kind == CLASS)
    methods = frozenset(m.name for unit in result.units for m in unit.members if m.name and m.kind == DEF)
    for unit, node in _walk_units(result.units, tree.body, lines):
        _scan(node, unit, result, functions, classes, methods)
        result.depth = max(result.depth, unit.depth)
    for unit in result.units:
        if unit.kind == DEF and unit.name and _registered(unit, result.bindings):
            result.taken.add(unit.name)  # ``@on("after_val")``: handed to code of the run that may keep it
    return result


def _registered(unit: Unit, bindings: dict[str, tuple[str, object]]) -> bool:
    """A module-level def whose decorator is the file's own (a def, or an object it made:
    ``@on("after_val")``, ``@MODELS.register("lora")``) or imported from outside the libraries:
    the decorator may file the def in a table that is called later, so it is taken as a value."""
    for name in (*sorted(unit.decorator_roots), *sorted(unit.decorators)):
        how, what = bindings.get(name, ("", None))
        if how in ("unit", "flow") or (how == "import" and not is_library(str(what), None)):
            return True
    return False


def _start(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", ())
    return min([node.lineno, *(d.lineno for d in decorators)])


def _units(body: list[ast.stmt], lines: list[str], member: bool) -> list[Unit]:
    """Defs and classes are units of their own; the statements between them are grouped. Only
    simple statements can share a line (``a = 1; b = 2``), and those are grouped anyway."""
    units: list[Unit] = []
    for node in body:
        start, end = _start(node), node.end_lineno or node.lineno
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            units.append(Unit(DEF, start, end, node.name, member))
        elif isinstance(node, ast.ClassDef):
            unit = Unit(CLASS, start, end, node.name, member)
            if not member and _splittable(node, lines):
                unit.members = _units(node.body, lines, member=True)
                unit.header_end = unit.members[0].start - 1
            units.append(unit)
        elif units and units[-1].kind == STATEMENTS:
            units[-1].end = max(units[-1].end, end)
        else:
            units.append(Unit(STATEMENTS, start, end, member=member))
    return units


def _bindings(body: list[ast.stmt], units: list[Unit]) -> dict[str, tuple[str, object]]:
    found: dict[str, tuple[str, object]] = {}
    seen: set[str] = set()

    def bind(name: str, how: tuple[str, object]) -> None:
        found[name] = how if name not in seen else ("flow", None)  # bound twice: the flow decides
        seen.add(name)

    by_line = {(unit.name, unit.start): unit for unit in units if unit.kind in (DEF, CLASS)}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            unit = by_line.get((node.name, _start(node)))
            bind(node.name, ("unit", unit) if unit is not None else ("flow", None))
        elif isinstance(node, ast.ImportFrom) and not any(a.name == "*" for a in node.names):
            module = "." * node.level + (node.module or "")
            separator = "" if module.endswith(".") else "."
            for alias in node.names:
                bind(alias.asname or alias.name, ("import", f"{module}{separator}{alias.name}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                bind(local, ("import", alias.name if alias.asname else local))
        else:
            for child in ast.walk(node):
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    bind(child.id, ("flow", None))
                elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    bind(child.name, ("flow", None))
                elif isinstance(child, (ast.Import, ast.ImportFrom)):
                    for alias in child.names:
                        bind(alias.asname or alias.name.split(".")[0], ("flow", None))
    return found


def _splittable(node: ast.ClassDef, lines: list[str]) -> bool:
    """A class whose every member starts a line of its own (not ``class C: x = 1``)."""
    header: list[ast.expr | ast.keyword] = [*node.bases, *node.keywords]
    previous_end = max([_start(node), *(n.end_lineno or n.lineno for n in header)])
    previous: ast.stmt | None = None
    for member in node.body:
        start = _start(member)
        if start <= previous_end and _simple(previous) and _simple(member):
            previous_end = max(previous_end, member.end_lineno or member.lineno)
            continue  # `a = 1; b = 2`: one unit of statements
        if start <= previous_end or start > len(lines):
            return False
        text = lines[start - 1]
        if getattr(member, "decorator_list", None):
            own_line = text.lstrip().startswith("@")
        else:
            prefix = text.encode("utf-8")[: member.col_offset].decode("utf-8", errors="replace")
            own_line = member.col_offset > 0 and not prefix.strip()
        if not own_line:
            return False
        previous_end = member.end_lineno or member.lineno
        previous = member
    return bool(node.body)


def _simple(node: ast.stmt | None) -> bool:
    return node is not None and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))


def _walk_units(units: list[Unit], body: list[ast.stmt], lines: list[str]) -> list[tuple[Unit, ast.AST]]:
    """Pair each unit with the AST statements it covers (a split class: its header and members)."""
    pairs: list[tuple[Unit, ast.AST]] = []
    index = 0
    for unit in units:
        while index < len(body) and _start(body[index]) <= unit.end:
            node = body[index]
            if unit.members and isinstance(node, ast.ClassDef):
                header = ast.ClassDef(
                    name=node.name,
                    bases=node.bases,
                    keywords=node.keywords,
                    body=[],
                    decorator_list=node.decorator_list,
                )
                pairs.append((unit, header))
                pairs += _walk_units(unit.members, node.body, lines)
            else:
                pairs.append((unit, node))
            index += 1
    return pairs


# Per node type, the fields that can hold child nodes (not ``ctx`` and operators).
_SKIPPED_FIELDS = frozenset({"ctx", "op", "ops", "type_comment", "kind"})
_STRING_LISTS = {ast.Global: "names", ast.Nonlocal: "names", ast.MatchClass: "kwd_attrs"}
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _scan(
    root: ast.AST,
    unit: Unit,
    result: Screen,
    functions_defined: frozenset[str] = frozenset(),
    classes: frozenset[str] = frozenset(),
    methods_defined: frozenset[str] = frozenset(),
) -> None:
    """One walk over every node, without recursion (so no tree is too deep for it). The names
    the file's module-level defs and classes bind are given."""
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    calls, methods, functions = unit.calls, result.methods, result.functions
    first = None
    loads: set[int] = set()  # the ``func`` of each ``load_state_dict(...)`` call met
    called: set[int] = set()  # the ``func`` of each ``f(...)`` call met
    is_def = unit.kind == DEF
    module_level = unit.kind == STATEMENTS and not unit.member
    if is_def and isinstance(root, (ast.FunctionDef, ast.AsyncFunctionDef)):
        unit.parameters = tuple(a.arg for a in (*root.args.posonlyargs, *root.args.args))
        unit.decorators = _decorator_names(root)
        unit.decorator_roots = _decorator_roots(root)
        first = unit.parameters[0] if unit.parameters else None
    elif unit.kind == CLASS and isinstance(root, ast.ClassDef):  # ``@saver("pickle") class PickleSaver``
        unit.decorators = _decorator_names(root)
    deepest = unit.depth
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
        kind = type(node)
        if is_def and kind in _EFFECT_KINDS:
            _effects(node, kind, unit, first, root)
        if kind is ast.Call:
            result.keywords.update(k.arg for k in node.keywords if k.arg)  # type: ignore[attr-defined]
            func = node.func  # type: ignore[attr-defined]
            called.add(id(func))
            if type(func) is ast.Attribute:
                methods.add((_last_name(func.value), func.attr))
                calls.add(func.attr)
                if type(func.value) is ast.Name:
                    unit.owners.add(func.value.id)
            elif type(func) is ast.Name:
                functions.add(func.id)
                calls.add(func.id)
                if func.id not in functions_defined and func.id not in classes and func.id not in _BUILTINS:
                    unit.dynamic.add(func.id)
            else:
                unit.indirect = True
                held = func.value if type(func) is ast.Subscript else None
                while type(held) is ast.Attribute:
                    held = held.value
                if type(held) is ast.Name:  # ``TRAINERS[name](...)``, ``Exporter.registry[fmt](...)``:
                    functions.add(held.id)  # a call of what TRAINERS (or Exporter) holds
                    calls.add(held.id)
            if _last_name(func) == "save" and not result.saves_whole:
                result.saves_whole = _may_save_whole(node)  # type: ignore[arg-type]
            elif _last_name(func) == "load_state_dict":
                loads.add(id(func))
                result.loads_non_strict = result.loads_non_strict or _may_be_non_strict(node)  # type: ignore[arg-type]
        elif kind is ast.Attribute:
            # ``load = PeftModel.from_pretrained`` or ``restore = model.load_state_dict``: a
            # method taken to be called under another name counts as called (its func is seen
            # here too, once more, when it is called directly)
            methods.add((_last_name(node.value), node.attr))  # type: ignore[attr-defined]
            calls.add(node.attr)  # type: ignore[attr-defined]
            if node.attr in methods_defined and id(node) not in called:  # type: ignore[attr-defined]
                result.taken.add(node.attr)  # type: ignore[attr-defined]  # ``("load", self.load)``
            if id(node) not in called and type(node.value) is ast.Name:  # type: ignore[attr-defined]
                result.taken_from.add(node.value.id)  # type: ignore[attr-defined]
            if node.attr == "load_state_dict" and id(node) not in loads:  # type: ignore[attr-defined]
                result.loads_non_strict = True
        elif kind is ast.Subscript:
            held = node.value  # type: ignore[attr-defined]
            if type(held) is ast.Name and type(node.ctx) is ast.Load:  # type: ignore[attr-defined]
                result.picked.add(held.id)
                calls.add(held.id)
        elif kind is ast.Name:
            if id(node) not in called and type(node.ctx) is ast.Load:  # type: ignore[attr-defined]
                # a def of the file, or an imported one kept by module-level code (``RUNNERS =
                # {"eval": EvalRunner}``, not ``isinstance(m, PeftModel)`` in a def)
                if node.id in functions_defined or (module_level and node.id in result.imports):  # type: ignore[attr-defined]
                    result.taken.add(node.id)  # type: ignore[attr-defined]
        elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            calls.update(_peft_annotations(node))  # type: ignore[arg-type]
        elif kind is ast.ImportFrom:
            module = "." * node.level + (node.module or "")  # type: ignore[attr-defined]
            for alias in node.names:  # type: ignore[attr-defined]
                local = alias.asname or alias.name
                result.imports[local] = f"{module}.{alias.name}"
                if module.split(".")[0] == "peft":
                    result.peft_names.add(local)
                result.unsloth = result.unsloth or module.split(".")[0] == "unsloth"
        elif kind is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                local = alias.asname or alias.name.split(".")[0]
                result.imports[local] = alias.name if alias.asname else local
                if alias.name.split(".")[0] == "peft":
                    result.peft_names.add(local)
                result.unsloth = result.unsloth or alias.name.split(".")[0] == "unsloth"
        fields = _CHILD_FIELDS.get(kind)
        if fields is None:
            skipped = _SKIPPED_FIELDS | {_STRING_LISTS.get(kind, "")}  # type: ignore[call-overload]
            fields = _CHILD_FIELDS[kind] = tuple(f for f in getattr(kind, "_fields", ()) if f not in skipped)
        # libcst nests ``a and b and c`` one operator deep per term where CPython keeps it flat
        below = depth + (len(node.values) if kind is ast.BoolOp else 1)  # type: ignore[attr-defined]
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list:
                stack.extend([(item, below) for item in value if item is not None])
            elif isinstance(value, ast.AST):
                stack.append((value, below))
    unit.depth = deepest
    if is_def and isinstance(root, (ast.FunctionDef, ast.AsyncFunctionDef)):
        unit.never_returns = not unit.returns and _ends_in_exit(root.body)


_BUILTINS = frozenset(dir(builtins))

_EFFECT_KINDS = frozenset(
    {ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Global, ast.Return, ast.Yield, ast.YieldFrom,
     ast.Assign, ast.AugAssign, ast.AnnAssign}
)  # fmt: skip


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> set[str]:
    """The last names of a def's or class's decorators (``staticmethod``, ``fixture``, ``saver``)."""
    return {_last_name(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list}


def _decorator_roots(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The objects a def's decorators are methods of: ``MODELS`` of ``@MODELS.register("lora")``."""
    roots = set()
    for decorator in node.decorator_list:
        dotted = _dotted(decorator.func if isinstance(decorator, ast.Call) else decorator)
        if dotted is not None and "." in dotted:
            roots.add(dotted.partition(".")[0])
    return roots


def _effects(node: ast.AST, kind: type, unit: Unit, first: str | None, root: ast.AST) -> None:
    """What a def can change or give back, as far as its caller can see without analysing it."""
    if kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda) and node is not root:
        unit.returns.add(None)  # a nested def's returns are not told apart from the def's own
    elif kind is ast.Global:
        unit.globals.update(node.names)  # type: ignore[attr-defined]
    elif kind is ast.Return:
        value = node.value  # type: ignore[attr-defined]
        unit.returns.add(_dotted(value) if value is not None else "None")
    elif kind is ast.Yield or kind is ast.YieldFrom:
        unit.returns.add(None)
    elif kind in (ast.Assign, ast.AugAssign, ast.AnnAssign) and first is not None:
        targets = node.targets if kind is ast.Assign else [node.target]  # type: ignore[attr-defined]
        for target in targets:
            held = target.value if isinstance(target, ast.Subscript) else None
            if isinstance(held, ast.Attribute) and isinstance(held.value, ast.Name) and held.value.id == first:
                unit.stores_on_self.add(held.attr)  # the container is the same one, with more in it
                continue
            for leaf in ast.walk(target):
                if isinstance(leaf, ast.Attribute) and isinstance(leaf.value, ast.Name) and leaf.value.id == first:
                    unit.sets_on_self.add(leaf.attr)


def _may_save_whole(call: ast.Call) -> bool:
    """``save(x, f)`` where ``x`` may be a whole object, not plainly a state dict or a dict."""
    saved = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "obj"), None)
    spread = any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords)
    if len(call.args) < 2 and not spread and not any(k.arg == "f" for k in call.keywords):
        return False  # ``torch.save(obj, f)`` names a file; ``card.save(path)`` is another save
    if saved is None or isinstance(saved, (ast.Dict, ast.DictComp, ast.List, ast.Tuple, ast.Constant)):
        return False
    if isinstance(saved, ast.Call) and _last_name(saved.func) in ("state_dict", "get_peft_model_state_dict"):
        return False
    return True


def _may_be_non_strict(call: ast.Call) -> bool:
    """``load_state_dict(...)`` given a ``strict`` that is not plainly ``True`` (left out, it is
    ``True``): a positional second argument, a ``strict=`` keyword, or ``**kwargs``."""
    if len(call.args) > 1 or any(isinstance(a, ast.Starred) for a in call.args):
        given = call.args[1] if len(call.args) > 1 else None
        return not (isinstance(given, ast.Constant) and given.value is True)
    for keyword in call.keywords:
        if keyword.arg is None or keyword.arg == "strict":
            return not (isinstance(keyword.value, ast.Constant) and keyword.value.value is True)
    return False


def _dotted(node: ast.AST) -> str | None:
    """``model`` -> "model", ``self.model`` -> "self.model"; anything else -> None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None


_EXITS = frozenset({"exit", "quit", "_exit", "abort"})


def _ends_in_exit(body: list[ast.stmt]) -> bool:
    """Every path through ``body`` ends in ``raise`` or ``sys.exit(...)`` (the caller knows no
    ``return`` or ``yield`` is in it)."""
    if not body:
        return False
    last = body[-1]
    if isinstance(last, ast.Raise):
        return True
    if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call):
        return _last_name(last.value.func) in _EXITS
    if isinstance(last, ast.If):
        return _ends_in_exit(last.body) and _ends_in_exit(last.orelse)
    return False


def _peft_annotations(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """Peft class names a def's parameters are annotated with (``model: PeftModel`` makes a PEFT
    model without a call): counted with the names it calls, so the def is analysed."""
    arguments = node.args
    found = []
    for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
        annotation = arg.annotation
        name = getattr(annotation, "id", None) or getattr(annotation, "attr", None)
        if isinstance(name, str) and "Peft" in name:
            found.append(name)
    return found


def _last_name(node: ast.AST) -> str:
    """``peft.PeftModel`` -> "PeftModel"; ``model`` -> "model"; anything else -> ""."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""
