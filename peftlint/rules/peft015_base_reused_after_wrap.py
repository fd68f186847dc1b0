from __future__ import annotations

from typing import TYPE_CHECKING

from peftlint.analysis.values import Kind, Value, stable_key
from peftlint.findings import Severity
from peftlint.rules.base import Rule, model_facts

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite

_USES = {"model.forward": "forward", "model.generate": "generate", "model.save_pretrained": "save_pretrained"}


class BaseReusedAfterWrap(Rule):
    """
    ## What it does
    Finds a base model used as if it were still plain after `pm = get_peft_model(base, ...)` or
    `pm = PeftModel.from_pretrained(base, ...)` stored the PEFT model under another name: `base(...)`,
    `base.generate(...)` or `base.save_pretrained(...)`.

    ## Why is this bad?
    Both calls inject the adapter layers into `base` in place. `base` is not the original model any
    more: its outputs are the PEFT model's, so a "before/after" comparison compares the adapted
    model with itself, and a saved `base` reloads with newly initialised adapter layers.

    ## Example
    ```python
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained("gpt2")
    peft_model = get_peft_model(base, LoraConfig(r=8))
    baseline = base.generate(**inputs)
    ```

    ## Fix
    Keep a copy of the original taken before the wrap, or switch the adapter off:
    ```python
    import copy

    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained("gpt2")
    original = copy.deepcopy(base)
    peft_model = get_peft_model(base, LoraConfig(r=8))
    baseline = original.generate(**inputs)
    ```
    or `with peft_model.disable_adapter(): baseline = peft_model.generate(**inputs)`.
    This rule is information: the injected base is sometimes used on purpose.

    ## References
    - huggingface/peft#940, huggingface/peft#636
    """

    code = "PEFT015"
    name = "base-reused-after-wrap"
    summary = "The base model is used after get_peft_model injected the adapter into it in place."
    severity = Severity.INFO
    default_enabled = False  # on the real-code corpus, bases used after a trainer's wrap on purpose
    reports_at = frozenset({"model.forward", "model.generate", "model.save_pretrained"})
    peft_only = True
    needs = frozenset({"peft.get_peft_model", "peft.load_adapter_model"})

    def on_call(self, site: CallSite) -> None:
        candidates = site.receiver  # for a forward pass, the model called
        if site.in_closure_walked_alone:
            return  # a nested def walked on its own sees its free names' last values, not those at its call
        bases = sorted((v for v in candidates if v.kind is Kind.INJECTED_BASE and _wrapped_apart(v)), key=stable_key)
        if not bases or not all(v.kind is Kind.INJECTED_BASE for v in candidates):
            return
        base = bases[0]
        use = _USES[site.fact or ""]
        self.context.report(
            self,
            site,
            f"`{base.fact('injected_by')}` injected the adapter into this model in place, so this {use} uses the "
            "adapted model, not the original base; keep a `copy.deepcopy` taken before the wrap, or use "
            "`with peft_model.disable_adapter():`",
            related=[self.context.related(base.origin[0])] if base.origin else (),
            facts={**model_facts(base), "use": use, "wrapped_by": base.fact("injected_by")},
        )


def _wrapped_apart(base: Value) -> bool:
    """Injected by a call that returns a separate PEFT model the code keeps: ``get_peft_model`` or
    ``PeftModel.from_pretrained``. ``inject_adapter_in_model`` returns the model itself (it *is*
    the PEFT model), and a trainer given ``peft_config=`` keeps the wrapper to itself: code that
    uses the model it passed after ``train()`` means the trained one."""
    how = str(base.fact("injected_by") or "")
    return how == "get_peft_model" or how.endswith(".from_pretrained")
