"""Which files the analysis runs on although they mention none of the rules' tokens: those that
call a helper, imported from a module of the run, that can reach a call some rule reports at
(``from checkpointing import save_checkpoint``: the misuse is in the helper, with what the
caller passes it). Decided on bytes alone."""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from peftlint.analysis.names import is_library
from peftlint.errors import SourceError
from peftlint.modules import conftest_folders, find_module, modules_of
from peftlint.sources import NOTEBOOK_SUFFIX

if TYPE_CHECKING:
    from peftlint.rules.base import Rule

_IMPORT = re.compile(
    rb"^[ \t]*(?:from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(?:\(([^)]*)\)|([\w, \t]+|\*))|import[ \t]+([\w., \t]+))",
    re.MULTILINE,
)  # the names after `import`: a parenthesised list (over several lines, comments in it), or up to the line's end
# (``import a.b, c as d`` too)
_COMMENT = re.compile(rb"#[^\n]*")


def admitted_by_imports(
    contents: Mapping[str, bytes],
    rules: Sequence[type[Rule]],
    wanted_paths: Iterable[str],
    full_text: Callable[[str], bytes | None] | None = None,
) -> dict[str, frozenset[str]]:
    """Per file, the local names it imports that are such helpers, each as ``"CODE:name"`` for
    every rule whose helper calls that helper reaches (the analysis then runs that rule on the
    file if it calls one of them: a trainer module that imports a saving helper is analysed for
    the rule about saves, not for every rule); ``wanted_paths``: the files some rule wants by
    their own tokens; ``full_text``: reads a file of which ``contents`` holds only the header."""
    wanted_paths = set(wanted_paths)
    wanted = {os.path.abspath(path): contents[path] for path in sorted(wanted_paths) if path.endswith(".py")}
    if not wanted:
        return {}
    find = _Finder(modules_of(contents))
    by_triggers: dict[frozenset[str], list[str]] = {}
    for rule in rules:
        by_triggers.setdefault(rule.helper_triggers(), []).append(rule.code)
    groups = sorted(by_triggers.items(), key=lambda item: item[1])
    helpers = _Rules([(tuple(codes), _Helpers(wanted, triggers)) for triggers, codes in groups])
    useful = [path for path in wanted if helpers.any_reaches(path)]  # modules with such a helper
    if not useful:
        return {}
    # a file that never names one of those helpers (nor a module holding one) imports none of them
    words = {name.encode() for path in useful for name in helpers.reaching_defs(path)}
    words |= {_module_word(path) for path in useful}
    candidates, mentions = _word_patterns(words)
    admitted: dict[str, frozenset[str]] = {}
    # a package's ``__init__`` that re-exports a helper (``from .checkpoint import save_checkpoint``)
    # is admitted for it: files importing the helper from the package are, in the next round
    every_header = [
        (path, header_of(data, path) if path in wanted_paths else data[: _first_definition(data)])
        for path, data in contents.items()
    ]  # the others' are headers already
    headers = [(path, header) for path, header in every_header if candidates.search(header)]
    fixtures = _conftest_fixtures(contents, helpers, wanted)
    exports: dict[tuple[str, frozenset[str]], dict[str, frozenset[str]]] = {}  # (the same each round)
    for _ in range(_MAX_REEXPORTS):
        exported = {}
        for path, names in admitted.items():
            if (path, names) not in exports:
                exports[path, names] = _exports(_text(path, contents, full_text), admitted_codes(names))
            exported[os.path.abspath(path)] = exports[path, names]
        if exported:
            # an admitted module's own defs and classes that use a helper are helpers too
            # (``class SummarizationRunner(AdapterIOMixin, BaseRunner)``): so are their importers
            more = {n.encode() for codes in exported.values() for names in codes.values() for n in names}
            more |= {_module_word(path) for path in admitted}
            added = more - words
            if added:  # a header that named the earlier words still does: only the new are looked for
                words |= added
                _, mentions = _word_patterns(words)
                fresh, _ = _word_patterns(added)
                named = {path for path, _ in headers}
                headers = [(path, header) for path, header in every_header if path in named or fresh.search(header)]
        found = {}
        for path, header in headers:
            names = _admitted_names(path, header, helpers, wanted, exported, find, mentions)
            if names:
                found[path] = frozenset(names)
        if found == admitted:
            break
        admitted = found
    for path, names in fixtures.items():
        admitted[path] = admitted.get(path, frozenset()) | names
    return admitted


