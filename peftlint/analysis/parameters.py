"""Parameters (part of the Interpreter): how a call's arguments bind a def's parameters, as
Python binds them, and what a parameter holds in a def analysed on its own (its annotation, a
pytest fixture, a Hydra config, a framework's convention, or anything, its default among it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import libcst as cst

from peftlint.analysis import names, paths, pyobjects, registry
from peftlint.analysis.frames import Frame, Function
from peftlint.analysis.values import UNKNOWN, Kind, Value, Values, make_facts

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.project import Project
    from peftlint.analysis.units import ParsedUnit


class Parameters:
    # provided by Interpreter / Expressions
    frames: list[Frame]
    unit: ParsedUnit | None
    project: Project
    expression: Callable[..., Values]
    strings: Callable[..., Values]
    new_value: Callable[..., Value]
    origin: Callable[..., Any]
    quietly: Callable[[Callable[[], Values]], Values]

    def bind_arguments(self, function: Function, site: CallSite, this: Values | None) -> dict[str, Values]:
        """Parameters bound as Python binds them: positionally, by keyword, then defaults."""
        node = function.node
        params = node.params
        positional = [*params.posonly_params, *params.params]
        bindings: dict[str, Values] = {}
        args = list(site.args)
        if this is not None and positional and not function.is_static():
            bindings[positional[0].name.value] = this
            positional = positional[1:]
        for param, values in zip(positional, args, strict=False):
            bindings[param.name.value] = values
        extra = args[len(positional) :]
        if isinstance(params.star_arg, cst.Param):
            items = tuple(extra)
            open_ = site.spread or None
            bindings[params.star_arg.name.value] = frozenset(
                {self.new_value(Kind.TUPLE, site.node, None, items=items, open=open_)}
            )
        leftover: dict[str, Values] = {}
        named = {p.name.value for p in [*params.params, *params.kwonly_params]}
        for keyword, values in site.kwargs.items():
            if keyword in named:
                bindings[keyword] = values
            else:
                leftover[keyword] = values
        if params.star_kwarg is not None:
            entries = tuple(sorted(leftover.items()))
            bindings[params.star_kwarg.name.value] = frozenset(
                {self.new_value(Kind.DICT, site.node, None, entries=entries, open=site.spread or None)}
            )
        # ``main(*sys.argv[1:])``: the sequence may end before any parameter it could fill, which
        # then has its default; a ``**mapping`` may give any parameter (not known: unknown)
        starred = site.spread and _starred_only(site.node)
        for param in [*positional, *params.kwonly_params]:
            name = param.name.value
            if name not in bindings:
                config = pyobjects.hydra_config(function, param)  # ``main()`` under ``@hydra.main``
                if config is not None:
                    bindings[name] = config
                elif param.default is None or (site.spread and not starred):
                    bindings[name] = UNKNOWN
                elif starred and param in positional:
                    bindings[name] = self.default(function, param) | UNKNOWN
                else:
                    bindings[name] = self.default(function, param)
        return bindings

    def default(self, function: Function, param: cst.Param) -> Values:
        """A default value, evaluated (once, quietly) in the scope the def was written in."""
        cache: dict[str, Values] = function.__dict__.setdefault("_defaults", {})
        name = param.name.value
        if name not in cache:
            saved_frames, saved_unit = self.frames, self.unit
            self.frames = [*saved_frames, Frame(state={}, parent=function.parent, module=function.parent.module)]
            self.unit = function.unit
            try:
                cache[name] = self.quietly(lambda: self.expression(param.default))
            finally:
                self.frames, self.unit = saved_frames, saved_unit
        return cache[name]

    def parameter_values(self, function: Function, param: cst.Param) -> Values:
        """A parameter of a def analysed on its own: what its annotation says, a pytest fixture of
        its name, or anything (its default among it)."""
        annotated = self.annotation_values(function, param)
        if annotated is not None:
            return annotated
        fixture = self.project.fixture(function, param, self)  # type: ignore[arg-type]
        if fixture is not None:
            return fixture
        config = pyobjects.hydra_config(function, param)
        if config is not None:
            return config
        if _serving_model_dir(function, param):
            # SageMaker's inference toolkit calls a handler module's ``model_fn(model_dir)`` with
            # the folder the training job's ``SM_MODEL_DIR`` was unpacked to
            return self.strings(param, [paths.literal(registry.SAGEMAKER_MODEL_DIR)])
        if param.name.value == "model" and _callback_hook(function):
            # ``def on_save(self, args, state, control, model=None, **kwargs)``: the trainer passes
            # its model to every hook of a TrainerCallback (a module; wrapped or not, unknown)
            facts = make_facts(model_class="transformers.PreTrainedModel")
            return frozenset({Value(Kind.BASE_MODEL, site=("callback model", id(param)), facts=facts)})
        if param.default is not None:
            return self.default(function, param) | UNKNOWN
        return UNKNOWN

    def annotation_values(self, function: Function, param: cst.Param) -> Values | None:
        if param.annotation is None:
            return None
        annotation = param.annotation.annotation
        if not isinstance(annotation, (cst.Name, cst.Attribute)):
            return None
        saved_frames, saved_unit = self.frames, self.unit
        self.frames = [*saved_frames, Frame(state={}, parent=function.parent, module=function.parent.module)]
        self.unit = function.unit
        try:
            qualname = single_qualname(self.quietly(lambda: self.expression(annotation)))
            canonical = names.canonical(qualname) if qualname else None
            if names.is_peft_model_class(canonical):
                note = f"annotated as {(canonical or '').rsplit('.', 1)[-1]}"
                return frozenset({Value(Kind.PEFT_MODEL, site=id(param), origin=(self.origin(param, note),))})
            if names.is_module_base_class(canonical):
                facts = make_facts(model_class=canonical)
                return frozenset({Value(Kind.BASE_MODEL, site=id(param), facts=facts)})
        finally:
            self.frames, self.unit = saved_frames, saved_unit
        return None


def _serving_model_dir(function: Function, param: cst.Param) -> bool:
    """The first parameter of a top-level ``def model_fn(model_dir)`` (a SageMaker handler)."""
    if function.owner is not None or function.name != "model_fn":
        return False
    params = function.params()
    return bool(params) and params[0] is param


def _callback_hook(function: Function) -> bool:
    """A hook of a transformers TrainerCallback subclass (``on_save``, ``on_evaluate``...)."""
    owner = function.owner
    return (
        owner is not None
        and function.name.startswith("on_")
        and any(base.rsplit(".", 1)[-1] == "TrainerCallback" for base in owner.all_library_bases())
    )


def _starred_only(node: cst.CSTNode) -> bool:
    """A call whose arguments the analysis does not all know only because of a ``*sequence``."""
    if not isinstance(node, cst.Call):
        return False
    stars = [arg.star for arg in node.args]
    return "*" in stars and "**" not in stars


def single_qualname(values: Values) -> str | None:
    qualnames = {v.fact("qualname") for v in values if v.kind is Kind.IMPORT}
    return qualnames.pop() if len(qualnames) == 1 and all(v.kind is Kind.IMPORT for v in values) else None
