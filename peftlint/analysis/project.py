"""The run as a whole: modules of the run that a file imports, and pytest fixtures.

``from utils import build_model`` in train.py resolves against utils.py beside it (or in a
package above it, or among the run's files); the imported module is evaluated once, quietly,
for its bindings (its ``if __name__ == "__main__":`` block does not run, as on a real import),
and its functions are then inlined like the file's own. Every file read this way is recorded,
so the results cache knows a file's findings depend on it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from peftlint.analysis import names
from peftlint.analysis.frames import Function, ModuleScope
from peftlint.analysis.prescreen import Screen
from peftlint.analysis.reach import Reach
from peftlint.analysis.registry import PEFT_HELPER_CALLS
from peftlint.analysis.values import Kind, Value, Values
from peftlint.modules import conftest_folders, find_module, modules_of

if TYPE_CHECKING:
    import libcst as cst

    from peftlint.analysis.interpreter import Interpreter
    from peftlint.analysis.units import Source

MAX_MODULE_BYTES = 2_000_000
SMALL_CLASS_BYTES = 2_000  # a settings or constants class, read for its attributes
_DOCS = re.compile(rb'[ \t]*(?:"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|#[^\n]*)')
SMALL_DEF_BYTES = 600  # a helper that computes a path or a setting, read for what it returns
SMALL_INIT_BYTES = 4_000  # a package ``__init__`` whose imports fill a registry, not a library's lazy table
MAX_FIXTURE_DEPTH = 6  # fixtures of fixtures, as deep as a real conftest chains them
MAX_DEPTH = 150  # deeper code is analysed only in a process of its own (see engine.py)
FIXTURE_DECORATORS = frozenset({"pytest.fixture", "pytest_asyncio.fixture"})


class Project:
    def __init__(self, run_files: Sequence[str] = ()) -> None:
        self.run_files = tuple(run_files)
        self.scopes: dict[str, ModuleScope | None] = {}
        self.loading: set[str] = set()
        self.evaluating: set[tuple[str, str]] = set()  # (module, name) of lazily bound units under way
        self.read: dict[str, bytes] = {}  # files read for their bindings: the cache depends on them
        self.screens: dict[str, Screen] = {}
        self.fixture_depth = 0
        self.found = _found_in(self.run_files)  # (module, importer's directory) -> file
        self.makers: dict[tuple[str, str], bool] = {}
        # every module source the analysis of this file used, held to its end: the analysis keys
        # caches and values by ``id()`` of libcst nodes, so no tree may be freed (and its addresses
        # reused) while the file is analysed, even after its scope is dropped or its source evicted
        self.pinned: dict[str, Source] = {}

    # ----------------------------------------------------------------- modules
    def resolve(
        self, qualname: str, importer: str, interpreter: Interpreter, calling: bool = False, makers: bool = False
    ) -> Values | None:
        """What ``qualname`` (as imported in ``importer``) is, if a module of the run defines it.
        ``calling``: it is about to be called; a module that makes no call a rule needs is then
        not parsed (a constant, or a package's re-export, is still read)."""
        parts = qualname.lstrip(".").split(".")
        dots = len(qualname) - len(qualname.lstrip("."))
        if names.is_library(qualname, importer):
            return None
        for split in range(len(parts) - 1, -1 if dots else 0, -1):  # ``from . import f``: the package itself
            module = "." * dots + ".".join(parts[:split])
            path = self.find_module(module, importer)
            if path is None:
                continue
            # a module that makes no needed call is not parsed for a call into it, unless what is
            # called is only passed through (a package's ``__init__``, ``from peft import
            # PeftModel`` in a compat module): it is followed to where it is defined
            # a small class is read whatever it calls: ``TrainSettings().ckpt_path`` is its data
            gate = (
                calling
                and not path.endswith("__init__.py")
                and not self.imports_name(path, parts[split])
                and not self.small_definition(path, parts[split])
            )
            if (
                makers
                and calling
                and not self.makes_peft_models(path, parts[split])
                and not self.small_definition(path, parts[split])
            ):
                return None
            scope = self.load(path, module, interpreter, gate)
            if scope is None:
                return None
            values = self.value_of(scope, parts[split], interpreter)
            if values is None:
                return None
            if split == len(parts) - 1:  # a module constant: the same one wherever it is imported
                constant = f"{path}:{parts[split]}"
                values = frozenset(v.updated(constant=constant) if v.kind is Kind.STRING else v for v in values)
            for attribute in parts[split + 1 :]:
                values = interpreter.attribute_of(values, attribute, None)  # type: ignore[arg-type]
            return values
        return None

    def place_of(self, qualname: str, importer: str) -> str | None:
        """``path:NAME`` for a module-level name of a module of the run, as ``qualname`` (imported
        in ``importer``, relatively or not) names it: one place whatever the import's spelling."""
        parts = qualname.lstrip(".").split(".")
        dots = len(qualname) - len(qualname.lstrip("."))
        if len(parts) < 2 - bool(dots) or names.is_library(qualname, importer):
            return None
        path = self.find_module("." * dots + ".".join(parts[:-1]), importer)
        return f"{path}:{parts[-1]}" if path is not None else None

    def module_scope(self, qualname: str, importer: str, interpreter: Interpreter) -> ModuleScope | None:
        """The scope of a module of the run that ``import qualname`` names in ``importer``."""
        if names.is_library(qualname, importer):
            return None
        path = self.find_module(qualname, importer)
        return self.load(path, qualname, interpreter) if path is not None else None

    def find_module(self, dotted: str, importer: str) -> str | None:
        key = (dotted, os.path.dirname(importer))
        if key not in self.found:
            self.found[key] = find_module(dotted, importer, _modules_of(self.run_files))
        return self.found[key]

    def load(self, path: str, name: str, interpreter: Interpreter, gate: bool = False) -> ModuleScope | None:
        key = os.path.abspath(path)
        if key in self.scopes:
            return self.scopes[key]
        if gate and interpreter.reach is not None and not self.makes_needed_calls(key, interpreter.reach.producers):
            return None
        if key in self.loading:
            return None  # an import cycle: the module is half-evaluated
        self.loading.add(key)
        try:
            source = self.source(key)
            if source is None:
                self.scopes[key] = None
                return None
            scope = ModuleScope(path=key, source=source, name=name.lstrip(".") or "module", imported=True)
            screened = self.screens.get(key)
            if interpreter.reach is not None and screened is not None:
                scope.reach = Reach(screened, interpreter.reach.triggers, interpreter.reach.producers)
            if screened is not None:
                scope.lazy = True
                interpreter.module_frame(scope)
            else:
                interpreter.evaluate_imported(scope)
            self.scopes[key] = scope
            return scope
        finally:
            self.loading.discard(key)

    def value_of(self, scope: ModuleScope, name: str, interpreter: Interpreter) -> Values | None:
        """A module-level name of an imported module (bound now if the module is lazy)."""
        frame = scope.frame
        if frame is None or frame.state is None:
            return None
        if name not in frame.state and scope.lazy:
            self.bind_lazily(scope, name, interpreter)
        return frame.state.get(name) if frame.state is not None else None

    def bind_lazily(self, scope: ModuleScope, name: str, interpreter: Interpreter) -> None:
        """Bind one name of a lazy module the way its pre-screen says it is bound."""
        screened = self.screens.get(scope.path)
        how = screened.bindings.get(name) if screened is not None else ("flow", None)
        if how is None and screened is not None and not name.startswith("_"):
            how = self.star_binding(scope, screened.star_modules, name)
        if how is None or scope.frame is None or scope.frame.state is None:
            return
        kind, what = how
        if kind == "import":
            scope.frame.state[name] = interpreter.import_value_for(str(what), scope)
        elif kind == "unit" and scope.key not in self.loading and (scope.key, name) not in self.evaluating:
            # (one name at a time: ``class ArtifactWriter(_PathMixin)`` evaluates ``_PathMixin``,
            # another unit of the same module, on the way; a def or class that needs itself does not)
            self.evaluating.add((scope.key, name))
            try:
                interpreter.evaluate_unit(scope, what)
            finally:
                self.evaluating.discard((scope.key, name))
        elif kind == "flow":
            scope.lazy = False
            interpreter.evaluate_imported(scope)

    def star_binding(self, scope: ModuleScope, modules: list[str], name: str) -> tuple[str, object] | None:
        """``from .modeling import *`` in a package's ``__init__``: a public name one of those
        modules of the run binds (the last such import wins, as it does when the module runs)."""
        for module in reversed(modules):
            if names.is_library(module, scope.path):
                continue
            path = self.find_module(module, scope.path)
            if path is not None and path not in self.screens:
                self.source(path)  # read and pre-screened (kept for every file of the run)
            other = self.screens.get(path) if path is not None else None
            if other is not None and name in other.bindings:
                separator = "" if module.endswith(".") else "."
                return ("import", f"{module}{separator}{name}")
        return None

    def makes_needed_calls(self, path: str, calls: frozenset[str]) -> bool:
        """Whether a module's text makes any of ``calls`` (a bytes scan; the module is recorded
        as read, for the cache, either way)."""
        data = self._bytes(path)
        if data is None:
            return False
        self.read[path] = data
        # asked of one module by every file of the run that imports it: scanned once (the answer
        # is kept, not the bytes)
        key = (path, len(data), hash(data), calls)
        known = _MAKES.get(key)
        if known is None:
            known = _MAKES[key] = _makes_any(data, calls)
        return known

    def imports_name(self, path: str, name: str) -> bool:
        """Whether ``name`` is a word on the module's top-level import lines (a bytes scan)."""
        data = self._bytes(path)
        return data is not None and name in _top_level(data)[1]

    def small_definition(self, path: str, name: str) -> bool:
        """Whether the module's top-level ``name`` is a class of a few lines, or a def of fewer (a
        bytes scan): a settings class is its data, a short def computes a value its caller uses
        (``ema_weights(root, name)`` returns the path both scripts save to and load from)."""
        data = self._bytes(path)
        if data is None:
            return False
        where = _top_level(data)[0].get(name)
        if where is None:
            return False
        if data.startswith(b"class", where[0]):
            return where[1] - where[0] <= SMALL_CLASS_BYTES
        # (its docstring and comments do not count: a well-documented path helper is still short)
        return len(_DOCS.sub(b"", data[where[0] : where[1]])) <= SMALL_DEF_BYTES

    def makes_peft_models(self, path: str, name: str) -> bool:
        """Whether the module's top-level def (or class) ``name`` makes a PEFT model in its own
        text (``get_peft_model(...)``, a peft class's ``from_pretrained``): such a helper changes
        what its caller holds whatever it is given. A bytes scan of the def's lines; a name the
        module imports (a re-export) is followed to its own module."""
        if (path, name) not in self.makers:
            self.makers[path, name] = self._makes_peft_models(path, name)
        return self.makers[path, name]

    def _makes_peft_models(self, path: str, name: str) -> bool:
        data = self._bytes(path)
        if data is None:
            return False
        self.read[path] = data
        defs, imported = _top_level(data)
        where = defs.get(name)
        if where is None:  # re-exported (followed to where it is defined), or not a def at all
            return name in imported
        return bool(_MAKERS.search(data, *where))

    def may_register(self, path: str) -> bool:
        """Whether importing the module may fill a registry with what makes PEFT models, by a bytes
        scan: a small package ``__init__`` (its own imports run), or a module with a top-level
        decorator call (``@register("lora")``) and a call that makes PEFT models. A library's
        modules, imported by the hundred, are not loaded for their import effects."""
        data = self._bytes(path)
        if data is None:
            return False
        self.read[path] = data  # the answer depends on its bytes: so does the cached result
        if os.path.basename(path) == "__init__.py":
            return len(data) <= SMALL_INIT_BYTES
        key = (path, len(data), hash(data))  # (asked for every import, of the same modules)
        if key not in _REGISTERS:
            _REGISTERS[key] = bool(_DECORATOR_CALL.search(data)) and bool(_MAKERS.search(data))
        return _REGISTERS[key]

    def _bytes(self, path: str) -> bytes | None:
        try:
            status = os.stat(path)
        except OSError:
            return None
        if status.st_size > MAX_MODULE_BYTES:
            return None
        key = (path, status.st_size, status.st_mtime_ns)
        cached = _SOURCES.get(key)
        if cached is not None:
            return cached[0]
        data = _TEXTS.get(key)
        if data is None:
            try:
                with open(path, "rb") as handle:
                    data = _TEXTS[key] = handle.read()
                while len(_TEXTS) > MAX_SHARED_SOURCES:
                    _TEXTS.pop(next(iter(_TEXTS)))
            except OSError:
                return None
        return data

    def source(self, path: str) -> Source | None:
        """An imported module's source, pre-screened; parsed trees are shared by every file this
        process analyses (a library module imported by a hundred files is parsed once)."""
        try:
            status = os.stat(path)
        except OSError:
            return None
        key = (path, status.st_size, status.st_mtime_ns)
        cached = _SOURCES.get(key)
        if cached is None:
            cached = _SOURCES[key] = _read_module(path, status.st_size)
            _TEXTS.pop(key, None)
            while len(_SOURCES) > MAX_SHARED_SOURCES:
                _SOURCES.pop(next(iter(_SOURCES)))
        data, source, prescreened = cached
        if source is not None:
            self.pinned[path] = source
        if data is not None:
            self.read[path] = data
        if prescreened is not None:
            self.screens[path] = prescreened
        return source

    # ----------------------------------------------------------------- pytest fixtures
    def fixture(self, function: Function, param: cst.Param, interpreter: Interpreter) -> Values | None:
        """A test's (or a fixture's) parameter is the value of the fixture of that name: the
        module's own, else the nearest conftest.py's."""
        if not (function.name.startswith("test") or FIXTURE_DECORATORS & set(function.decorators or ())):
            return None
        name = param.name.value
        if self.fixture_depth >= MAX_FIXTURE_DEPTH or name in ("self", "request", "cls"):
            return None
        candidates: list[Values] = []
        module_frame = function.parent.module_frame()
        own = self.value_of(module_frame.module, name, interpreter) if module_frame.module.lazy else None
        if own is None and module_frame.state is not None and name in module_frame.state:
            own = module_frame.state[name]
        if own is not None:
            candidates.append(own)
        for directory in conftest_folders(function.parent.module.path):
            conftest = os.path.join(directory, "conftest.py")
            if os.path.isfile(conftest) and os.path.abspath(conftest) != function.parent.module.path:
                scope = self.load(conftest, "conftest", interpreter)
                found = self.value_of(scope, name, interpreter) if scope is not None else None
                if found is not None:
                    candidates.append(found)
        for values in candidates:
            fixtures = [v.fact("function") for v in values if v.kind is Kind.FUNCTION and v.fact("function")]
            if len(fixtures) != 1:
                continue
            fixture = fixtures[0]
            if fixture.decorators is None:
                fixture.decorators = interpreter.function_decorators(fixture)
            if not FIXTURE_DECORATORS & set(fixture.decorators):
                continue
            return self.run_fixture(fixture, interpreter, function, param)
        return None

    def run_fixture(self, fixture: Function, interpreter: Interpreter, test: Function, param: cst.Param) -> Values:
        """pytest calls the fixture for the parameter ``param`` of ``test``: that parameter is
        where the call chain says it is called."""
        from peftlint.analysis.callsite import CallSite

        self.fixture_depth += 1
        saved_unit = interpreter.unit
        try:
            kwargs = {p.name.value: interpreter.parameter_values(fixture, p) for p in fixture.params()}
            interpreter.unit = test.unit
            site = CallSite.implied(interpreter, param, unit=test.unit, statement=None, kwargs=kwargs)
            return interpreter.inline(fixture, site, None, None)
        finally:
            interpreter.unit = saved_unit
            self.fixture_depth -= 1


@lru_cache(maxsize=2)
def _modules_of(run_files: tuple[str, ...]) -> dict[str, list[str]]:
    """The run's files by every dotted name they could be imported as (built once per run)."""
    return modules_of(run_files)


_SOURCES: dict[tuple[str, int, int], tuple[bytes | None, Source | None, Screen | None]] = {}
_TEXTS: dict[tuple[str, int, int], bytes] = {}
# modules kept read and screened across the files of a process: 24 holds a trainer's imports; at 48
# each worker held ~8 MB more on the bench corpus for 5 fewer parses of 330
MAX_SHARED_SOURCES = 24
_REGISTERS: dict[tuple[str, int, int], bool] = {}  # may_register's answers, by module bytes
# find_module's answers for one run's files, shared by the files a process analyses: the run's
# tuple is held (compared by identity, so never a freed one's address); a new run starts afresh
_FOUND: list[Any] = [None, {}]


def _found_in(run_files: tuple[str, ...]) -> dict[tuple[str, str], str | None]:
    if not run_files:
        return {}  # no run named (a file analysed on its own): nothing to share
    if _FOUND[0] is not run_files:
        _FOUND[:] = [run_files, {}]
    return _FOUND[1]  # type: ignore[no-any-return]


@lru_cache(maxsize=8)
def _call_pattern(calls: frozenset[str]) -> re.Pattern[bytes]:
    names = b"|".join(re.escape(name.encode()) for name in sorted(calls))
    return re.compile(rb"\b(?:" + names + rb"|\w*Peft\w*)\s*\(")


_TOP_LEVEL = re.compile(rb"^(?:(@)|(?:async[ \t]+)?(?:def|class)[ \t]+(\w+))", re.M)
_IMPORT_LINE = re.compile(rb"^[ \t]*(?:from|import)\b[^\n]*", re.M)


@lru_cache(maxsize=64)
def _top_level(data: bytes) -> tuple[dict[str, tuple[int, int]], frozenset[str]]:
    """A module's top-level defs and classes (name -> byte range, decorators before the next
    one ending it) and the words on its import lines, from one pass over its bytes."""
    defs: dict[str, tuple[int, int]] = {}
    marks = list(_TOP_LEVEL.finditer(data))
    for index, mark in enumerate(marks):
        if mark.group(2) is not None:
            end = marks[index + 1].start() if index + 1 < len(marks) else len(data)
            defs.setdefault(mark.group(2).decode("utf-8", "replace"), (mark.start(), end))
    words = {w.decode() for line in _IMPORT_LINE.findall(data) for w in re.findall(rb"\w+", line)}
    return defs, frozenset(words)


# A call that makes a PEFT model: peft's helpers (the registry's list), or a peft class or its
# ``from_pretrained`` (``PeftModel.from_pretrained(``). Not any ``from_pretrained``: following every
# helper that loads a base model from a def analysed on its own loads much of a library's code
# (+23 MB and about 15 % more time on the benchmark corpus), for a rare PEFT005 only.
_MAKERS = re.compile(
    rb"\b(?:"
    + b"|".join(re.escape(name.encode()) for name in sorted(PEFT_HELPER_CALLS))
    + rb"|\w*Peft\w*(?:\.from_pretrained)?)\s*\("
)


_DECORATOR_CALL = re.compile(rb"^@[\w.]+\(", re.M)


def _makes_any(data: bytes, calls: frozenset[str]) -> bool:
    return bool(_call_pattern(calls).search(data))


_MAKES: dict[tuple[str, int, int, frozenset[str]], bool] = {}


def _read_module(path: str, size: int) -> tuple[bytes | None, Source | None, Screen | None]:
    from peftlint.analysis.prescreen import libcst_accepts, parse_python, screen
    from peftlint.analysis.units import Source
    from peftlint.sources import SourceError, decode

    if size > MAX_MODULE_BYTES:
        return None, None, None
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        text = decode(path, data).text
    except (OSError, SourceError):
        return None, None, None
    try:
        tree = parse_python(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # a newer grammar than this interpreter's is analysed whole by libcst; a module no grammar
        # accepts is not followed (its own error is its own: the importer is analysed without it)
        return (data, Source(path, text, None), None) if libcst_accepts(text, MAX_DEPTH) else (data, None, None)
    prescreened = screen(tree, text.splitlines())
    if prescreened.depth > MAX_DEPTH:
        return data, None, None
    return data, Source(path, text, prescreened.units), prescreened


__all__ = ["Project", "Value"]