def under_conftests(headers: Mapping[str, bytes], contents: Mapping[str, bytes]) -> list[str]:
    """The test modules kept as headers that pytest gives the fixtures of a conftest.py some rule
    wants (in their folder or one above): their whole text is needed to see which they ask for."""
    folders = {os.path.dirname(os.path.abspath(path)) for path in contents if os.path.basename(path) == _CONFTEST}
    if not folders:
        return []
    return [path for path in headers if _is_test_module(path) and _conftests_of(path, folders)]


def _conftest_fixtures(
    contents: Mapping[str, bytes], helpers: _Rules, wanted: Mapping[str, bytes]
) -> dict[str, frozenset[str]]:
    """``"CODE:name"`` entries of test modules for the fixtures of their conftest.py files that
    reach a rule's call (``def test_export(lora_model)``, ``lora_model`` made by
    ``get_peft_model`` in conftest.py): pytest passes them by parameter name, no import needed."""
    folders = {os.path.dirname(path) for path in wanted if os.path.basename(path) == _CONFTEST}
    found: dict[str, frozenset[str]] = {}
    if not folders:
        return found
    for path, data in contents.items():
        if not _is_test_module(path):
            continue
        entries: set[str] = set()
        for conftest in _conftests_of(path, folders):
            for codes, group in helpers.groups:
                for name, reaches in group.defs_of(conftest).items():
                    if reaches and re.search(rb"\b" + re.escape(name.encode()) + rb"\b", data):
                        entries |= _entries(codes, name)
        if entries:
            found[path] = frozenset(entries)
    return found


_CONFTEST = "conftest.py"


def _is_test_module(path: str) -> bool:
    name = os.path.basename(path)
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def _conftests_of(path: str, folders: set[str]) -> list[str]:
    """The conftest.py files, among those of ``folders``, whose fixtures a test module gets."""
    return [os.path.join(folder, _CONFTEST) for folder in conftest_folders(path) if folder in folders]


# How many packages deep a helper's re-exports are followed (``pkg/__init__`` of ``pkg/io/__init__``).
_MAX_REEXPORTS = 5


def _admitted_names(
    path: str,
    header: bytes,
    helpers: _Rules,
    wanted: Mapping[str, bytes],
    exported: Mapping[str, Mapping[str, frozenset[str]]],
    find: _Finder,
    mentions: re.Pattern[bytes],
) -> set[str]:
    """The ``"CODE:name"`` entries of one file (see admitted_by_imports), from its import lines
    (those inside defs too)."""
    names: set[str] = set()
    for match in _IMPORT.finditer(header):
        if not mentions.search(match.group()):
            continue  # an import of no wanted module
        dots, module, listed, imported, plain = (g.decode("utf-8", "replace") if g else "" for g in match.groups())
        if not dots and not plain and is_library(module, path):
            continue  # the library itself (peft, transformers...), even where the run holds its source
        if listed:
            imported = _COMMENT.sub(b"", match.group(3)).decode("utf-8", "replace").replace("\n", " ")
        if plain:  # ``import a.b, c as d``: each module, by the name it is bound to
            for module_name, _, alias in (item.strip().partition(" as ") for item in plain.split(",")):
                if not module_name or is_library(module_name.strip(), path):
                    continue
                target = find(module_name.strip(), path)
                if target in wanted:
                    names |= _entries(helpers.any_reaches(target), alias.strip() or module_name.split(".")[0])
            continue
        target = find(dots + module, path)
        if imported == "*":  # ``from helpers import *`` (a notebook's ``%run helpers.py``): every helper
            for name in sorted(helpers.reaching_defs(target) if target in wanted else ()):  # type: ignore[arg-type]
                names |= _entries(helpers.reaches(target, name), name)  # type: ignore[arg-type]
            continue
        items = [item.partition(" as ") for item in (n.strip() for n in imported.split(",")) if item]
        for name, _, alias in items:
            local, name = (alias or name).strip(), name.strip()
            if target is None or target.endswith("__init__.py"):  # ``from package import module``
                dotted = f"{dots}{module}.{name}" if module else f"{dots}{name}"
                submodule = find(dotted, path)
                codes = helpers.any_reaches(submodule) if submodule in wanted else ()  # type: ignore[arg-type]
                if codes:
                    names |= _entries(codes, local)
                    continue
            if target in wanted:
                names |= _entries(helpers.reaches(target, name), local)  # type: ignore[arg-type]
            if target is not None:  # (a wanted module's class may get a helper from a base it imports)
                names |= _entries((c for c, n in exported.get(target, {}).items() if name in n), local)
    return names


