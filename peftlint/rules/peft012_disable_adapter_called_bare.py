from __future__ import annotations

from typing import TYPE_CHECKING

from peftlint.analysis.values import Kind, stable_key
from peftlint.rules.base import Rule, model_facts

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite


class DisableAdapterCalledBare(Rule):
    """
    ## What it does
    Finds `m.disable_adapter()` written as a statement of its own on a PEFT model.

    ## Why is this bad?
    peft's `disable_adapter()` is a context manager: calling it builds the manager and does
    nothing else. The adapter stays active, so the "base model" outputs the code computes next are
    the adapted model's outputs. Nothing is raised.

    ## Example
    ```python
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained("gpt2"), "out/adapter")
    model.disable_adapter()
    base_logits = model(**inputs).logits
    ```

    ## Fix
    Use it as a context manager around the code that needs the base model:
    ```python
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained("gpt2"), "out/adapter")
    with model.disable_adapter():
        base_logits = model(**inputs).logits
    ```
    There is no autofix: which statements belong inside the `with` block is for the author to say.
    To switch the adapter off for good, `model.disable_adapter_layers()` is a plain method.
    Not flagged: `with m.disable_adapter():`, `ExitStack().enter_context(m.disable_adapter())`,
    transformers' `model.disable_adapters()` (a plain method), and other classes' methods of the
    same name.

    ## References
    - huggingface/peft#430
    """

    code = "PEFT012"
    name = "disable-adapter-called-bare"
    summary = "disable_adapter() called as a statement: it is a context manager, nothing is disabled."
    reports_at = frozenset({"peft.disable_adapter"})
    peft_only = True
    needs = frozenset({"peft.get_peft_model", "peft.load_adapter_model", "peft.auto_load", "trainer"})

    def on_call(self, site: CallSite) -> None:
        models = sorted((v for v in site.receiver if v.kind is Kind.PEFT_MODEL), key=stable_key)
        if not site.discarded or not models:
            return
        self.context.report(
            self,
            site,
            "`disable_adapter()` is a context manager: called on its own it disables nothing and the adapter "
            "stays active; use `with model.disable_adapter(): ...` around the code that needs the base model",
            related=[self.context.related(models[0].origin[0])] if models[0].origin else (),
            facts=model_facts(models[0]),
        )
