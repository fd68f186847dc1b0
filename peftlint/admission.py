"""Which files the analysis runs on although they mention none of the rules' tokens: those that
call a helper, imported from a module of the run, that can reach a call some rule reports at
(``from checkpointing import save_checkpoint``: the misuse is in the helper, with what the
caller passes it). Decided on bytes alone."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from peftlint.modules import find_module, modules_of

if TYPE_CHECKING:
    from peftlint.rules.base import Rule

_IMPORT = re.compile(
    rb"^[ \t]*(?:from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\(?([\w, \t]+)|import[ \t]+([\w.]+))", re.MULTILINE
)  # the names after `import`, up to the line's end (a parenthesised list's first line)


def admitted_by_imports(
    contents: Mapping[str, bytes], rules: Sequence[type[Rule]], wanted_paths: Iterable[str]
) -> dict[str, frozenset[str]]:
    """Per file, the local names it imports that are such helpers, each as ``"CODE:name"`` for
    every rule whose helper calls that helper reaches (the analysis then runs that rule on the
    file if it calls one of them: a trainer module that imports a saving helper is analysed for
    the rule about saves, not for every rule); ``wanted_paths``: the files some rule wants by
    their own tokens."""
    wanted = {os.path.abspath(path): contents[path] for path in sorted(wanted_paths) if path.endswith(".py")}
    if not wanted:
        return {}
    run_modules = modules_of(contents)
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
    words |= {os.path.basename(path).removesuffix(".py").encode() for path in useful}
    words |= {os.path.basename(os.path.dirname(path)).encode() for path in useful if path.endswith("__init__.py")}
    candidates = re.compile(rb"import[^\n]*\b(?:" + b"|".join(re.escape(w) for w in sorted(words)) + rb")\b")
    mentions = re.compile(rb"\b(?:" + b"|".join(re.escape(w) for w in sorted(words)) + rb")\b")
    admitted: dict[str, frozenset[str]] = {}
    for path, data in contents.items():
        header = data[: _first_definition(data)]  # imports inside defs are not looked for
        if not candidates.search(header):
            continue
        names: set[str] = set()
        for match in _IMPORT.finditer(header):
            if not mentions.search(match.group()):
                continue  # an import of no wanted module
            dots, module, imported, plain = (g.decode("utf-8", "replace") if g else "" for g in match.groups())
            if plain:
                target = find_module(plain, path, run_modules)
                if target in wanted:
                    names |= _entries(helpers.any_reaches(target), plain.split(".")[0])
                continue
            items = [item.partition(" as ") for item in (n.strip() for n in imported.split(",")) if item]
            target = find_module(dots + module, path, run_modules)
            for name, _, alias in items:
                local = (alias or name).strip()
                if target is None or target.endswith("__init__.py"):  # ``from package import module``
                    dotted = f"{dots}{module}.{name.strip()}" if module else f"{dots}{name.strip()}"
                    submodule = find_module(dotted, path, run_modules)
                    codes = helpers.any_reaches(submodule) if submodule in wanted else ()  # type: ignore[arg-type]
                    if codes:
                        names |= _entries(codes, local)
                        continue
                if target in wanted:
                    names |= _entries(helpers.reaches(target, name.strip()), local)  # type: ignore[arg-type]
        if names:
            admitted[path] = frozenset(names)
    return admitted


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
    trainer.add_lora()``): a bytes scan of each one's lines, no parse. Classes are held to the
    narrower calls: a library class's methods call everything (``PreTrainedModel`` loads and saves)."""

    def __init__(self, wanted: Mapping[str, bytes], triggers: frozenset[str]) -> None:
        from peftlint.analysis.registry import PEFT_HELPER_CALLS

        self.wanted = wanted
        self.calls = _calls_of(triggers)
        self.class_calls = _calls_of(PEFT_HELPER_CALLS)
        self.defs: dict[str, dict[str, bool]] = {}

    def _defs(self, path: str) -> dict[str, bool]:
        found = self.defs.get(path)
        if found is None:
            data = self.wanted[path]
            starts = [(m.start(), m.group(1), m.group(2).decode("utf-8", "replace")) for m in _DEF.finditer(data)]
            found = {}
            for index, (start, keyword, name) in enumerate(starts):
                end = starts[index + 1][0] if index + 1 < len(starts) else len(data)
                calls = self.class_calls if keyword == b"class" else self.calls
                found[name] = found.get(name, False) or bool(calls.search(data, start, end))
            self.defs[path] = found
        return found

    def reaches(self, path: str, name: str) -> bool:
        return self._defs(path).get(name, False)

    def defs_of(self, path: str) -> dict[str, bool]:
        return self._defs(path)

    def any_reaches(self, path: str) -> bool:
        return any(self._defs(path).values())


# a top-level def, or a class (its methods: ``trainer = LoraTrainer(model); trainer.add_lora()``)
_DEF = re.compile(rb"^(?:async[ \t]+)?(def|class)[ \t]+(\w+)", re.MULTILINE)


def _calls_of(names: frozenset[str]) -> re.Pattern[bytes]:
    """A call of one of ``names``; with peft's model makers among them, a peft class's own
    ``from_pretrained`` too (``PeftModel.from_pretrained(base, dir)`` makes a PEFT model)."""
    from peftlint.analysis.registry import PEFT_HELPER_CALLS

    loaders = rb"|\w*Peft\w*\.from_pretrained" if names & PEFT_HELPER_CALLS else b""
    return re.compile(rb"\b(?:" + b"|".join(re.escape(t.encode()) for t in sorted(names)) + loaders + rb")\s*\(")


def header_of(data: bytes) -> bytes:
    """The part of a module admission reads of a file no rule wants: its imports, before its first
    top-level def or class (a run keeps only this much of such files)."""
    return data[: _first_definition(data)]


def _first_definition(data: bytes) -> int:
    """Where a module's first top-level ``def`` or ``class`` starts (its imports come before)."""
    starts = (data.find(marker, 0, _HEADER_BYTES) for marker in (b"\ndef ", b"\nclass ", b"\nasync def "))
    found = [index for index in starts if index >= 0]
    return min(found) if found else min(len(data), _HEADER_BYTES)


_HEADER_BYTES = 64 * 1024  # where a module's imports are looked for, at most
