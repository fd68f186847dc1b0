from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from peftlint.analysis import paths
from peftlint.analysis.values import MODEL_KINDS, Kind, guards_exclude, stable_key
from peftlint.findings import Edit, Finding, Fix, Position, Related
from peftlint.rules.base import CrossFileFact, Rule, model_facts

if TYPE_CHECKING:
    import libcst as cst

    from peftlint.analysis.callsite import CallSite

_MESSAGE = (
    "`load_state_dict(torch.load(...))` reads `{path}`, a whole pickled module, not a state dict: "
    "torch.load raises UnpicklingError (torch >= 2.6), or load_state_dict raises TypeError; "
    "save `model.state_dict()` instead, or load the object itself with torch.load"
)
SAVE = "save"
SAVE_OTHER = "save_other"  # a state dict or a dict saved on a branch: that branch's format
LOAD = "load"
MOVE = "move"  # a file moved (``shutil.move(tmp, path)``): its shapes are where it goes, "from" where it was
_EDIT = "state_dict_edit"
# What torch.save can be given that is certainly not a module.
_NOT_MODULES = frozenset({Kind.STATE_DICT, Kind.DICT, Kind.TUPLE, Kind.LIST, Kind.CONST, Kind.STRING, Kind.OPTIMIZER})


class PickledModuleLoadedAsStateDict(Rule):
    """
    ## What it does
    Pairs `torch.save(model, path)`, where `model` is a module (not `model.state_dict()`, not a
    dict), with `other.load_state_dict(torch.load(path))` reading the same file: in the same
    file, in another file of the same directory in the run (relative paths resolve against the
    working directory, so files further apart are not assumed to share one), anywhere for an
    absolute path or the same imported constant. Paths match by value: literals, constants (also
    imported, also built from other constants), variables, argparse defaults, config dicts and
    config files (also Hydra's), and the shapes of `os.path.join(...)`, f-strings, `%`, `.format`,
    `Path(...) / "x"`, `.joinpath`, `.with_suffix`, `os.path.dirname(__file__)` and `+`, the files
    a loop over `range(...)` writes, also through a helper (in another module) that saves. A file
    found with `glob` (`checkpoint-*/lora.pt`) is one a save its pattern covers wrote, unless the
    pattern also finds a state dict the run writes; a file moved into place (`torch.save(model,
    tmp)`, then `shutil.move(tmp, path)` or `os.replace`) is at its new name. When
    the type of the saved object is not known, the object saved whole and the receiver of
    `load_state_dict` being the same access path (`self.model`) is evidence enough.

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
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained("gpt2")
    torch.save(model, "model.pt")                      # in train.py, say
    model.load_state_dict(torch.load("model.pt"))      # in infer.py: fails
    ```

    ## Fix
    Save the weights (or `model.save_pretrained(dir)` for a PEFT model), or read the whole object
    back with `model = torch.load(p, weights_only=False)` from a file you trust:
    ```python
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained("gpt2")
    torch.save(model.state_dict(), "model.pt")
    model.load_state_dict(torch.load("model.pt"))
    ```

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
    reports_at = frozenset({"torch.save", "model.load_state_dict"})
    observes = frozenset({"path.move", "path.rename"})
    needs = frozenset(
        {
            "torch.load",
            "model.load",
            "peft.get_peft_model",
            "peft.load_adapter_model",
            "config.load",
            "config.load_path",
            "path.read_text",
        }
    )
    fix_safety = "unsafe"
    refutes = frozenset({"PEFT009"})  # the file is a pickled module, whatever its name says

    def on_call(self, site: CallSite) -> None:

        from peftlint.analysis import conditions

        api = site.api
        assert api is not None
        if site.fact in ("path.move", "path.rename"):
            sources = tuple(site.receiver_shapes() if site.fact == "path.rename" else site.shapes(api, "src"))
            if sources and site.has_role(api, "dst"):
                self.context.remember(self, site, MOVE, site.shapes(api, "dst"), {"from": sources})
            return
        if site.fact == "torch.save":
            if not site.writes_pickle():
                return  # ``accelerator.save(..., safe_serialization=True)``: safetensors, no pickle
            saved = site.role(api, "obj")
            obj_node = site.role_node(api, "obj")
            modules = [v for v in saved if v.kind in MODEL_KINDS]
            key = conditions.key_of(obj_node) if obj_node is not None else None
            if not modules and (key is None or any(v.kind in _NOT_MODULES for v in saved)):
                # what the file holds where this save runs (see _exclusive)
                self.context.remember(self, site, SAVE_OTHER, site.shapes(api, "path"), {"guards": site.guards})
                return
            facts = model_facts(sorted(modules, key=lambda v: (v.kind.value, stable_key(v)))[0]) if modules else {}
            facts["saved_kind"] = "peft" if any(v.kind is Kind.PEFT_MODEL for v in modules) else "base"
            facts["module"] = bool(modules)
            facts["object"] = key
            facts[_EDIT] = _state_dict_edit(site, obj_node)
            facts["constants"] = site.constants(api, "path")
            facts["guards"] = site.guards
            self.context.remember(self, site, SAVE, site.shapes(api, "path"), facts)
        else:
            loaded = [
                v
                for v in site.role(api, "state_dict")
                if v.kind is Kind.TORCH_LOADED and v.fact("module") is not False  # tested: no module
            ]
            shapes = tuple(dict.fromkeys(shape for v in loaded for shape in v.fact("shapes", ())))
            if not shapes:
                return
            data = {
                "receiver": site.receiver_key(),
                "constants": tuple(sorted({c for v in loaded for c in v.fact("constants", ())})),
                "guards": site.guards,
            }
            self.context.remember(self, site, LOAD, shapes, data)

    @classmethod
    def join(cls, facts: Sequence[CrossFileFact]) -> list[Finding]:
        saves = [(fact, list(fact.shapes)) for fact in facts if fact.kind == SAVE]
        saves += _moved(saves, [fact for fact in facts if fact.kind == MOVE])
        others = [fact for fact in facts if fact.kind == SAVE_OTHER]
        # the files one save writes, over every pass of its loop that was walked (one fact each)
        grouped: dict[tuple[str, int, int], list[paths.Shape]] = {}
        for save, save_shapes in saves:
            grouped.setdefault((save.path, save.start.line, save.start.column), []).extend(save_shapes)
        families = {site: tuple(dict.fromkeys(shapes)) for site, shapes in grouped.items()}
        findings: dict[tuple[str, int, int], Finding] = {}
        for load in (fact for fact in facts if fact.kind == LOAD):
            matches = [
                (save, shape, read)
                for save, save_shapes in saves
                for shape in save_shapes
                if _same_place(save, load, shape)  # the cheaper test first
                and (read := _read_as(load, shape, families[save.path, save.start.line, save.start.column])) is not None
                and not _finds_others(read, shape, others)
                and _is_module(save, load)
                and not _exclusive(save, load, shape, others)
            ]
            if not matches:
                continue
            # the message and notes name each save's path as literally as the load reads it
            # (``outputs/run/model.pt`` over ``{run_args.output_dir}/model.pt``); a stable sort
            matches.sort(key=lambda match: sum(kind != "lit" for kind, _ in match[1]))
            save, shape, read = matches[0]
            notes: dict[tuple[str, int, int], Related] = {}
            for s, p, _ in matches:  # one note per save, with the first path the two share
                moved = "then moved to" if p not in s.shapes else "path"
                note = f"the whole module is pickled here with torch.save ({moved} `{paths.render(p)}`)"
                notes.setdefault((s.path, s.start.line, s.start.column), Related(s.path, s.start, note))
            related = tuple(notes.values())
            key = (load.path, load.start.line, load.start.column)
            findings.setdefault(
                key,
                Finding(
                    code=cls.code,
                    name=cls.name,
                    message=_MESSAGE.format(path=paths.render(read)),
                    path=load.path,
                    start=load.start,
                    end=load.end,
                    severity=cls.severity,
                    related=related,
                    facts=tuple((k, v) for k, v in save.data if k not in _INTERNAL),
                    fix=_fix(s for s, _, _ in matches),
                    noqa=load.noqa,
                ),
            )
        return list(findings.values())


def _moved(
    saves: Sequence[tuple[CrossFileFact, list[paths.Shape]]], moves: Sequence[CrossFileFact]
) -> list[tuple[CrossFileFact, list[paths.Shape]]]:
    """A save's file moved elsewhere in the same run (``torch.save(model, tmp)``, then
    ``shutil.move(tmp, path)``): the save, with the paths the file is moved to."""
    found = []
    for save, shapes in saves:
        places = {paths.identity(shape) for shape in shapes}
        for move in moves:
            sources = dict(move.data).get("from", ())
            if move.anchor == save.anchor and any(paths.identity(source) in places for source in sources):
                found.append((save, list(move.shapes)))
    return found


def _finds_others(pattern: paths.Shape, shape: paths.Shape, others: Sequence[CrossFileFact]) -> bool:
    """A glob pattern (the load's path that found the save's ``shape``) that also finds a file the
    run writes as a state dict (``ckpt/*.pt`` over ``full.pt`` and ``weights.pt``): which of them
    the load reads is not known. A load's unknown part is such a wildcard too (``epoch_{best}.pt``
    over ``epoch_{epoch}.pt`` and a state dict saved as ``epoch_final.pt``)."""
    if paths.identity(pattern) == paths.identity(shape):
        return False
    wanted = paths.identity(paths.unknown_as_wildcards(pattern))
    return any(paths.matches(wanted, paths.identity(mine)) for other in others for mine in other.shapes)


def _read_as(load: CrossFileFact, shape: paths.Shape, family: tuple[paths.Shape, ...] = ()) -> paths.Shape | None:
    """The load's path that names the file ``shape`` names: the same path, a pattern glob found
    it with (``checkpoint-*/lora.pt`` for ``checkpoint-{step}/lora.pt``), the file an earlier
    pass of the saving loop wrote (``epoch_{epoch - 1}.pt`` for ``epoch_{epoch}.pt``), one of the
    loop's files by a number not known (``epoch_{best_epoch}.pt``), the loop's element symbolic or
    each of its passes written out (``family``: the save's paths), or a file of the save's naming
    scheme by another unknown (``step{last}.pt`` for ``step{step}.pt``)."""
    place = paths.identity(shape)
    ways = (
        lambda mine: paths.matches(paths.identity(mine), place),
        lambda mine: paths.loop_pass(mine, shape),
        lambda mine: paths.family_member(mine, shape, family),
        lambda mine: paths.same_scheme(mine, shape),
    )  # the most direct way first: the load's own spelling of the very path, where it has one
    return next((mine for way in ways for mine in load.shapes if way(mine)), None)


_INTERNAL = frozenset({_EDIT, "object", "constants", "module", "guards"})  # kept out of the finding's facts


def _exclusive(save: CrossFileFact, load: CrossFileFact, shape: paths.Shape, others: Sequence[CrossFileFact]) -> bool:
    """The save and the load are on exclusive branches of one file, and the load's branch writes
    that file its own way (``if args.full: torch.save(model, p) else: torch.save(model.state_dict(),
    p)`` ... ``if args.full: torch.load(p) else: model.load_state_dict(torch.load(p))``): one flag
    decides the format and the reading. Where the load's branch writes nothing there (``train``
    saves, ``eval`` loads), the file comes from another run of the same script: paired."""
    if save.anchor != load.anchor:
        return False
    saved = _guards(save)
    loaded = _guards(load)
    if not guards_exclude(saved, loaded):
        return False
    place = paths.identity(shape)
    return any(
        other.anchor == load.anchor
        and any(paths.identity(mine) == place for mine in other.shapes)
        and not guards_exclude(_guards(other), loaded)
        for other in others
    )


def _guards(fact: CrossFileFact) -> list[tuple[str, bool]]:
    return [(text, polarity) for text, polarity in dict(fact.data).get("guards", ())]


def _is_module(save: CrossFileFact, load: CrossFileFact) -> bool:
    """The saved object is a module, or is the very object whose load_state_dict reads the file."""
    data, loaded = dict(save.data), dict(load.data)
    if data.get("module"):
        return True
    return (
        data.get("object") is not None and data.get("object") == loaded.get("receiver") and save.anchor == load.anchor
    )


def _same_place(save: CrossFileFact, load: CrossFileFact, shape: paths.Shape) -> bool:
    """Both paths provably name one file: the same run file, the same directory (relative paths
    resolve against one working directory), an absolute path, or the same imported constant."""
    if not paths.has_literal(shape) and save.anchor != load.anchor:
        return False
    if save.anchor == load.anchor or paths.is_absolute(shape):
        return True
    shared = set(dict(save.data).get("constants", ())) & set(dict(load.data).get("constants", ()))
    if shared or any(kind == "import" for kind, _ in shape):  # built from one module-level name of the run
        return True
    home = paths.config_home(shape, save.anchor)
    if home is not None and home == paths.config_home(shape, load.anchor):
        return True  # both read one config file by its relative name: both run from its folder
    return os.path.dirname(os.path.abspath(save.anchor)) == os.path.dirname(os.path.abspath(load.anchor))


def _state_dict_edit(site: CallSite, node: cst.BaseExpression | None) -> list[Any] | None:
    """Where ``torch.save(model, p)`` becomes ``torch.save(model.state_dict(), p)``."""
    import libcst as cst

    if node is None or site.unit is None:
        return None
    start, end = site.unit.range(node)
    code = site.code(node)
    atomic = isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript))
    replacement = f"{code}.state_dict()" if atomic else f"({code}).state_dict()"
    return [site.unit.path, start.line, start.column, end.line, end.column, replacement]


def _fix(saves: Iterable[CrossFileFact]) -> Fix | None:
    edits = []
    for save in saves:
        raw = dict(save.data).get(_EDIT)
        if raw:
            path, line, column, end_line, end_column, content = raw
            edits.append(Edit(path, Position(line, column), Position(end_line, end_column), content))
    if not edits:
        return None
    return Fix(
        "save the state dict instead: torch.save(model.state_dict(), path)", tuple(dict.fromkeys(edits)), safe=False
    )
