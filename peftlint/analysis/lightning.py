"""What PyTorch Lightning does with a LightningModule: the verbs of its registry entries.

``trainer.fit(module)`` runs the module's hooks (hooks.LIGHTNING_HOOKS); ``save_hyperparameters()``
in ``__init__`` keeps ``__init__``'s arguments as ``self.hparams``, which the hooks read
(``torch.save(self.model, f"{self.hparams.out_dir}/model.pt")``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import libcst as cst

from peftlint.analysis import conditions, hooks, names, registry
from peftlint.analysis.callbacks import CallbackRun
from peftlint.analysis.values import NONE, UNKNOWN, Kind, Values, literal_text_of, stable_key

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.interpreter import Interpreter


def trainer(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``lightning.Trainer(callbacks=[...])``: a trainer that keeps its callbacks."""
    made = interpreter.new_value(Kind.TRAINER, site.node, None)
    if site.has_role(api, "callbacks"):
        made = made.with_attrs({"callbacks": site.role(api, "callbacks")})
    return frozenset({made})


def fit(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``trainer.fit(module)`` (``validate``, ``test``): Lightning runs the hooks of its callbacks
    and of the module, each on the module as the caller holds it (a hook that saves the best model
    writes where ``self`` says; a callback's, where the callback's attributes say)."""
    node = site.role_node(api, "model")
    key = conditions.key_of(node) if node is not None else None
    hook_site = replace(site.with_arguments((), {}), spread=True)
    held = frozenset().union(*(v.attr("callbacks") or frozenset() for v in site.receiver if v.kind is Kind.TRAINER))
    callbacks = CallbackRun(interpreter, held)
    for value in sorted(site.role(api, "model"), key=stable_key):
        info = value.fact("class")
        if info is None:
            continue
        module = key
        if module is None:  # ``trainer.fit(LitLM(...))``: the hooks still share the one module's attributes
            module = "__lightning_module__"
            interpreter.bind(module, frozenset({value}))
        given = site.with_arguments((site.receiver, frozenset({value})), {}, spread=True)
        for hook in hooks.LIGHTNING_HOOKS[site.method or "fit"]:
            if not hook.endswith("_step"):
                callbacks.event(hook, given)
            method = info.lookup(hook)
            if method is not None:
                interpreter.inline(method, replace(hook_site, method=hook), frozenset({value}), module)
    callbacks.finish()
    return NONE


def save_hyperparameters(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """``self.save_hyperparameters()`` in a LightningModule's ``__init__``: Lightning reads the
    arguments of the ``__init__`` that calls it (all of them, or the ones named as strings, less
    ``ignore=[...]``) and keeps them as ``self.hparams``, read as attributes afterwards. Any other
    form (a dict or namespace given) leaves ``self.hparams`` unknown."""
    function = interpreter.frame.function
    func = site.node.func if isinstance(site.node, cst.Call) else None
    owner = conditions.key_of(func.value) if isinstance(func, cst.Attribute) else None
    if function is None or owner is None or not _on_lightning_module(site.receiver):
        return NONE
    parameters = [p.name.value for p in function.params()][1:]
    named = [literal_text_of(values) for values in site.args]
    if site.spread or any(name is None for name in named):
        return NONE  # (``save_hyperparameters(cfg)``: what it holds is not followed)
    ignored = _texts(site.kwargs.get("ignore", frozenset()))
    if ignored is None:
        return NONE
    kept = [name for name in (named or parameters) if name in parameters and name not in ignored]
    attrs = {name: interpreter.lookup(name) or UNKNOWN for name in kept}
    hparams = interpreter.new_value(Kind.NAMESPACE, site.node, None).with_attrs(attrs)
    interpreter.bind(f"{owner}.hparams", frozenset({hparams}))
    return NONE


def _on_lightning_module(receiver: Values) -> bool:
    return any(
        base in names.LIGHTNING_MODULES
        for value in receiver
        if value.fact("class") is not None
        for base in value.fact("class").all_library_bases()
    )


def _texts(values: Values) -> frozenset[str] | None:
    """The strings of ``ignore=`` (one string, or a list or tuple of them); None when not all known."""
    if not values:
        return frozenset()
    found: set[str] = set()
    for value in values:
        if value.kind is Kind.STRING and isinstance(value.fact("text"), str):
            found.add(value.fact("text"))
        elif value.kind in (Kind.LIST, Kind.TUPLE):
            for items in value.fact("items") or ():
                inner = _texts(items)
                if inner is None:
                    return None
                found |= inner
        else:
            return None
    return frozenset(found)
