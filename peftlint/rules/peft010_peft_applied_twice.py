from __future__ import annotations

from typing import TYPE_CHECKING

from peftlint.findings import Related
from peftlint.rules.base import Rule, model_facts, with_peft_layers

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite


class PeftAppliedTwice(Rule):
    """
    ## What it does
    Finds `get_peft_model(model, config)` where `model` already carries PEFT layers: the result of
    `get_peft_model`, of `PeftModel.from_pretrained` or `AutoPeftModel*.from_pretrained`, a base
    already given to `get_peft_model`, or the same variable wrapped again on a later loop
    iteration.

    ## Why is this bad?
    peft re-initialises the existing adapter of the same name in place, so whatever it had learnt
    or loaded is gone (measured with peft 0.21.2: the first adapter's outputs become the base's).
    When the model given is the wrapper itself, parameter names also gain another
    `base_model.model.` level, and the saved adapter does not load back onto a fresh base (the
    reload equals the base model). peft only warns.

    ## Example
    ```python
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained("gpt2")
    model = get_peft_model(model, LoraConfig(r=8))
    model = get_peft_model(model, LoraConfig(r=16))
    ```

    ## Fix
    Wrap once; to add a second adapter to a PEFT model, use
    `model.add_adapter("second", config)` and `model.set_adapter("second")`, or merge first with
    `model = model.merge_and_unload()`.
    ```python
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained("gpt2")
    model = get_peft_model(model, LoraConfig(r=8))
    model.add_adapter("second", LoraConfig(r=16))
    ```
    Not flagged: trl trainers given a PEFT model and `peft_config=` (they raise), a merge in
    between, a fresh model in between, exclusive branches.

    ## References
    - huggingface/peft#2295, huggingface/peft#2306
    """

    code = "PEFT010"
    name = "peft-applied-twice"
    summary = "get_peft_model on a model that already has PEFT layers: its adapter is reset or nested."
    reports_at = frozenset({"peft.get_peft_model"})
    peft_only = True
    needs = frozenset({"peft.get_peft_model", "peft.load_adapter_model", "peft.auto_load", "trainer"})

    def on_call(self, site: CallSite) -> None:
        from peftlint.analysis import conditions

        assert site.api is not None
        given = site.role(site.api, "model")
        wrapped = [v for v in with_peft_layers(given) if not v.fact("adapters_deleted")]
        if not wrapped:
            return
        looped = any(origin.node is site.node for v in wrapped for origin in v.origin)
        if looped and any(v.fact("merged") for v in given):
            return  # some iterations merge first: which path loops back, the analysis cannot tell
        only_looped = all(any(o.node is site.node for o in v.origin) for v in wrapped)
        if only_looped and conditions.reads_unknown_slot(site.role_node(site.api, "model")):
            return  # ``models[i] = get_peft_model(models[i], cfg)``: each iteration wraps another slot
        related = []
        for value in wrapped:
            for origin in value.origin:
                if origin.node is site.node:
                    note = "an earlier loop iteration of this call gave the model its PEFT layers"
                    related.append(Related(origin.unit.path, origin.unit.start(origin.node), note))
                else:
                    related.append(self.context.related(origin))
        first = str(wrapped[0].fact("wrapped_by") or wrapped[0].fact("injected_by") or "get_peft_model")
        self.context.report(
            self,
            site,
            "`get_peft_model` is given a model that already has PEFT layers: with the same adapter name the "
            "existing adapter is re-initialised (its training is lost), and a wrapped model is nested one level "
            "deeper, so its save does not load back; add a second adapter with `add_adapter()` + `set_adapter()`, "
            "or merge first with `model = model.merge_and_unload()`",
            related=related,
            facts={
                **model_facts(wrapped[0]),
                "first_wrap": first.split(".")[0] if first.startswith("AutoPeft") else first,
            },
        )
