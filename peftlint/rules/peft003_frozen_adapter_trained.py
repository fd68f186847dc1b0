from __future__ import annotations

from typing import TYPE_CHECKING, Any

from peftlint.analysis.trained import HOW_TRAINED, TRAINING_FACTS, trained
from peftlint.analysis.values import Kind, Value
from peftlint.findings import Edit, Fix
from peftlint.rules.base import Rule, model_facts

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.values import Origin


class FrozenAdapterTrained(Rule):
    """
    ## What it does
    Finds an adapter loaded with `PeftModel.from_pretrained(...)`, `PeftModelFor*.from_pretrained(...)`
    or `AutoPeftModel*.from_pretrained(...)` without `is_trainable=True` (absent or literally
    `False`) that the code then trains: the model is given to a trainer whose `train()` is called,
    its `parameters()` are given to an optimizer, or `loss.backward()` (or `accelerator.backward`)
    runs on a loss that comes from its forward pass alone.

    ## Why is this bad?
    peft loads an adapter for inference by default: every parameter, the adapter's included, has
    `requires_grad=False`, so the model has 0 trainable parameters. Usually the backward pass then
    fails with "element 0 of tensors does not require grad", but with gradient checkpointing in
    transformers 5.x a `Trainer` runs to the end with an empty optimizer and the adapter never
    changes: hours of GPU time that train nothing. The usual cause is resuming training from a
    saved adapter.

    ## Example
    ```python
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, Trainer

    base = AutoModelForCausalLM.from_pretrained("gpt2")
    model = PeftModel.from_pretrained(base, "out/adapter")
    Trainer(model=model, train_dataset=dataset).train()
    ```

    ## Fix
    Load the adapter trainable:
    ```python
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, Trainer

    base = AutoModelForCausalLM.from_pretrained("gpt2")
    model = PeftModel.from_pretrained(base, "out/adapter", is_trainable=True)
    Trainer(model=model, train_dataset=dataset).train()
    ```
    Not flagged: inference-only use (a trainer only asked to `evaluate()` or `predict()`), a frozen
    reference model (`ref_model=`), `is_trainable` given a variable, a load merged with
    `merge_and_unload()` before training, and parameters made trainable by hand
    (`p.requires_grad = True` in a loop over them, `set_adapter(...)`, `requires_grad_()`).

    ## References
    - huggingface/peft#282; huggingface/trl#6700
    - peft's `PeftModel.from_pretrained` documentation: `is_trainable` defaults to False
    """

    code = "PEFT003"
    name = "frozen-adapter-trained"
    summary = "Adapter loaded without is_trainable=True is then trained: 0 trainable parameters, nothing learns."
    reports_at = TRAINING_FACTS
    peft_only = True
    needs = frozenset({"model.parameters", "torch.optimizer", "peft.load_adapter_model", "peft.auto_load", "trainer"})
    fix_safety = "safe"

    def on_call(self, site: CallSite) -> None:
        for model, how in trained(site):
            if model.kind is not Kind.PEFT_MODEL or model.fact("frozen") != "is_trainable" or not model.origin:
                continue
            load = model.origin[0]
            where = HOW_TRAINED[how][1]
            self.context.report(
                self,
                site,
                f"`{_loader(model)}` loads the adapter frozen (no `is_trainable=True`) and {HOW_TRAINED[how][0]}: "
                "0 trainable parameters, the adapter never changes; pass `is_trainable=True`",
                related=self.context.at_call(site, f"the model is trained here ({where})"),
                facts={**model_facts(model), "loader": _loader_kind(model), "trained_by": how},
                fix=_is_trainable_fix(load),
                at=load,
            )


def _loader(model: Value) -> str:
    return str(model.fact("wrapped_by") or "PeftModel.from_pretrained")


def _loader_kind(model: Value) -> str:
    return (
        "AutoPeftModel.from_pretrained" if _loader(model).startswith("AutoPeftModel") else "PeftModel.from_pretrained"
    )


def _is_trainable_fix(load: Origin) -> Fix | None:
    """``PeftModel.from_pretrained(base, path)`` -> ``PeftModel.from_pretrained(base, path, is_trainable=True)``."""
    import libcst as cst

    call = load.node
    unit = load.unit
    if not isinstance(call, cst.Call) or unit is None or any(arg.star for arg in call.args):
        return None
    args: list[Any] = list(call.args)
    for index, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == "is_trainable":
            args[index] = arg.with_changes(value=cst.Name("True"))
            break
    else:
        keyword = cst.Arg(
            keyword=cst.Name("is_trainable"),
            value=cst.Name("True"),
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
            ),
        )
        last = args[-1] if args else None
        if last is not None and isinstance(last.comma, cst.Comma):
            args.append(keyword.with_changes(comma=last.comma))
            args[-2] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        else:
            args.append(keyword)
    start, end = unit.range(call)
    code = cst.Module([]).code_for_node(call.with_changes(args=args))
    return Fix("load the adapter with `is_trainable=True`", (Edit(unit.path, start, end, code),))
