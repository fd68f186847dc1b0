from __future__ import annotations

from typing import TYPE_CHECKING

from peftlint.rules.base import Rule, model_facts, with_peft_layers

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite


class KbitPrepAfterWrap(Rule):
    """
    ## What it does
    Finds `prepare_model_for_kbit_training(model)` on a model that already has its PEFT adapter:
    the result of `get_peft_model`, a loaded `PeftModel`, or a base `get_peft_model` injected into.

    ## Why is this bad?
    `prepare_model_for_kbit_training` freezes every parameter of the model it is given. Called
    after the wrap, it freezes the adapter too: 0 trainable parameters, and training changes
    nothing. Nothing is raised.

    ## Example
    ```python
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained("gpt2")
    model = get_peft_model(model, LoraConfig(r=8))
    model = prepare_model_for_kbit_training(model)
    ```

    ## Fix
    Prepare the quantized base first, then wrap it:
    ```python
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained("gpt2")
    model = prepare_model_for_kbit_training(model)
    model = get_peft_model(model, LoraConfig(r=8))
    ```

    ## References
    - huggingface/trl#4081
    """

    code = "PEFT006"
    name = "kbit-prep-after-wrap"
    summary = "prepare_model_for_kbit_training after the wrap freezes the adapter: 0 trainable parameters."
    reports_at = frozenset({"peft.prepare_model_for_kbit_training"})
    peft_only = True
    needs = frozenset({"peft.get_peft_model", "peft.load_adapter_model", "peft.auto_load", "trainer"})

    def on_call(self, site: CallSite) -> None:
        assert site.api is not None
        # an adapter loaded frozen (no ``is_trainable=True``) was frozen before this call: training it
        # is PEFT003's finding, not this call's doing (textgen loads one, prepares, merges and wraps anew)
        wrapped = [v for v in with_peft_layers(site.role(site.api, "model")) if not v.fact("frozen")]
        if not wrapped:
            return
        self.context.report(
            self,
            site,
            "`prepare_model_for_kbit_training` freezes every parameter of a model that already has its adapter: "
            "0 trainable parameters, training changes nothing; call it before `get_peft_model`",
            related=[self.context.related(wrapped[0].origin[0])],
            facts=model_facts(wrapped[0]),
        )
