from __future__ import annotations

from typing import TYPE_CHECKING

from peftlint.analysis.values import Value, known
from peftlint.rules.base import Rule, model_facts, with_peft_layers

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite


class AllParametersUnfrozen(Rule):
    """
    ## What it does
    Finds code that makes every parameter of a PEFT model trainable: a loop over
    `model.parameters()` or `model.named_parameters()` that sets `p.requires_grad = True` (or calls
    `p.requires_grad_()`) with no test on the parameter, or `model.requires_grad_()` /
    `model.requires_grad_(True)` on the whole model.

    ## Why is this bad?
    The base model's weights become trainable again: this is full fine-tuning with LoRA's
    bookkeeping on top, with the memory of the full optimizer state, and the adapter that gets
    saved does not hold what was trained. It is usually meant as `is_trainable=True` when loading
    an adapter to resume training.

    ## Example
    ```python
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained("gpt2"), "out/adapter")
    for param in model.parameters():
        param.requires_grad = True
    ```

    ## Fix
    Load the adapter trainable, or unfreeze only the adapter's parameters:
    ```python
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained("gpt2"), "out/adapter", is_trainable=True)
    for name, param in model.named_parameters():
        if "lora_" in name:
            param.requires_grad = True
    ```
    Not flagged: a loop guarded by a test (`if "lora_" in name:`), freezing loops
    (`requires_grad = False`), unfreezing a plain model for full fine-tuning, and unfreezing one
    submodule (`model.classifier.requires_grad_(True)`).

    ## References
    - the tutorial this project comes from: its text_encoder/unet resume code unfreezes everything
    """

    code = "PEFT013"
    name = "all-parameters-unfrozen"
    summary = "Every parameter of a PEFT model made trainable: full fine-tuning instead of the adapter."
    reports_at = frozenset({"model.parameters", "model.requires_grad"})
    peft_only = True
    requires = ((b"requires_grad",),)  # both forms name it
    needs = frozenset(
        {"model.parameters", "peft.get_peft_model", "peft.load_adapter_model", "peft.auto_load", "trainer"}
    )

    def on_call(self, site: CallSite) -> None:
        import libcst as cst

        from peftlint.analysis.grads import parameters_unfrozen

        models = _peft_models(site.receiver)
        if not models:
            return
        if site.fact == "model.requires_grad":
            assert site.api is not None
            if site.has_role(site.api, "requires_grad") and site.literal(site.api, "requires_grad") is not True:
                return
            self._report(site, models[0], None, "whole_model")
            return
        loop = site.statement
        if not isinstance(loop, cst.For) or loop.iter is not site.node:
            return
        for statement, line in parameters_unfrozen(loop, guarded=False):
            self._report(site, models[0], statement, "loop", line)

    def _report(self, site: CallSite, model: Value, node: object, form: str, line: object = None) -> None:
        said = "this loop sets every parameter" if form == "loop" else "`requires_grad_()` sets every parameter"
        self.context.report(
            self,
            site,
            f"{said} of the PEFT model trainable, the base model's included: full fine-tuning with LoRA's "
            "bookkeeping, and the saved adapter does not hold what was trained; load with `is_trainable=True`, "
            "or unfreeze only the adapter's parameters",
            related=[self.context.related(model.origin[0])] if model.origin else (),
            facts={**model_facts(model), "form": form},
            node=node,  # type: ignore[arg-type]
            statement=line,  # type: ignore[arg-type]
        )


def _peft_models(values: frozenset[Value]) -> list[Value]:
    """The receiver is known to carry PEFT layers on every path (a wrapper, or a base injected into)."""
    if not values or not known(values):
        return []
    found = with_peft_layers(values)
    return found if len(found) == len(values) else []
