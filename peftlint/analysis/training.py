"""The registry's verbs about training: whether an adapter is frozen, what makes it trainable
again, which adapter is active, and the state dicts read from adapter files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from peftlint.analysis import conditions, paths, pyobjects, registry
from peftlint.analysis.values import (
    MODEL_KINDS,
    NONE,
    UNKNOWN,
    Kind,
    Origin,
    Value,
    Values,
    known,
    or_unknown,
    parameter_sets,
    stable_key,
)

if TYPE_CHECKING:
    import libcst as cst

    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.interpreter import Interpreter


def frozen_load(site: CallSite, api: registry.Api) -> str | None:
    """A peft load without ``is_trainable=True`` (absent, or literally False) gives a frozen adapter."""
    if site.spread:
        return None
    trainable = site.literal(api, "is_trainable")
    absent = not site.has_role(api, "is_trainable")
    return "is_trainable" if absent or trainable is False else None


def frozen_config(configs: Values) -> str | None:
    """A LoRA-family config with ``inference_mode=True`` (written, or read back from a saved
    adapter by ``from_pretrained``, where peft always saves True) freezes the adapter it adds."""
    if not configs or not known(configs):
        return None
    why = set()
    for value in configs:
        if value.kind is not Kind.PEFT_CONFIG or value.fact("config_class") not in registry.FREEZING_CONFIGS:
            return None
        keywords = dict(value.fact("peft_config", ()))
        if "inference_mode" in keywords:
            mode = keywords["inference_mode"]
        else:
            mode = _saved_adapter(value.fact("from_pretrained"))
        if mode is not True or "inference_mode" in (value.fact("unknown_keywords") or ()):
            return None
        why.add("inference_mode")
    return why.pop() if why else None


_ADAPTER_DIRECTORY = ("adapter", "lora", "checkpoint", "ckpt", "peft", "sft", "dpo")


def _saved_adapter(paths_read: object) -> bool:
    """``LoraConfig.from_pretrained(path)`` reads a saved adapter's config (saved with
    ``inference_mode=True``) when every path it may read says it is one (``out/sft-lora``, or the
    option naming it, ``{args.sft_adapter}``); a hand-written config file the code names otherwise
    may say anything."""
    if not isinstance(paths_read, tuple) or not paths_read:
        return False
    return all(isinstance(p, str) and any(word in p.lower() for word in _ADAPTER_DIRECTORY) for p in paths_read)


def set_attribute(interpreter: Interpreter, target: cst.Attribute, value: cst.BaseExpression) -> None:
    """``cfg.inference_mode = False`` changes the config object, for every alias of it."""
    key = conditions.key_of(target.value)
    owners = interpreter.lookup(key) if key is not None else None
    if owners and any(v.kind is Kind.PEFT_CONFIG for v in owners):
        set_config_attribute(interpreter, owners, target.attr.value, value)


def unfreezing_loop(interpreter: Interpreter, node: cst.For, iterated: Values) -> None:
    """``for p in model.parameters(): p.requires_grad = True`` (under any test: ``if "lora" in
    n``) may make the model's adapter trainable again."""
    from peftlint.analysis.grads import parameters_unfrozen

    sites = {site for v in parameter_sets(iterated) for site in v.fact("sites", ())}
    if sites and parameters_unfrozen(node):
        thaw(interpreter, sites)
    _loop_over_taken_parameters(interpreter, node, iterated)


def _loop_over_taken_parameters(interpreter: Interpreter, node: cst.For, iterated: Values) -> None:
    """``params = list(model.parameters())`` ... ``for p in params:`` is a loop over every
    parameter of the model as much as ``for p in model.parameters():`` is: the rules about such
    loops are told of it as of a ``model.parameters()`` call where the loop names its iterable.
    Not a filtered subset (``filter(...)``, a comprehension), and only when every value the
    iterable can hold is such a set; a loop over the call itself is that call's own site."""
    from peftlint.analysis.callsite import CallSite

    if interpreter.listener is None or interpreter.quiet:
        return
    if not iterated or any(v.kind is not Kind.PARAMETERS or v.fact("subset") for v in iterated):
        return
    models = frozenset(model for v in iterated for model in v.fact("models") or ())
    api = registry.method_api("parameters", frozenset(model.kind for model in models)) if models else None
    if api is None or _calls(node.iter, api.methods):
        return
    site = CallSite.implied(
        interpreter,
        node.iter,
        unit=interpreter.unit,
        statement=node,
        method="parameters",
        api=api,
        receiver=models,
        call_chain=interpreter.frame.call_chain,
    )
    interpreter.listener(site)