class _Finder:
    """find_module for the run's files, each answer kept: the files of one directory import the
    same modules."""

    def __init__(self, run_modules: Mapping[str, list[str]]) -> None:
        self.run_modules = run_modules
        self.found: dict[tuple[str, str], str | None] = {}

    def __call__(self, dotted: str, importer: str) -> str | None:
        key = (dotted, os.path.dirname(importer))
        if key not in self.found:
            self.found[key] = find_module(dotted, importer, self.run_modules)
        return self.found[key]


def _word_patterns(words: set[bytes]) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """An import line naming one of ``words``, and any mention of one."""
    alternatives = b"|".join(re.escape(word) for word in sorted(words))
    # after ``import`` on its line, or in its parenthesised list over several lines
    line = rb"(?:import[^\n]*|import[ \t]*\([^)]*)\b(?:"
    star = rb"|from[ \t]+[\w.]*\b(?:" + alternatives + rb")[ \t]+import[ \t]+\*"  # ``from helpers import *``
    return re.compile(line + alternatives + rb")\b" + star), re.compile(rb"\b(?:" + alternatives + rb")\b")


def _module_word(path: str) -> bytes:
    """The name a module is imported by: its file's, or its package's for an ``__init__``."""
    name = os.path.basename(path).removesuffix(".py")
    return (os.path.basename(os.path.dirname(path)) if name == "__init__" else name).encode()


def _text(path: str, contents: Mapping[str, bytes], full_text: Callable[[str], bytes | None] | None) -> bytes:
    text = full_text(path) if full_text is not None else None
    return text if text is not None else contents[path]


