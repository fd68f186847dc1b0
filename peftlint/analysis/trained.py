"""Which models a call trains: the fact the rules about frozen adapters share (PEFT003, PEFT007).
No libcst here: rules import it at start-up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from peftlint.analysis.values import Kind, Value, known, parameter_sets

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite

# How a model is trained (``trained``): what the code does to it, and the name of the place
HOW_TRAINED = {
    "trainer": ("a trainer's `train()` trains it", "trainer.train()"),
    "optimizer": ("an optimizer is built over its parameters", "the optimizer"),
    "backward": ("`backward()` runs through its outputs", "backward()"),
}
TRAINING_FACTS = frozenset({"trainer.train", "torch.optimizer", "torch.backward", "accelerate.backward"})


def trained(site: CallSite) -> list[tuple[Value, str]]:
    """The models this call trains, with how: ``trainer.train()`` trains the trainer's ``model``;
    an optimizer built over ``m.parameters()`` trains ``m``; ``loss.backward()`` trains the models
    whose forward passes the loss comes from, when it comes from nothing else."""
    found: list[tuple[Value, str]] = []
    if site.fact == "trainer.train":
        for trainer in site.receiver:
            for model in trainer.attr("model") or ():
                found.append((model, "trainer"))
    elif site.fact == "torch.optimizer" and site.api is not None:
        for params in parameter_sets(site.role(site.api, "params")):
            for model in params.fact("models", ()):
                found.append((model, "optimizer"))
    elif site.fact in ("torch.backward", "accelerate.backward") and site.api is not None:
        loss = site.receiver if site.fact == "torch.backward" else site.role(site.api, "loss")
        models = [model for v in loss for model in v.fact("models", ())]
        # a loss that also runs through a model whose adapter is not frozen (a DPO policy next to
        # its frozen reference) trains that one: the frozen one may be there on purpose
        if loss and known(loss) and all(v.kind is Kind.OUTPUT for v in loss) and all(m.fact("frozen") for m in models):
            found += [(model, "backward") for model in models]
    # a model held (by a trainer, in an optimizer's parameters) on a path this call is not on:
    # ``if mode == "eval": model = <frozen load>`` ... ``if mode != "eval": trainer.train()``
    guards = site.guards
    return [(model, how) for model, how in found if model.feasible_under(guards)]
