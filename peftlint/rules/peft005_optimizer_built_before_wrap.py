from __future__ import annotations

from typing import TYPE_CHECKING

from peftlint.analysis.values import Kind, Value, stable_key
from peftlint.rules.base import Rule

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.values import Values

_USES = {
    "optimizer.step": "the optimizer steps here",
    "trainer": "the optimizer is given to the trainer here",
    "accelerate.prepare": "the optimizer is prepared here",
}


class OptimizerBuiltBeforeWrap(Rule):
    """
    ## What it does
    Finds an optimizer built over `model.parameters()` before `get_peft_model(model, ...)` (or
    `inject_adapter_in_model`) adds the adapter to that same model, and used afterwards: stepped,
    given to a trainer as `optimizers=(optimizer, scheduler)`, or passed to `accelerator.prepare`.

    ## Why is this bad?
    An optimizer holds the parameters it was given when it was built. The adapter's parameters
    did not exist yet, and `get_peft_model` then freezes every parameter the optimizer holds: the
    optimizer steps over nothing that has a gradient, `lora_B` stays zero and the adapter never
    learns. Nothing is raised.

    ## Example
    ```python
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained("gpt2")
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-4)
    model = get_peft_model(model, LoraConfig(r=8))
    for batch in loader:
        model(**batch).loss.backward()
        optimizer.step()
    ```

    ## Fix
    Build the optimizer after the wrap, over the wrapped model's parameters:
    ```python
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained("gpt2")
    model = get_peft_model(model, LoraConfig(r=8))
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-4)
    for batch in loader:
        model(**batch).loss.backward()
        optimizer.step()
    ```
    Not flagged: an optimizer rebuilt after the wrap, an optimizer over another model, one never
    used after the wrap.

    ## References
    - peft's quicktour: the optimizer is created from the PEFT model's parameters
    """

    code = "PEFT005"
    name = "optimizer-built-before-wrap"
    summary = "Optimizer built over the model before get_peft_model: it holds none of the adapter's parameters."
    reports_at = frozenset({"optimizer.step", "trainer", "accelerate.prepare"})
    peft_only = True
    needs = frozenset({"model.parameters", "torch.optimizer", "peft.get_peft_model", "peft.inject_adapter_in_model"})

    def on_call(self, site: CallSite) -> None:
        for optimizer in _stale(site):
            creation = next((o for o in optimizer.origin if o.node is not None), None)
            if creation is None or site.unit is None:
                continue
            related = [self.context.related(origin) for origin in optimizer.fact("stale", ())]
            related += self.context.at_call(site, _USES[site.fact or ""])
            self.context.report(
                self,
                site,
                f"this optimizer is built over the model's parameters before `{optimizer.fact('stale_by')}` adds the "
                "adapter, and is used after it: it holds none of the adapter's parameters and the adapter never "
                "learns; build the optimizer after the wrap, from the PEFT model's parameters",
                related=related,
                facts={"optimizer_class": optimizer.fact("optimizer_class")},
                at=creation,
            )


def _stale(site: CallSite) -> list[Value]:
    """The optimizers this call uses whose model got its adapter after they were built."""
    given: list[Values] = []
    if site.fact == "optimizer.step":
        given.append(site.receiver)
    elif site.fact == "trainer" and site.api is not None:
        for holder in site.role(site.api, "optimizers"):
            given += list(holder.fact("items", ())) if holder.kind is Kind.TUPLE else []
    else:
        given += list(site.args)
    found = {v for values in given for v in values if v.kind is Kind.OPTIMIZER and v.fact("stale")}
    return sorted(found, key=stable_key)
