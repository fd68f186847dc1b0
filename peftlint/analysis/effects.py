"""The verbs of the registry (registry.py): what the interpreter does for a library call.

Each verb takes the call site (its argument values by role) and returns the call's values, changing
objects in place where the library does (``get_peft_model`` injects its layers into the model it is
given: every alias of that model sees it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import libcst as cst

from peftlint.analysis import (
    cliargs,
    conditions,
    files,
    hooks,
    lightning,
    loops,
    names,
    pathcalls,
    paths,
    pyobjects,
    records,
    registry,
    training,
)
from peftlint.analysis.callbacks import CallbackRun
from peftlint.analysis.values import (
    MODEL_KINDS,
    NONE,
    UNKNOWN,
    Kind,
    Origin,
    Value,
    Values,
    is_none,
    known,
    make_facts,
    or_unknown,
    parameter_sets,
    stable_key,
)

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.interpreter import Interpreter

Verb = Callable[["Interpreter", registry.Api, "CallSite"], Values]
_MODEL_FACTS = ("model_id", "model_class", "local_module")


def apply(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    return _VERBS[api.effect](interpreter, api, site)


def _leaf(qualname: str | None) -> str:
    return (qualname or "").rsplit(".", 1)[-1]


def _owner(site: CallSite) -> str:
    """``peft.PeftModelForCausalLM.from_pretrained`` -> ``PeftModelForCausalLM``."""
    callee = site.callee or ""
    return _leaf(callee[: -len(".from_pretrained")] if callee.endswith(".from_pretrained") else callee)


def wrap(interpreter: Interpreter, api: registry.Api, site: CallSite, how: str | None = None) -> Values:
    """get_peft_model / PeftModel(...) / .from_pretrained: a wrapper; the model gets PEFT layers in place."""
    models = site.role(api, "model")
    how = how or ("get_peft_model" if api.fact == "peft.get_peft_model" else _owner(site))
    if api.fact == "peft.load_adapter_model":
        how = f"{how}.from_pretrained"
    facts: dict[str, Any] = {"wrapped_by": how}
    for value in sorted(models, key=lambda v: (v.kind.value, str(v.fact("model_class")), str(v.fact("model_id")))):
        for key in (*_MODEL_FACTS, "peft_config", "config_class"):
            if value.fact(key) is not None:
                facts.setdefault(key, value.fact(key))
    # in an order that does not depend on object ids (the first config's facts are the ones kept)
    configs = site.role(api, "config")
    for value in sorted(
        configs, key=lambda v: (v.kind.value, str(v.fact("config_class")), repr(v.fact("peft_config")))
    ):
        if value.kind is Kind.PEFT_CONFIG:
            facts.setdefault("peft_config", value.fact("peft_config"))
            facts.setdefault("config_class", value.fact("config_class"))
    adapter = site.shapes(api, "path")
    if adapter and api.fact == "peft.load_adapter_model":
        facts["adapter"] = paths.render(adapter[0])
    if api.fact == "peft.load_adapter_model":
        facts["frozen"] = training.frozen_load(site, api)
    else:
        facts["frozen"] = training.frozen_config(site.role(api, "config"))
    if any(v.kind is Kind.PEFT_MODEL and v.fact("frozen") is None for v in models):
        # a frozen load freezes its own adapter only: one the model it wraps already trains stays
        # trainable (measured: a PeftModel loaded without is_trainable around one loaded with it
        # keeps the inner adapter's parameters trainable), so something does train
        facts["frozen"] = None
    configs = site.role(api, "config")
    prompt = bool(configs) and all(v.fact("config_class") in registry.PROMPT_LEARNING_CONFIGS for v in configs)
    injected = models if prompt else inject(interpreter, site, models, how, site.role_node(api, "model"))
    bases = {v.site for v in injected if v.kind in MODEL_KINDS}
    if len(bases) == 1:
        facts["base_site"] = next(iter(bases))
    note = f"the model got PEFT layers here ({how})"
    wrapped = Value(
        Kind.PEFT_MODEL,
        site=(id(site.node), _chain_key(site)),
        origin=(Origin(site.unit, site.node, note, site.statement), *site.call_chain),
        guards=frozenset(interpreter.guards),
        facts=make_facts(**facts),
    )
    return frozenset({wrapped})


def inject(
    interpreter: Interpreter, site: CallSite, models: Values, how: str, model_node: cst.CSTNode | None
) -> Values:
    """The model gets PEFT layers in place: every name that holds it now holds an injected base,
    and an optimizer built over its parameters before now holds none of the new ones."""
    injected = Origin(site.unit, site.node, f"{how} injected PEFT layers into this model in place", site.statement)
    sites = {v.site for v in models if v.kind is Kind.BASE_MODEL}

    def injected_base(value: Value) -> Value:
        return replace(value, kind=Kind.INJECTED_BASE, origin=(injected,)).updated(injected_by=how)

    interpreter.transform_everywhere(sites, injected_base)
    keys = {str(s) for s in sites}
    stale = interpreter.sites_where(lambda v: v.kind is Kind.OPTIMIZER and bool(keys & set(v.fact("params", ()))))
    interpreter.transform_everywhere(stale, lambda v: v.updated(stale=(injected,), stale_by=how))
    key = conditions.key_of(model_node) if model_node is not None else None
    if key is not None and not known(models):
        value = Value(Kind.INJECTED_BASE, site=("injected", id(site.node)), origin=(injected,), guards=frozenset())
        interpreter.bind(key, frozenset({value}))
        return frozenset({value})
    return frozenset(injected_base(v) if v.kind is Kind.BASE_MODEL else v for v in models)


def _inject_verb(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    return inject(interpreter, site, site.role(api, "model"), "inject_adapter_in_model", site.role_node(api, "model"))


def new(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    kind = api.kind or Kind.UNKNOWN
    facts: dict[str, Any] = {}
    note = None
    if kind is Kind.BASE_MODEL:
        owner = site.callee or ""
        facts["model_class"] = owner.rsplit(".", 1)[0] if api.fact == "model.load" else owner
        facts["model_id"] = site.literal_text(api, "path")
    elif kind is Kind.PEFT_MODEL:
        note = f"the model got PEFT layers here ({_owner(site)}.from_pretrained)"
        facts["adapter"] = site.literal_text(api, "path")
        facts["frozen"] = training.frozen_load(site, api)
        facts["wrapped_by"] = f"{_owner(site)}.from_pretrained"
    elif kind is Kind.PEFT_CONFIG:
        shapes = site.shapes(api, "path")
        # every path it may read (``args.sft_adapter`` with its default: the default, and the option)
        facts.update(config_class=_owner(site), from_pretrained=tuple(paths.render(shape) for shape in shapes) or "?")
    elif kind is Kind.STATE_DICT:
        facts["adapter"] = api.fact in ("peft.get_peft_model_state_dict", "peft.load_peft_weights")
        # keys as peft saves an adapter: without the adapter name (``lora_A.weight``, not ``lora_A.default.weight``)
        facts["adapter_keys"] = api.fact.removeprefix("peft.") if facts["adapter"] else None
    elif kind is Kind.OPTIMIZER:
        params = parameter_sets(site.role(api, "params"))
        facts["params"] = tuple(sorted({str(s) for v in params for s in _parameter_owners(v)}))
        facts["optimizer_class"] = site.callee
        note = api.note
    made = interpreter.new_value(kind, site.node, note, **facts)
    if kind is Kind.PIPELINE:  # its components are objects it holds: a wrap of ``pipe.unet`` stays with it
        components = registry.PIPELINE_COMPONENTS
        made = made.with_attrs({name: frozenset({_component(made, name)}) for name in components})
    return frozenset({made})


def config(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    keywords = {}
    unknown = []  # keywords given something the analysis cannot read, or ``**kwargs``: any may be set
    for arg in site.node.args:
        if arg.keyword is None:
            unknown.append("*")
        if arg.keyword is not None:
            value = conditions.literal(arg.value)
            if isinstance(arg.value, (cst.List, cst.Tuple)):  # target_modules=["q_proj", "v_proj"]
                items = [conditions.literal(e.value) for e in arg.value.elements if isinstance(e, cst.Element)]
                if len(items) == len(arg.value.elements) and all(isinstance(item, str) for item in items):
                    value = tuple(items)
            if value is conditions.UNKNOWN_LITERAL and isinstance(arg.value, cst.Attribute):
                owner = arg.value.value
                if isinstance(owner, (cst.Name, cst.Attribute)) and _leaf(interpreter.dotted(owner)) == "TaskType":
                    value = arg.value.attr.value  # TaskType.CAUSAL_LM is given as "CAUSAL_LM"
            if value is not conditions.UNKNOWN_LITERAL:
                keywords[arg.keyword.value] = value
            else:
                unknown.append(arg.keyword.value)
    made = interpreter.new_value(
        Kind.PEFT_CONFIG, site.node, "the peft config was built here", config_class=_owner(site),
        peft_config=keywords, unknown_keywords=tuple(unknown) or None,
    )  # fmt: skip
    return frozenset({made})


def same(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    if site.method is not None and api.receivers:
        models = [v for v in site.receiver if v.kind in MODEL_KINDS]
        return or_unknown(models) if known(site.receiver) else frozenset(models) | UNKNOWN
    return site.role(api, "model")


def state_dict(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    owners = sorted(str(v.site) for v in site.receiver if v.kind in MODEL_KINDS)
    adapter = all(v.kind is Kind.PEFT_MODEL for v in site.receiver) and bool(owners)
    return frozenset(
        {interpreter.new_value(Kind.STATE_DICT, site.node, None, of=tuple(owners), adapter=adapter or None)}
    )


def parameters(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    models = [v for v in _unwrapped(site.receiver) if v.kind in MODEL_KINDS]
    owners = tuple(sorted(str(v.site) for v in models))
    sites = tuple(sorted({v.site for v in models}, key=str))
    made = interpreter.new_value(
        Kind.PARAMETERS, site.node, None, of=owners, sites=sites, named=site.method == "named_parameters",
        models=tuple(sorted(models, key=_order)) or None,
    )  # fmt: skip
    return frozenset({made})


def _order(value: Value) -> tuple[str, str]:
    return (value.kind.value, str(value.site))


def _parameter_owners(value: Value) -> tuple[str, ...]:
    if value.kind is Kind.PARAMETERS:
        return tuple(value.fact("of", ()))
    return ()


def nothing(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    return NONE


def distributed(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    return _wrapping(interpreter, site, site.role(api, "model"))


def _wrapping(interpreter: Interpreter, site: CallSite, module: Values) -> Values:
    """A wrapper made here whose ``.module`` is ``module`` (DDP, an EMA's copy, a DeepSpeed engine)."""
    return frozenset({interpreter.new_value(Kind.DISTRIBUTED, site.node, None).with_attrs({"module": module})})


def copy(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    return _copies(site.role(api, "model"), site)


def _copies(values: Values, site: CallSite) -> Values:
    return frozenset(
        v if v.kind in (Kind.UNKNOWN, Kind.CONST, Kind.STRING) else replace(v, site=("copy", id(site.node), v.site))
        for v in values
    )


def fabric_setup(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``fabric.setup(model, *optimizers)``: the module in Fabric's wrapper, the optimizers as given."""
    if site.spread or not site.args:
        return UNKNOWN
    wrapped = _wrapping(interpreter, site, site.args[0])
    items = (wrapped, *site.args[1:])
    return wrapped if len(items) == 1 else frozenset({interpreter.new_value(Kind.TUPLE, site.node, None, items=items)})


def deepspeed_engine(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``engine, optimizer, _, _ = deepspeed.initialize(model=model, ...)``: the engine wraps it (``.module``)."""
    engine = distributed(interpreter, api, site)
    items = (engine, UNKNOWN, UNKNOWN, UNKNOWN)
    return frozenset({interpreter.new_value(Kind.TUPLE, site.node, None, items=items)})


def averaged(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``AveragedModel(model)``, ``ModelEmaV2(model)``: a wrapper whose ``.module`` is a deep copy of
    the model, whose weights it then averages."""
    return _wrapping(interpreter, site, _copies(site.role(api, "model"), site))


def merge(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """merge_and_unload()/unload(): the base comes back without PEFT layers; the wrapper is emptied."""
    wrappers = [v for v in site.receiver if v.kind is Kind.PEFT_MODEL]
    if not wrappers:
        return UNKNOWN
    facts = {k: v for k, v in wrappers[0].facts if k in _MODEL_FACTS}
    discarded = (Origin(site.unit, site.node, "the merged model was discarded here", site.statement),)
    interpreter.transform_everywhere(
        {v.site for v in wrappers},
        lambda v: v.updated(unloaded=True, merge_discarded=discarded if site.discarded else None),
    )
    bases = {v.fact("base_site") for v in wrappers}
    merged = interpreter.new_value(Kind.BASE_MODEL, site.node, None, merged=True, **facts)
    if len(bases) == 1 and None not in bases:
        base = bases.pop()
        interpreter.transform_everywhere(
            {base}, lambda v: replace(v, kind=Kind.BASE_MODEL, origin=()).updated(merged=True, injected_by=None)
        )
        merged = replace(merged, site=base)
    return frozenset({merged})


def base_of(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    return frozenset(_injected_base(v) for v in site.receiver if v.kind is Kind.PEFT_MODEL) or UNKNOWN


def _injected_base(wrapper: Value) -> Value:
    facts = {k: v for k, v in wrapper.facts if k in _MODEL_FACTS}
    site = wrapper.fact("base_site") or ("base-of", wrapper.site)
    return Value(Kind.INJECTED_BASE, site=site, origin=wrapper.origin, facts=make_facts(**facts))


def never_returns(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    interpreter.frame.state = None
    return UNKNOWN


def trainer(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """A transformers/trl trainer keeps its model; given ``peft_config=``, trl wraps it first."""
    models = site.role(api, "model")
    peft_config = site.role(api, "peft_config")
    attrs: dict[str, Values] = {}
    if site.has_role(api, "peft_config") and not all(is_none(v) for v in peft_config):
        wrapped = wrap(interpreter, registry.function_api("peft.get_peft_model"), site.for_trainer(), how=_owner(site))  # type: ignore[arg-type]
        may_be_none = any(v.kind is Kind.CONST or v.kind is Kind.UNKNOWN for v in peft_config)
        attrs["model"] = wrapped | (models if may_be_none else frozenset())
    elif site.has_role(api, "model"):
        attrs["model"] = models
    for role in ("ref_model", "args", "callbacks"):
        if site.has_role(api, role):
            attrs[role] = site.role(api, role)
    given = conditions.key_of(site.role_node(api, "args")) if site.has_role(api, "args") else None
    part = interpreter.placeholder_part(given) if given else None  # a hook's ``args.output_dir``
    made = interpreter.new_value(Kind.TRAINER, site.node, None, trainer_class=_owner(site), args_part=part)
    made = made.with_attrs(attrs) if attrs else made
    if site.method == "__init__":  # super().__init__(model=...) in a Trainer subclass: on self
        first = interpreter.frame.function.positional()[0].name.value if interpreter.frame.function else None
        if first is not None:
            for name, values in attrs.items():
                interpreter.bind(f"{first}.{name}", values)
        return NONE
    return frozenset({made})


def train(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``trainer.train(resume_from_checkpoint=...)`` runs a Trainer subclass's overrides (the resume
    loads with ``_load_from_checkpoint``, ``_save`` writes; both in its checkpoint directory)."""
    resume = site.role(api, "resume") if site.has_role(api, "resume") else NONE
    resumes = not all(v.kind is Kind.CONST and not v.fact("value") for v in resume)
    for hook in hooks.TRAINER_HOOKS["train"]:
        if hook != "_load_from_checkpoint" or resumes:
            _run_hook(interpreter, site, hook, lambda owner: _checkpoint_dir(interpreter, owner))
    _run_callbacks(interpreter, site)
    return NONE


def _run_callbacks(interpreter: Interpreter, site: CallSite) -> None:
    """The events of a run, on each callback of the run's own classes given to the trainer (``args``
    and ``model`` are the trainer's: a hook that saves the model writes where ``args.output_dir`` says)."""
    for trainer in sorted(site.receiver, key=stable_key):
        if trainer.kind is not Kind.TRAINER:
            continue
        given = trainer.attr("args")
        model = trainer.attr("model")
        passed = {name: UNKNOWN for name in hooks.CALLBACK_KEYWORDS} | {"model": model or UNKNOWN}
        run = CallbackRun(interpreter, trainer.attr("callbacks") or frozenset())
        for hook in hooks.CALLBACK_HOOKS:
            kwargs = passed | {name: UNKNOWN for name in hooks.CALLBACK_EVENT_KEYWORDS.get(hook, ())}
            hook_site = site.with_arguments((given or UNKNOWN, UNKNOWN, UNKNOWN), kwargs)
            run.event(hook, replace(hook_site, given_parts=(trainer.fact("args_part"),)))
        run.finish()


def add_callback(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``trainer.add_callback(cb)``: the trainer (every alias of it) fires its events on ``cb`` too."""
    if len(site.args) != 1 or site.spread:
        return NONE
    added = interpreter.new_value(Kind.LIST, site.node, None, items=(site.args[0],))

    def more(trainer: Value) -> Value:
        return trainer.with_attrs({"callbacks": (trainer.attr("callbacks") or frozenset()) | {added}})

    interpreter.transform_everywhere({v.site for v in site.receiver if v.kind is Kind.TRAINER}, more, nested=False)
    return NONE


def settings(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``TrainingArguments(output_dir="runs/x", ...)``: its keywords are its attributes (what is
    not given is unknown: the library's defaults are not modelled)."""
    attrs = dict(site.kwargs)
    if site.has_role(api, "output_dir"):
        given = site.role(api, "output_dir")
        node = site.role_node(api, "output_dir")
        if node is not None and not known(given):
            # an unknown folder (``output_dir=cfg.out``) is the place ``args.output_dir`` names anywhere
            given = interpreter.strings(node, interpreter.shapes(given, node), sources=[given])
        attrs["output_dir"] = given
    return frozenset({interpreter.new_value(Kind.NAMESPACE, site.node, None).with_attrs(attrs)})


def save_model(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``trainer.save_model(dir)`` on a Trainer subclass runs its ``_save(dir)``."""
    given = site.role(api, "output_dir") if site.has_role(api, "output_dir") else None
    if given is None or given == NONE:  # ``save_model()``: transformers saves to ``self.args.output_dir``
        settings = frozenset().union(*(v.attr("args") or UNKNOWN for v in site.receiver if v.kind is Kind.TRAINER))
        given = interpreter.attribute_of(settings, "output_dir", None) if settings else UNKNOWN
    _run_hook(interpreter, site, "_save", lambda owner: given)
    return NONE


def _run_hook(interpreter: Interpreter, site: CallSite, hook: str, directory: Callable[[str], Values]) -> None:
    for value in sorted(site.receiver, key=stable_key):
        info = value.fact("class")
        if value.kind is not Kind.TRAINER or info is None or info.lookup(hook) is None:
            continue  # the library's own method: nothing of the analysed code runs
        func = site.node.func
        method = interpreter.attribute_of_value(value, hook, func, True)
        hook_site = site.with_arguments((directory(info.name),), {})
        interpreter.call_values(method, replace(hook_site, method=hook), None, func)


def _checkpoint_dir(interpreter: Interpreter, owner: str) -> Values:
    return interpreter.strings(None, [paths.placeholder(f"checkpoint of {owner}")])


def arguments(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """accelerate's prepare: the same objects back, in order (a tuple for several); its keywords
    (``device_placement``, ``evaluation_mode``) change where they live, not what comes back."""
    if site.spread:
        return UNKNOWN
    if len(site.args) == 1:
        return site.args[0]
    return frozenset({interpreter.new_value(Kind.TUPLE, site.node, None, items=tuple(site.args))})


def unwrap(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    return or_unknown(_unwrapped(site.role(api, "model")))


def _unwrapped(values: Values) -> set[Value]:
    """The modules inside DDP/DataParallel/FSDP wrappers among ``values``, the others as they are."""
    found: set[Value] = set()
    for value in values:
        inner = value.attr("module") if value.kind is Kind.DISTRIBUTED else None
        found |= inner if inner is not None else {value}
    return found


def attribute(interpreter: Interpreter, value: Value, name: str) -> Values:
    """What the registry says ``value.name`` is for a library object."""
    kind = value.kind
    if kind is Kind.PEFT_MODEL and name == "base_model" and value.fact("config_class") in registry.FREEZING_CONFIGS:
        # the wrapper's tuner (a ``LoraModel``: the PEFT layers are in it), not the model it wraps;
        # a prompt-learning wrapper's ``base_model`` is the model itself, so a config not known
        # to be a tuner's (an adapter read from disk) gives the injected base, as ``.model`` does
        return frozenset({value.updated(tuner=True)})
    if kind is Kind.PEFT_MODEL and name in ("model", "base_model"):
        return frozenset({_injected_base(value)})
    if kind is Kind.INJECTED_BASE and name == "model" and value.origin:
        return frozenset({value})
    if kind is Kind.TRAINER and name in hooks.TRAINER_ALIASES:
        return value.attr(hooks.TRAINER_ALIASES[name]) or UNKNOWN
    if kind is Kind.TRAINER and name in hooks.TRAINER_OBJECTS:
        return frozenset({Value(hooks.TRAINER_OBJECTS[name], site=(name, value.site))})
    if kind is Kind.PIPELINE and name in registry.PIPELINE_COMPONENTS:
        return frozenset({_component(value, name)})
    if kind in MODEL_KINDS and name in registry.SUBMODULE_ATTRIBUTES:
        return frozenset({_submodule(value, name)})  # ``model.score``: the head
    if name == "_orig_mod" and kind in MODEL_KINDS:
        return frozenset({value})
    if kind is Kind.OUTPUT:
        return frozenset({value})  # ``out.loss``, ``out.logits``: tensors of the same forward pass
    if kind is Kind.STRING and name == "parent":
        return pathcalls.parent_of(interpreter, frozenset({value}), None)  # ``Path(__file__).parent``
    return UNKNOWN


def _component(pipeline: Value, name: str) -> Value:
    """``pipe.unet``: a model of the pipeline's, the same one on every read."""
    facts = make_facts(model_class=f"pipeline.{name}")
    return Value(Kind.BASE_MODEL, site=(pipeline.site, name), guards=pipeline.guards, facts=facts)


def submodule(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``model.get_input_embeddings()``: one of the model's own modules."""
    method = site.method or ""
    return frozenset(_submodule(v, method) for v in site.receiver if v.kind in MODEL_KINDS) or UNKNOWN


def _submodule(model: Value, name: str) -> Value:
    """A module of the model's (its head, its embeddings), the same one on every read; it keeps the
    model's facts, and its name (the verifier rebuilds the model and takes that module)."""
    facts = {k: v for k, v in model.facts if k in _MODEL_FACTS}
    return Value(
        Kind.BASE_MODEL, site=(model.site, name), guards=model.guards, facts=make_facts(**facts, submodule=name)
    )


def _chain_key(site: CallSite) -> tuple[int, ...]:
    return tuple(id(origin.node) for origin in site.call_chain)


_VERBS: dict[str, Verb] = {
    "wrap": wrap,
    "inject": _inject_verb,
    "new": new,
    "settings": settings,
    "add_callback": add_callback,
    "lightning_fit": lightning.fit,
    "lightning_trainer": lightning.trainer,
    "save_hyperparameters": lightning.save_hyperparameters,
    "config": config,
    "same": same,
    "state_dict": state_dict,
    "submodule": submodule,
    "parameters": parameters,
    "requires_grad": training.requires_grad,
    "parameters_of": training.parameters_of,
    "output": training.output,
    "forward": training.forward,
    "same_output": training.same_output,
    "outputs_among_arguments": training.outputs_among_arguments,
    "load_adapter": training.load_adapter,
    "set_adapter": training.set_adapter,
    "add_weighted_adapter": training.add_weighted_adapter,
    "disable_adapter": training.disable_adapter,
    "load_file": training.load_file,
    "delete_adapter": training.delete_adapter,
    "hub_download": training.hub_download,
    "none": nothing,
    "torch_load": files.torch_load,
    "distributed": distributed,
    "copy": copy,
    "merge": merge,
    "base_of": base_of,
    "never_returns": never_returns,
    "trainer": trainer,
    "train": train,
    "save_model": save_model,
    "arguments": arguments,
    "unwrap": unwrap,
    "partial": pyobjects.partial,
    "getattr": pyobjects.getattr_,
    "named_tuple": records.named_tuple,
    "replaced": records.replaced,
    "append": pyobjects.append,
    "view": pyobjects.view,
    "get": pyobjects.get,
    "update": pyobjects.update,
    "path": pathcalls.path,
    "joinpath": pathcalls.joinpath,
    "with_suffix": pathcalls.with_suffix,
    "averaged": averaged,
    "deepspeed_engine": deepspeed_engine,
    "fabric_setup": fabric_setup,
    "torch_save": files.torch_save,
    "dirname": pathcalls.dirname,
    "getenv": pathcalls.getenv,
    "move": pathcalls.move,
    "glob": pathcalls.glob,
    "same_items": pyobjects.same_items,
    "pairs": loops.pairs,
    "field_default": records.field_default,
    "one_item": pyobjects.one_item,
    "length": pyobjects.length,
    "new_dict": pyobjects.new_dict,
    "dict_copy": pyobjects.dict_copy,
    "new_defaultdict": pyobjects.new_defaultdict,
    "namespace": pyobjects.namespace,
    "string_method": pyobjects.string_method,
    "heap_push": pyobjects.heap_push,
    "same_path": pathcalls.same_path,
    "format": pathcalls.format_string,
    "add_argument": cliargs.add_argument,
    "argument_group": cliargs.argument_group,
    "open_file": pyobjects.open_file,
    "read_file": pyobjects.read_file,
    "config_file": pyobjects.config_file,
    "parse_args": cliargs.parse_args,
    "hf_argument_parser": cliargs.hf_argument_parser,
    "parse_into_dataclasses": cliargs.parse_into_dataclasses,
    "super": pyobjects.super_,
}
__all__ = ["apply", "attribute", "names"]
