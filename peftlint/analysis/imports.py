"""Imports (part of the Interpreter): ``import`` and ``from ... import`` bind modules and names of
the run lazily (project.py), and run what importing a module of the run does that its importer
sees: decorators filling a registry, a package ``__init__``'s own imports, ``__init_subclass__``
hooks registering subclasses."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import libcst as cst

from peftlint.analysis import names
from peftlint.analysis.branches import as_name
from peftlint.analysis.prescreen import CLASS, DEF
from peftlint.analysis.values import Values

if TYPE_CHECKING:
    from peftlint.analysis.frames import Frame
    from peftlint.analysis.project import Project

_SUBCLASS_HOOK = frozenset({"__init_subclass__"})
_SMALL_CLASS_LINES = 400


class Imports:
    # provided by Interpreter / Scopes / Expressions
    frames: list[Frame]
    project: Project
    bind: Callable[[str, Values], None]
    import_value: Callable[[str], Values]
    dotted: Callable[[cst.BaseExpression], str]

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    def import_statement(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = self.dotted(alias.name)
            if alias.asname is not None:
                self.bind(as_name(alias.asname), self.import_value(dotted))
            else:
                root = dotted.split(".", 1)[0]
                self.bind(root, self.import_value(root))
            self.packages_effects(dotted)
            self.import_effects(dotted)

    def import_from(self, node: cst.ImportFrom) -> None:
        module = "." * len(node.relative) + (self.dotted(node.module) if node.module is not None else "")
        self.packages_effects(module)
        if isinstance(node.names, cst.ImportStar):
            self.bind_star(module)
            return
        for alias in node.names:
            name = self.dotted(alias.name)
            local = as_name(alias.asname) if alias.asname is not None else name
            separator = "" if module.endswith(".") else "."
            self.bind(local, self.import_value(f"{module}{separator}{name}"))
            self.import_effects(f"{module}{separator}{name}")  # ``from zoo import builders``
        if module.strip("."):
            self.import_effects(module)  # ``from zoo import build``: zoo's ``__init__`` ran
        self.subclass_effects(module)

    def packages_effects(self, dotted: str) -> None:
        """Python imports a module's packages first: ``from .registry import build`` in
        ``zoo/serve.py`` (``python -m zoo.serve``) or ``import zoo.builders`` ran ``zoo/__init__.py``,
        and what its imports registered is there."""
        stripped = dotted.lstrip(".")
        dots = dotted[: len(dotted) - len(stripped)]
        parts = stripped.split(".") if stripped else []
        for package in ([dots] if dots else []) + [dots + ".".join(parts[:n]) for n in range(1, len(parts))]:
            self.import_effects(package)

    def import_effects(self, dotted: str) -> None:
        """``import zoo.builders  # fills MODEL_BUILDERS``: importing a module of the run runs its
        def statements, and a decorator of the run on a def that makes what a rule follows
        (``@register("lora")``) does what it does then, into another module's registry. Those defs
        are bound now; the module's other names stay lazy (project.py)."""
        if self.frame.kind == "module":
            self.module_effects(dotted, self.frame.module.path)

    def module_effects(self, dotted: str, importer: str) -> None:
        """A package's ``__init__`` runs its own imports (``from . import models  # populates the
        registry``): importing the package imports those modules too."""
        path = self.project.find_module(dotted, importer)
        if path is None or path == os.path.abspath(importer) or not self.project.may_register(os.path.abspath(path)):
            return  # (a package's ``__init__`` importing from itself is already running)
        scope = self.project.module_scope(dotted, importer, self)
        if scope is None or not scope.lazy or scope.imported_for_effects or scope.frame is None:
            return
        scope.imported_for_effects = True
        screened = self.project.screens.get(scope.path)
        for unit in screened.units if screened is not None else ():
            produces = scope.reach is None or scope.reach.unit_produces(unit)
            if unit.kind in (DEF, CLASS) and unit.decorators and unit.name and produces:
                self.project.value_of(scope, unit.name, self)
        if screened is None or os.path.basename(scope.path) != "__init__.py":
            return
        package = scope.name.split(".")[0]
        for how, qualname in screened.bindings.values():
            if how == "import" and isinstance(qualname, str) and qualname.split(".")[0] in ("", package):
                self.module_effects(qualname, scope.path)
        for dotted in screened.module_imports:  # ``import zoo.builders  # fills the registry``
            if dotted.split(".")[0] == package:
                self.module_effects(dotted, scope.path)

    def subclass_effects(self, dotted: str) -> None:
        """``from exporters import Exporter``, whose ``__init_subclass__`` registers each subclass
        (``class FullExporter(Exporter, fmt="full")``): the module's class statements ran on import,
        each subclass is in the registry. Its classes are bound now."""
        path = self.project.find_module(dotted, self.frame.module.path) if self.frame.kind == "module" else None
        if path is None or not self.project.makes_needed_calls(os.path.abspath(path), _SUBCLASS_HOOK):
            return  # (a bytes scan first: most modules have no such hook, and are not loaded for it)
        scope = self.project.module_scope(dotted, self.frame.module.path, self)
        if scope is None or not scope.lazy or scope.frame is None or scope.subclasses_bound:
            return
        scope.subclasses_bound = True
        screened = self.project.screens.get(scope.path)
        classes = [u for u in screened.units if u.kind == CLASS and u.name] if screened is not None else []
        # the hook on a class of a few hundred lines: a library's big base class that defines one
        # (PreTrainedModel) keeps no registry its importers read
        hooked = [
            u for u in classes if any(m.name in _SUBCLASS_HOOK or _SUBCLASS_HOOK & m.calls for m in (u, *u.members))
        ]
        if hooked and all(u.end - u.start <= _SMALL_CLASS_LINES for u in hooked):
            for unit in classes:
                self.project.value_of(scope, unit.name, self)

    def bind_star(self, module: str) -> None:
        """``from peft import *`` (a library's exports, by their names' shapes), or ``from helpers
        import *`` of a module of the run (a notebook's ``%run helpers.py``): its public names."""
        root = module.split(".", 1)[0]
        if root in names.STAR_EXPORTS:
            self.frame.module.star_imports.add(root)
        if names.is_library(module, self.frame.module.path) or self.frame.kind != "module":
            return
        scope = self.project.module_scope(module, self.frame.module.path, self)
        screened = self.project.screens.get(scope.path) if scope is not None else None
        separator = "" if module.endswith(".") else "."
        for name in sorted(screened.bindings if screened is not None else ()):
            if not name.startswith("_"):
                self.bind(name, self.import_value(f"{module}{separator}{name}"))
