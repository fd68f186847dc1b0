from __future__ import annotations

import ast
import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from peftlint.analysis import paths
from peftlint.analysis.values import MODEL_KINDS, Kind
from peftlint.findings import Edit, Finding, Fix, Position, Related
from peftlint.rules.base import CrossFileFact, Rule, model_facts

_MESSAGE = (
    "`load_state_dict(torch.load(...))` reads `{path}`, a whole pickled module, not a state dict: "
    "torch.load raises UnpicklingError (torch >= 2.6), or load_state_dict raises TypeError; "
    "save `model.state_dict()` instead, or load the object itself with torch.load"
)
SAVE = "save"
_EDIT = "state_dict_edit"
LOAD = "load"

if TYPE_CHECKING:
    from peftlint.analysis.flow import CallSite


class PickledModuleLoadedAsStateDict(Rule):
    """
    ## What it does
    Pairs `torch.save(model, path)`, where `model` is a module (not `model.state_dict()`, not a
    dict), with `other.load_state_dict(torch.load(path))` reading the same file, in the same file
    or in another file of the same directory in the run (relative paths resolve against the
    working directory, so files further apart are not assumed to share one). Paths match by
    literal, by module constant (also imported from another module), by variable, and by the
    shape of `os.path.join(...)`, f-strings, `Path(...) / "x"` and `+`.

    ## Why is this bad?
    `torch.save(model, p)` pickles the whole module object, while `load_state_dict` expects a
    mapping of tensors. With torch >= 2.6 `torch.load(p)` refuses the pickle
    (`UnpicklingError: Weights only load failed ... Unsupported global: GLOBAL
    peft.peft_model.PeftModel`); with `weights_only=False` it returns the module and
    `load_state_dict` raises `TypeError: Expected state_dict to be dict-like, got <class
    '...PeftModel'>`. Either way it breaks at load time, usually in another script, far from its
    cause.

    ## Example
    ```python
    torch.save(model, "model.pt")                      # train.py
    model.load_state_dict(torch.load("model.pt"))      # infer.py: fails
    ```

    ## Fix
    Save the weights, `torch.save(model.state_dict(), "model.pt")` (or `model.save_pretrained(dir)`
    for a PEFT model), or read the whole object back with `model = torch.load(p, weights_only=False)`
    from a file you trust.

    ## References
    - the tutorial "PEFT: quickly applying LoRA to large models" (guide 14 of a public series
      of AI guides), whose first bug this is
    - https://pytorch.org/docs/stable/notes/serialization.html
    """

    code = "PEFT002"
    name = "pickled-module-loaded-as-state-dict"
    summary = (
        "Whole module pickled with torch.save, read back with load_state_dict(torch.load(...)): fails at load time."
    )
    tokens = ((b"torch",), (b"save(", b"load_state_dict"))
    calls = frozenset({"save", "load_state_dict"})

    @classmethod
    def wants(cls, data: bytes) -> bool:
        """A save of a whole module, or a ``load_state_dict`` fed by ``torch.load``: either half of a pair."""
        return super().wants(data) and (b"save(" in data or b"load(" in data)

    fix_safety = "unsafe"

    def on_call(self, site: CallSite) -> None:
        if site.callee == "torch.save":
            modules = [v for v in site.arg(0, "obj") if v.kind in MODEL_KINDS]
            if modules:
                facts = model_facts(sorted(modules, key=lambda v: v.kind.value)[0])
                facts["saved_kind"] = "peft" if any(v.kind is Kind.PEFT_MODEL for v in modules) else "base"
                facts[_EDIT] = self._state_dict_edit(site)
                self._remember(site, SAVE, site.shapes(1, "f"), facts)
        elif site.method == "load_state_dict":
            loaded = [v for v in site.arg(0, "state_dict") if v.kind is Kind.TORCH_LOADED]
            shapes = tuple(dict.fromkeys(shape for v in loaded for shape in v.fact("shapes", ())))
            if shapes:
                self._remember(site, LOAD, shapes, {})

    def _state_dict_edit(self, site: CallSite) -> list[Any] | None:
        """Where ``torch.save(model, p)`` becomes ``torch.save(model.state_dict(), p)``."""
        node = site.arg_node(0, "obj")
        if node is None:
            return None
        start, end = self.context.span(node)  # inside any parentheses around the argument
        code = self.context.code(node)
        atomic = isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript))
        replacement = f"{code}.state_dict()" if atomic else f"({code}).state_dict()"
        return [start.line, start.column, end.line, end.column, replacement]

    def _remember(self, site: CallSite, kind: str, shapes: Sequence[paths.Shape], data: dict[str, Any]) -> None:
        start, end = self.context.span(site.node)
        self.context.facts.append(
            CrossFileFact(self.code, self.context.path, kind, start, end, tuple(shapes), tuple(sorted(data.items())))
        )

    @classmethod
    def join(cls, facts: Sequence[CrossFileFact], resolve: Callable[[str, paths.Shape], paths.Shape]) -> list[Finding]:
        saves = [(fact, [resolve(fact.path, s) for s in fact.shapes]) for fact in facts if fact.kind == SAVE]
        findings: dict[tuple[str, int, int], Finding] = {}
        for load in (fact for fact in facts if fact.kind == LOAD):
            load_shapes = [resolve(load.path, s) for s in load.shapes]
            matches = [
                (save, shape)
                for save, save_shapes in saves
                for shape in save_shapes
                if shape in load_shapes
                and _near(save.path, load.path)
                and (paths.has_literal(shape) or save.path == load.path)
            ]
            if not matches:
                continue
            save, shape = matches[0]
            related = tuple(
                dict.fromkeys(
                    Related(
                        s.path, s.start, f"the whole module is pickled here with torch.save (path `{paths.render(p)}`)"
                    )
                    for s, p in matches
                )
            )
            key = (load.path, load.start.line, load.start.column)
            findings.setdefault(
                key,
                Finding(
                    code=cls.code,
                    name=cls.name,
                    message=_MESSAGE.format(path=paths.render(shape)),
                    path=load.path,
                    start=load.start,
                    end=load.end,
                    severity=cls.severity,
                    related=related,
                    facts=tuple((k, v) for k, v in save.data if k != _EDIT),
                    fix=_fix(s for s, _ in matches),
                ),
            )
        return list(findings.values())


def _near(save_path: str, load_path: str) -> bool:
    return os.path.dirname(os.path.abspath(save_path)) == os.path.dirname(os.path.abspath(load_path))


def _fix(saves: Iterable[CrossFileFact]) -> Fix | None:
    edits = []
    for save in saves:
        raw = dict(save.data).get(_EDIT)
        if raw:
            line, column, end_line, end_column, content = raw
            edits.append(Edit(save.path, Position(line, column), Position(end_line, end_column), content))
    if not edits:
        return None
    return Fix(
        "save the state dict instead: torch.save(model.state_dict(), path)", tuple(dict.fromkeys(edits)), safe=False
    )