def _exports(data: bytes, codes: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """Per rule, what an admitted module gives its importers: the helpers it imports, and its own
    classes that inherit one (``class SummarizationRunner(AdapterIOMixin, BaseRunner)``: its
    instances have the helper's methods). A library's class of thousands of lines that inherits
    one (``class PreTrainedModel(nn.Module, PeftAdapterMixin)``) is not a helper, as in _Helpers:
    its methods call everything."""
    found: dict[str, frozenset[str]] = {}
    spans = _spans(data)
    ends = {start: end for start, end, keyword, _ in spans if keyword == b"class"}
    # each scan once for every rule: what a small class inherits, and what a module-level name holds
    small_classes = [
        (match.group(1).decode("utf-8", "replace"), set(re.findall(rb"\w+", match.group(2))))
        for match in _CLASS_LINE.finditer(data)
        if ends.get(match.start(), len(data)) - match.start() <= _SMALL_CLASS_BYTES
    ]
    # ``TRAINERS = {cls.name: cls for cls in (LoraTrainer,)}``: a module-level name holding them
    assignments = [
        (match.group(1).decode("utf-8", "replace"), set(re.findall(rb"\w+", match.group(2))))
        for match in _ASSIGNMENT.finditer(data)
    ]
    # ``def get_writer(fmt, path): return _WRITERS[fmt](path)``: a def handing out what such a name holds
    defs = [(start, end, name) for start, end, keyword, name in spans if keyword == b"def"]
    for code, names in codes.items():
        encoded = {n.encode() for n in names}
        heirs = {name for name, bases in small_classes if bases & encoded}
        given = encoded | {n.encode() for n in heirs}
        held = {name for name, words in assignments if words & given}
        words = b"|".join(re.escape(n) for n in sorted(given | {h.encode() for h in held}))
        mentioned = re.compile(rb"\b(?:" + words + rb")\b")
        users = {name for start, end, name in defs if mentioned.search(data, start, end)}
        found[code] = names | heirs | held | users
    return found


def _spans(data: bytes) -> list[tuple[int, int, bytes, str]]:
    """The module's top-level defs and classes: (start, end, keyword, name)."""
    starts = _definitions(data)
    return [
        (start, starts[index + 1][0] if index + 1 < len(starts) else len(data), keyword, name)
        for index, (start, keyword, name) in enumerate(starts)
    ]


# a module-level assignment, its value up to the next line that starts a statement
_ASSIGNMENT = re.compile(rb"^([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=(?!=)(.*(?:\n[ \t)\]}].*)*)", re.MULTILINE)


_CLASS_LINE = re.compile(rb"^class[ \t]+(\w+)[ \t]*\(([^)]*)\)", re.MULTILINE)
# a top-level def or class and the first of its decorators; a subscript store (``SAVERS[name] = cls``)
_DECORATED = re.compile(rb"^@(\w+)[^\n]*\n(?:@[^\n]*\n)*(?:class|def|async[ \t]+def)[ \t]+(\w+)", re.MULTILINE)
_STORE = re.compile(rb"\b([A-Za-z_]\w*)\[[^\]\n]*\][ \t]*=(?!=)")


def admitted_codes(admitted: frozenset[str]) -> dict[str, frozenset[str]]:
    """``{"PEFT002:save_checkpoint", ...}`` -> per rule code, the names that admit the file for it."""
    found: dict[str, set[str]] = {}
    for entry in admitted:
        code, _, name = entry.partition(":")
        found.setdefault(code, set()).add(name)
    return {code: frozenset(names) for code, names in found.items()}


def _entries(codes: Iterable[str], name: str) -> set[str]:
    return {f"{code}:{name}" for code in codes}


class _Rules:
    """The helper scans of each group of rules that share their helper calls."""

    def __init__(self, groups: list[tuple[tuple[str, ...], _Helpers]]) -> None:
        self.groups = groups

    def any_reaches(self, path: str) -> tuple[str, ...]:
        return tuple(code for codes, helpers in self.groups if helpers.any_reaches(path) for code in codes)

    def reaches(self, path: str, name: str) -> tuple[str, ...]:
        return tuple(code for codes, helpers in self.groups if helpers.reaches(path, name) for code in codes)

    def reaching_defs(self, path: str) -> set[str]:
        return {name for _, helpers in self.groups for name, reaches in helpers.defs_of(path).items() if reaches}


class _Helpers:
    """Which top-level defs of the wanted modules mention a call some rule reports at, and which
    classes make a model carry PEFT layers in a method (``trainer = LoraTrainer(model);
    trainer.add_lora()``): a bytes scan of each one's lines, no parse. Big classes are held to the
    narrower calls: a library class's methods call everything (``PreTrainedModel`` loads and saves)."""

    def __init__(self, wanted: Mapping[str, bytes], triggers: frozenset[str]) -> None:
        from peftlint.analysis.registry import PEFT_HELPER_CALLS

        self.wanted = wanted
        self.calls = _Calls(triggers)
        self.class_calls = _Calls(PEFT_HELPER_CALLS)
        self.defs: dict[str, dict[str, bool]] = {}

    def _defs(self, path: str) -> dict[str, bool]:
        found = self.defs.get(path)
        if found is None:
            data = self.wanted[path]
            starts = _definitions(data)
            calls = self.calls.positions(data)
            class_calls = self.class_calls.positions(data) if self.class_calls.names != self.calls.names else calls
            found = {}
            spans: list[tuple[int, int, str]] = []  # the defs (and small classes) calls are followed through
            for index, (start, keyword, name) in enumerate(starts):
                end = starts[index + 1][0] if index + 1 < len(starts) else len(data)
                if keyword == _TABLE:
                    end = min(end, _statement_end(data, start))
                small = end - start <= _SMALL_CLASS_BYTES
                where = class_calls if keyword == b"class" and not small else calls
                at = bisect.bisect_left(where, start)
                found[name] = found.get(name, False) or (at < len(where) and where[at] < end)
                if keyword == b"def" or small:
                    spans.append((start, end, name))
            tables = _filed_tables(data, found, spans) | _holding_tables(data, found)
            found.update(dict.fromkeys(tables, True))
            _through_calls(data, spans, found, tables)
            _through_subclasses(data, found)
            self.defs[path] = found
        return found

    def reaches(self, path: str, name: str) -> bool:
        return self._defs(path).get(name, False)

    def defs_of(self, path: str) -> dict[str, bool]:
        return self._defs(path)

    def any_reaches(self, path: str) -> bool:
        return any(self._defs(path).values())


def _through_subclasses(data: bytes, found: dict[str, bool]) -> None:
    """A class of the module whose subclass there reaches reaches too: a method called on what
    the base's name gives (``Exporter.registry[fmt](out).export(model)``) may be the subclass's."""
    bases = {
        match.group(1).decode("utf-8", "replace"): set(re.findall(rb"\w+", match.group(2)))
        for match in _CLASS_LINE.finditer(data)
    }
    changed = True
    while changed:
        changed = False
        for name, parents in bases.items():
            if not found.get(name):
                continue
            for parent in parents:
                key = parent.decode("utf-8", "replace")
                if key in found and not found[key]:
                    found[key] = changed = True


def _filed_tables(data: bytes, found: dict[str, bool], spans: list[tuple[int, int, str]]) -> set[str]:
    """The module-level tables a decorator of the module files reaching classes or defs in:
    ``@saver("pickle") class PickleSaver`` with ``def saver(name)`` doing ``SAVERS[name] = cls``."""
    if b"@" not in data:
        return set()
    filing = {m.group(1).decode() for m in _DECORATED.finditer(data) if found.get(m.group(2).decode())}
    tables: set[str] = set()
    for start, end, name in spans:
        if name in filing:
            tables |= {m.group(1).decode() for m in _STORE.finditer(data, start, end)}
    return tables


def _holding_tables(data: bytes, found: dict[str, bool]) -> set[str]:
    """Module-level names assigned a display or comprehension that holds reaching classes or defs
    (``REGISTRY = {s.name: s for s in (TrainStage(), EvaluateStage())}``): an importer that calls
    what they hold calls those. Each reaching name's occurrences are looked at, not every line."""
    tables: set[str] = set()
    for name in sorted(n for n, reaches in found.items() if reaches):
        word = name.encode()
        index = data.find(word)
        while index >= 0:
            line = data.rfind(b"\n", 0, index) + 1
            for _ in range(_TABLE_LINES):  # up to the first line of the statement it is in
                if line == 0 or data[line : line + 1] not in _CONTINUING:
                    break
                line = data.rfind(b"\n", 0, line - 1) + 1
            match = _TABLE_LINE.match(data, line)
            if match is not None and match.group(1).decode() != name and index < _statement_end(data, line):
                tables.add(match.group(1).decode())
            index = data.find(word, index + len(word))
    return tables


def _through_calls(
    data: bytes, spans: list[tuple[int, int, str]], found: dict[str, bool], tables: Iterable[str] = ()
) -> None:
    """A def that calls another def of its module that reaches (``score_checkpoint`` calling
    ``_load``, which calls ``PeftModel.from_pretrained``), or what a table of them holds
    (``SAVERS[fmt](root)``), reaches too, however many defs deep."""
    new = {name for name, reaches in found.items() if reaches}
    starts = [start for start, _, _ in spans]
    held = rb"|\b(?:" + b"|".join(re.escape(t.encode()) for t in sorted(tables)) + rb")\s*\[" if tables else b""
    while new:
        pattern = re.compile(rb"\b(?:" + b"|".join(re.escape(n.encode()) for n in sorted(new)) + rb")\s*\(" + held)
        held = b""
        new = set()
        for match in pattern.finditer(data):
            index = bisect.bisect_right(starts, match.start()) - 1
            if index >= 0 and match.start() < spans[index][1] and not found.get(spans[index][2]):
                found[spans[index][2]] = True
                new.add(spans[index][2])


# A class of a few hundred lines (a project's trainer or checkpoint manager, ``trainer =
# PeftTrainer(model); trainer.fit()`` saving in an overridden method) is held to the calls its
# methods make, like a def; a library's class of thousands of lines is held to making PEFT models
# (on the benchmark corpus every class up to 16 KB admits no more files than before, while counting
# every class admits four times as many, from PreTrainedModel and Trainer).
_SMALL_CLASS_BYTES = 16_000

# a top-level def, or a class (its methods: ``trainer = LoraTrainer(model); trainer.add_lora()``)
_DEF = re.compile(rb"(?:async[ \t]+)?(def|class)[ \t]+(\w+)")
_DEF_MARKERS = (b"def", b"class", b"async")


def _definitions(data: bytes) -> list[tuple[int, bytes, str]]:
    """The top-level defs and classes of a module, in order: (offset, keyword, name). Found with
    ``bytes.find`` of each keyword at a line's start, then checked (a regex over every line of a
    5,000-line module would cost more than the rest of admission)."""
    found: list[tuple[int, bytes, str]] = []
    for marker in _DEF_MARKERS:
        index = 0 if data.startswith(marker) else _line_starting(data, marker, 0)
        while index >= 0:
            match = _DEF.match(data, index)
            if match is not None:
                found.append((index, match.group(1), match.group(2).decode("utf-8", "replace")))
            index = _line_starting(data, marker, index)
    # ``SAVERS = {"torch": lambda m, p: torch.save(m, p)}`` (a module with no lambda has no table)
    for match in _TABLE_LINE.finditer(data) if b"lambda" in data else ():
        if b"lambda" in data[match.start() : _statement_end(data, match.start())]:
            found.append((match.start(), _TABLE, match.group(1).decode("utf-8", "replace")))
    found.sort()
    return found


# A module-level table of callables: a dict, list or tuple display assigned to a name, with lambdas
# in it (what a lambda calls is what calling an entry of the table does).
_TABLE = b"table"
_TABLE_LINES = 40  # how far up a display's element is followed to the line that starts it
_CONTINUING = (b" ", b"\t", b"\n", b"}", b"]", b")", b"#")  # a line that does not start a statement
_TABLE_LINE = re.compile(rb"^([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=[ \t]*[\[{(]", re.MULTILINE)


def _statement_end(data: bytes, start: int) -> int:
    """Where the top-level statement starting at ``start`` ends: the next line that starts with
    something other than a space or a closing bracket."""
    index = data.find(b"\n", start)
    while index >= 0 and index + 1 < len(data) and data[index + 1 : index + 2] in _CONTINUING:
        index = data.find(b"\n", index + 1)
    return len(data) if index < 0 else index


def _line_starting(data: bytes, marker: bytes, after: int) -> int:
    """The offset of the next line after ``after`` that starts with ``marker``, or -1."""
    index = data.find(b"\n" + marker, after)
    return index + 1 if index >= 0 else -1


class _Calls:
    """Where a call of one of ``names`` occurs (``name(``, with spaces allowed before the bracket,
    not inside a longer word); with peft's model makers among them, a peft class's own
    ``from_pretrained`` too (``PeftModel.from_pretrained(base, dir)`` makes a PEFT model)."""

    def __init__(self, names: frozenset[str]) -> None:
        from peftlint.analysis.registry import PEFT_HELPER_CALLS

        self.names = names
        self.words = tuple(sorted(name.encode() for name in names))
        self.loaders = bool(names & PEFT_HELPER_CALLS)

    def positions(self, data: bytes) -> list[int]:
        """The offsets of the calls in ``data``, sorted."""
        found = [at for word in self.words for at in _calls_named(data, word)]
        if self.loaders:
            found += [at for at in _calls_named(data, b"from_pretrained") if _peft_owner(data, at)]
        found.sort()
        return found


def _calls_named(data: bytes, word: bytes) -> list[int]:
    found = []
    index = data.find(word)
    while index >= 0:
        after = index + len(word)
        if index == 0 or data[index - 1 : index] not in _WORD_BYTES:
            bracket = after
            while data[bracket : bracket + 1] in _SPACE_BYTES:
                bracket += 1
            if data[bracket : bracket + 1] == b"(":
                found.append(index)
        index = data.find(word, after)
    return found


def _peft_owner(data: bytes, at: int) -> bool:
    """``from_pretrained`` at ``at`` is called on a name with ``Peft`` in it (``AutoPeftModel.``)."""
    if data[at - 1 : at] != b".":
        return False
    start = at - 1
    while start > 0 and data[start - 1 : start] in _WORD_BYTES:
        start -= 1
    return b"Peft" in data[start : at - 1]


_SPACE_BYTES = frozenset(bytes([c]) for c in b" \t\n\r\f\v")
_WORD_BYTES = frozenset(bytes([c]) for c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def header_of(data: bytes, path: str = "") -> bytes:
    """The part of a module admission reads of a file no rule wants: what comes before its first
    top-level def or class, and its later import lines (a run keeps only this much of such
    files). A notebook's are in its code cells (``"from utils import attach_adapter\\n",`` in the
    JSON): read from their text, when the notebook imports anything at all."""
    if path.endswith(NOTEBOOK_SUFFIX):
        if b"import" not in data:
            return b""
        from peftlint.notebooks import notebook_source

        try:
            data = notebook_source(data).text.encode("utf-8")
        except SourceError:
            return b""  # the analysis reports it, if some rule wants it
    end = _first_definition(data)
    return data[:end] + _later_imports(data, end)


def _later_imports(data: bytes, start: int) -> bytes:
    """The import lines after ``start``, each on a line of its own: a command-line module that
    imports each step where it runs it (``def main(): ... from .training import fit``) calls the
    helpers it imports like one that imports them at the top."""
    found: dict[bytes, None] = {}
    index = data.find(b"import", start)
    while index >= 0:
        line_start = data.rfind(b"\n", 0, index) + 1
        line_end = data.find(b"\n", index)
        line_end = len(data) if line_end < 0 else line_end
        if data[line_start:line_end].lstrip().startswith((b"from ", b"import ")):
            if data[line_start:line_end].rstrip().endswith(b"("):  # a parenthesised list, to its end
                close = data.find(b")", line_end)
                line_end = len(data) if close < 0 else close + 1
            found[data[line_start:line_end]] = None
        index = data.find(b"import", line_end)
    return b"".join(b"\n" + line for line in found)


def _first_definition(data: bytes) -> int:
    """Where a module's first top-level ``def`` or ``class`` starts (its imports come before)."""
    starts = (data.find(marker, 0, _HEADER_BYTES) for marker in (b"\ndef ", b"\nclass ", b"\nasync def "))
    found = [index for index in starts if index >= 0]
    return min(found) if found else min(len(data), _HEADER_BYTES)


_HEADER_BYTES = 64 * 1024  # where a module's imports are looked for, at most