def _calls(node: cst.BaseExpression, methods: tuple[str, ...]) -> bool:
    import libcst as cst

    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in methods


def set_config_attribute(interpreter: Interpreter, configs: Values, name: str, node: cst.BaseExpression) -> None:
    """``cfg.inference_mode = False``: the config object (every alias of it) now says so."""
    value = conditions.literal(node)
    sites = {v.site for v in configs if v.kind is Kind.PEFT_CONFIG}

    def changed(config: Value) -> Value:
        keywords = dict(config.fact("peft_config", ()))
        unknown = set(config.fact("unknown_keywords") or ())
        if value is conditions.UNKNOWN_LITERAL:
            keywords.pop(name, None)
            unknown.add(name)
        else:
            keywords[name] = value
            unknown.discard(name)
        return config.updated(peft_config=keywords, unknown_keywords=tuple(sorted(unknown)) or None)

    interpreter.transform_everywhere(sites, changed)


def parameters_of(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``filter(f, m.parameters())`` / ``list(m.parameters())``: some of m's parameters; else unknown."""
    given = site.role(api, "iterable")
    if given and all(v.kind is Kind.PARAMETERS for v in given):
        return given if api.fact != "builtins.filter" else frozenset(v.updated(subset=True) for v in given)
    if api.fact == "builtins.list" and given and all(v.kind in (Kind.LIST, Kind.TUPLE) for v in given):
        return pyobjects.same_items(interpreter, api, site)  # ``list(Path(out).glob("*.pt"))``
    return pyobjects.listed_range(interpreter, site) or UNKNOWN


def unfreeze(interpreter: Interpreter, models: Values) -> None:
    """The model's parameters may now require grad: whatever froze its adapter no longer holds."""
    thaw(interpreter, {v.site for v in models if v.kind in MODEL_KINDS})


def thaw(interpreter: Interpreter, sites: set[object]) -> None:
    """Whatever froze these models' adapters no longer holds: for the models, and for the
    parameters taken from them earlier (``lora = [p for n, p in m.named_parameters() ...]``, then
    ``for p in lora: p.requires_grad = True``), which remember the model they came from."""
    if not sites:
        return
    interpreter.transform_everywhere(sites, lambda v: v.updated(frozen=None))

    def thawed(parameters: Value) -> Value:
        models = tuple(m.updated(frozen=None) if m.site in sites else m for m in parameters.fact("models") or ())
        return parameters.updated(models=models or None)

    taken = interpreter.sites_where(lambda v: v.kind is Kind.PARAMETERS and not sites.isdisjoint(v.fact("sites", ())))
    interpreter.transform_everywhere(taken, thawed)


def requires_grad(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``model.requires_grad_()`` / ``requires_grad_(True)`` unfreezes every parameter of it."""
    if site.literal(api, "requires_grad") is not False:
        unfreeze(interpreter, site.receiver)
    models = [v for v in site.receiver if v.kind in MODEL_KINDS]  # the same module back
    return or_unknown(models) if known(site.receiver) else frozenset(models) | UNKNOWN


def forward(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``model(**batch)``: an output (its ``.loss``, ``.logits``...) that remembers the model."""
    models = tuple(sorted((v for v in site.receiver if v.kind in MODEL_KINDS), key=stable_key))
    made = interpreter.new_value(Kind.OUTPUT, site.node, None, models=models)
    return frozenset({made}) if known(site.receiver) else frozenset({made}) | UNKNOWN


def same_output(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``loss.mean()``, ``loss.float()``: the same graph."""
    return site.receiver


def outputs_among_arguments(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``F.cross_entropy(out.logits, labels)``: a tensor of the graph of the forward passes it is
    given. Beside them another tensor may take part (unknown), except the class indices a
    classification loss takes as its target, which carry no gradient."""
    arguments = [*site.args, *site.kwargs.values()]
    given = frozenset(v for values in arguments for v in values if v.kind is Kind.OUTPUT)
    if not given:
        return UNKNOWN
    classified = (site.callee or "").rsplit(".", 1)[-1] in _CLASS_INDEX_LOSSES and not site.spread
    inputs = site.arg(0, "input")
    if classified and inputs and all(v.kind is Kind.OUTPUT for v in inputs):
        return given  # a tensor of class indices (or a forward pass's own probabilities) as target
    return given | UNKNOWN


_CLASS_INDEX_LOSSES = frozenset({"cross_entropy", "nll_loss"})


def combined_outputs(left: Values, right: Values) -> Values | None:
    """``out.loss / accumulation`` or ``a.loss + b.loss``: the outputs both sides come from, and
    unknown where a side holds something else than a constant (another tensor may train more)."""
    if not any(v.kind is Kind.OUTPUT for v in (*left, *right)):
        return None
    outputs = frozenset(v for v in (*left, *right) if v.kind is Kind.OUTPUT)
    other = any(v.kind not in (Kind.OUTPUT, Kind.CONST) for v in (*left, *right))
    return outputs | UNKNOWN if other else outputs


def output(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """A forward pass, ``generate`` or an optimizer step: nothing the analysis tracks comes back."""
    return UNKNOWN


def load_adapter(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``pm.load_adapter(path, adapter_name="b")``: a second adapter, loaded but not active."""
    literal = site.literal_text(api, "adapter_name")
    given = site.role_node(api, "adapter_name")
    if literal == "default" or (literal is None and (given is None or site.spread)):
        return UNKNOWN
    # the adapter's name as code: a literal quoted, a name the code computes as written
    name = repr(literal) if literal is not None else site.code(given)  # type: ignore[arg-type]
    loaded = Origin(site.unit, site.node, f"adapter {name} was loaded here", site.statement)
    sites = {v.site for v in site.receiver if v.kind is Kind.PEFT_MODEL}

    def pending(value: Value) -> Value:  # (the name as code, where it was loaded, the name itself if literal)
        inactive = tuple(a for a in value.fact("inactive_adapters", ()) if a[0] != name)
        return value.updated(inactive_adapters=(*inactive, (name, loaded, literal)))

    interpreter.transform_everywhere(sites, pending)
    return UNKNOWN


def set_adapter(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``set_adapter(...)``: the code now chooses which adapter is active (and it is trainable)."""
    _adapters_managed(interpreter, site.receiver)
    unfreeze(interpreter, site.receiver)
    return NONE


def add_weighted_adapter(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """A combination of adapters, still to be activated with ``set_adapter``: nothing changes."""
    return NONE


def disable_adapter(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``disable_adapter()`` (a context manager) and ``disable_adapters()``: which adapter is active
    afterwards does not change."""
    return UNKNOWN


def _adapters_managed(interpreter: Interpreter, models: Values) -> None:
    """The code now chooses the active adapter itself (on the wrapper, or on ``pm.base_model``)."""
    sites = {v.site for v in models if v.kind is Kind.PEFT_MODEL}
    bases = {v.site for v in models if v.kind is Kind.INJECTED_BASE}
    if bases:
        sites |= interpreter.sites_where(lambda v: v.kind is Kind.PEFT_MODEL and v.fact("base_site") in bases)
    interpreter.transform_everywhere(sites, lambda v: v.updated(inactive_adapters=None, adapter_chosen=True))


def hub_download(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``hf_hub_download(repo, filename)``: a local path that ends in ``filename``."""
    names = site.shapes(api, "filename")
    if not names:
        return UNKNOWN
    where = paths.placeholder(f"hf_hub_download of {site.code(site.role_node(api, 'repo') or site.node)}")
    return interpreter.strings(site.node, [paths.join([where, name]) for name in names])


def delete_adapter(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``delete_adapter(s)(name)``: which adapters the model still carries is no longer known; on
    a PEFT model, that holds for the base it injected its layers into as well (the layers are
    shared: ``get_peft_model(base, cfg2)`` afterwards adds the new adapter to them, nothing nests)."""
    sites = {v.site for v in site.receiver if v.kind in MODEL_KINDS}
    sites |= {v.fact("base_site") for v in site.receiver if v.kind is Kind.PEFT_MODEL and v.fact("base_site")}
    interpreter.transform_everywhere(sites, lambda v: v.updated(adapters_deleted=True))
    return NONE


def load_file(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """safetensors' ``load_file(path)``: a state dict; an ``adapter_model.*`` file holds adapter keys."""
    shapes = tuple(site.shapes(api, "path"))
    adapter = bool(shapes) and all(paths.names_adapter_file(shape) for shape in shapes)
    return frozenset(
        {interpreter.new_value(Kind.STATE_DICT, site.node, None, adapter_keys="file" if adapter else None)}
    )
