from __future__ import annotations

from typing import TYPE_CHECKING

from peftlint.analysis.values import Kind, Value, stable_key
from peftlint.rules.base import Rule, model_facts

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.values import Values

_USES = {
    "model.forward": "a forward pass",
    "model.generate": "generate()",
    "trainer.train": "the trainer trains it",
    "trainer.evaluate": "the trainer evaluates it",
}


class LoadedAdapterNotActivated(Rule):
    """
    ## What it does
    Finds `pm.load_adapter(path, adapter_name="new")` on a PEFT model followed by a use of `pm` (a
    forward pass, `generate()`, a trainer's `train()`, `evaluate()` or `predict()`) with no
    `set_adapter(...)` (nor `add_weighted_adapter`, `disable_adapter`) on that model in between.

    ## Why is this bad?
    `load_adapter` adds the adapter but does not activate it: the model keeps running the adapter
    that was active before. The outputs are the old adapter's, so an evaluation of "the new
    adapter" measures the old one. Nothing is raised.

    ## Example
    ```python
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained("gpt2"), "adapters/chat")
    model.load_adapter("adapters/sql", adapter_name="sql")
    output = model.generate(**inputs)
    ```

    ## Fix
    Activate the adapter after loading it:
    ```python
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained("gpt2"), "adapters/chat")
    model.load_adapter("adapters/sql", adapter_name="sql")
    model.set_adapter("sql")
    output = model.generate(**inputs)
    ```
    Not flagged: an adapter only saved or read (`get_peft_model_state_dict(pm, adapter_name=...)`),
    a trl DPO reference adapter named in the trainer's config, an adapter name the analysis cannot
    read, and code that chooses the active adapter itself with `set_adapter(...)`, whatever name it
    gives.

    ## References
    - peft's documentation of `load_adapter` and `set_adapter`
    """

    code = "PEFT011"
    name = "loaded-adapter-not-activated"
    summary = "load_adapter() then the model is used without set_adapter(): the old adapter runs."
    reports_at = frozenset({"model.forward", "model.generate", "trainer.train", "trainer.evaluate"})
    peft_only = True
    needs = frozenset({"peft.load_adapter", "peft.get_peft_model", "peft.load_adapter_model", "peft.auto_load"})

    def on_call(self, site: CallSite) -> None:
        if site.unit is None or site.adapters_disabled:
            return  # inside ``with pm.disable_adapter():`` no adapter runs, on purpose
        for model in _used_models(site):
            for name, loaded, literal in model.fact("inactive_adapters", ()):
                self.context.report(
                    self,
                    site,
                    f"adapter {name} is loaded but never activated: `load_adapter` does not switch to it, so "
                    f"{_USES[site.fact or '']} later runs the previously active adapter; call "
                    f"`set_adapter({name})` after loading it",
                    related=self.context.at_call(site, f"the model is used here ({_USES[site.fact or '']})"),
                    facts={**model_facts(model), "adapter_name": name if literal is None else literal},
                    at=loaded,
                )


def _used_models(site: CallSite) -> list[Value]:
    values: Values = site.receiver
    if site.fact in ("trainer.train", "trainer.evaluate"):
        # trl's preference trainers run adapters by name (``ref_adapter_name=``): only these run the active one
        trainers = [t for t in site.receiver if t.fact("trainer_class") in ("Trainer", "Seq2SeqTrainer", "SFTTrainer")]
        values = frozenset(m for trainer in trainers for m in trainer.attr("model") or ())
    return sorted(
        (
            v
            for v in values
            if v.kind is Kind.PEFT_MODEL and v.fact("inactive_adapters") and not _activated_otherwise(site, v, values)
        ),
        key=stable_key,
    )


def _activated_otherwise(site: CallSite, value: Value, values: Values) -> bool:
    """The model reaches the use with its adapter inactive only where a test came out one way,
    and the other way the code chose the active adapter itself (``if adapter != self.current:
    self.model.set_adapter(adapter)``): it manages which adapter runs, and skips the switch when
    the one asked for is already active."""
    managed = {g for v in values if v.site == value.site and v.fact("adapter_chosen") for g in v.guards}
    return any((text, not polarity) in managed for text, polarity in site.conditions_beyond_own(value))
