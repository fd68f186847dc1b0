from __future__ import annotations

from typing import TYPE_CHECKING, Any

from peftlint.analysis import paths, registry
from peftlint.analysis.values import Kind, Value, stable_key
from peftlint.findings import Edit, Fix, Related
from peftlint.rules.base import Rule, model_facts

if TYPE_CHECKING:
    import libcst as cst

    from peftlint.analysis.callsite import CallSite


class AdapterLoadedOntoPeftModel(Rule):
    """
    ## What it does
    Finds `PeftModel.from_pretrained(model, path)` (and `PeftModelFor*.from_pretrained`) where
    `model` already carries PEFT layers: the result of `get_peft_model(...)`, of another
    `PeftModel.from_pretrained(...)` or of `AutoPeftModel*.from_pretrained(...)`, reached directly,
    through a variable, an alias, a helper function, `self.model`, or an earlier loop iteration.

    ## Why is this bad?
    The saved adapter is loaded into a second wrapper around the first one. Its parameter names
    gain an extra `base_model.model.` level (`base_model.model.base_model.model.linear.lora_A...`
    instead of `base_model.model.linear.lora_A...`), so the trained weights are never used: the
    model's outputs equal the base model's. Nothing is raised; peft >= 0.14 only emits two
    UserWarnings that are easy to miss ("Already found a `peft_config` attribute in the model",
    "Found missing adapter keys while loading the checkpoint"); 0.10-0.13 are silent. Resumed
    training then starts from an untrained adapter and hours of GPU time are wasted. Where peft
    saved a head with the adapter (`task_type="SEQ_CLS"` or `"TOKEN_CLS"`), peft 0.21.2 raises a
    `KeyError` on the nested load instead (measured): the load is just as wrong, only louder.

    ## Example
    ```python
    from peft import LoraConfig, PeftModel, get_peft_model

    model = get_peft_model(model, LoraConfig(r=8))
    if resume:
        model = PeftModel.from_pretrained(model, "checkpoints/lora")  # adapter silently unused
    ```

    ## Fix
    Load the adapter onto a fresh base model, on a branch exclusive with `get_peft_model`:
    ```python
    from peft import LoraConfig, PeftModel, get_peft_model

    if resume:
        model = PeftModel.from_pretrained(model, "checkpoints/lora", is_trainable=True)
    else:
        model = get_peft_model(model, LoraConfig(r=8))
    ```
    or keep the PEFT model and call `model.load_adapter(path, adapter_name="resumed")` followed by
    `model.set_adapter("resumed")`.

    ## References
    - huggingface/peft#2115, huggingface/peft#2118
    - the tutorial "PEFT: quickly applying LoRA to large models" (guide 14 of a public series
      of AI guides): its text_encoder/unet resume script, and its LinearModel reproduction
    """

    code = "PEFT001"
    name = "adapter-loaded-onto-peft-model"
    summary = "Adapter loaded onto a model that already has PEFT layers: the trained weights are silently unused."
    reports_at = frozenset({"peft.load_adapter_model"})
    needs = frozenset({"peft.get_peft_model", "peft.PeftModel", "peft.auto_load", "trainer"})
    fix_safety = "safe"

    def on_call(self, site: CallSite) -> None:
        api = site.api
        assert api is not None
        wrapped = sorted(
            (v for v in site.role(api, "model") if v.kind is Kind.PEFT_MODEL and not site.left_by_an_earlier_choice(v)),
            key=stable_key,
        )
        if not wrapped:
            return
        context = self.context
        unit = site.unit
        assert unit is not None
        related: list[Related] = []
        for value in wrapped:
            for origin in value.origin:
                if origin.node is site.node:
                    note = "an earlier loop iteration of this call gave the model its PEFT layers"
                    related.append(Related(unit.path, unit.start(site.node), note))
                else:
                    related.append(context.related(origin))
        related.extend(context.related(origin) for origin in site.call_chain)
        model_node = site.role_node(api, "model")
        shown = site.code(model_node) if model_node is not None else "model"
        owner = (site.callee or "PeftModel.from_pretrained").rsplit(".", 2)[-2]
        effect = (
            f"the adapter is nested one level too deep, and peft saved {saved} with it, so this load raises "
            "`KeyError` (peft 0.21)"
            if (saved := _saved_beside(wrapped))
            else "the adapter is nested one level too deep and silently unused (outputs equal the base model's)"
        )
        context.report(
            self,
            site,
            f"`{owner}.from_pretrained` loads the adapter onto `{_short(shown)}`, which already has PEFT layers: "
            f"{effect}; load it onto a fresh base model, or use `load_adapter()` + `set_adapter()`",
            related=related,
            facts=_verifier_facts(wrapped[0], site),
            fix=_unwrap_nested(site, model_node, wrapped),
        )


def _saved_beside(wrapped: list[Value]) -> str | None:
    """What the wrapper's config saves with the adapter besides its LoRA weights (a task's head,
    ``modules_to_save``), when every wrapper that reaches the call does: the nested load of such an
    adapter fails (measured with peft 0.21.2: ``KeyError: 'base_model.model.base_model.model.score.weight'``)
    instead of silently leaving the adapter unused."""
    kinds: set[str] = set()
    for value in wrapped:
        config = dict(value.fact("peft_config") or ())
        if config.get("modules_to_save"):
            kinds.add("its `modules_to_save`")
        elif config.get("task_type") in registry.HEAD_TASKS:
            kinds.add(registry.HEAD_TASKS[config["task_type"]])
        else:
            return None
    return " and ".join(sorted(kinds))


def _unwrap_nested(site: CallSite, model_node: Any, wrapped: list[Value]) -> Fix | None:
    """``from_pretrained(get_peft_model(m, cfg), p)`` -> ``from_pretrained(m, p)``: load onto the base."""
    import libcst as cst

    if len(wrapped) != 1 or wrapped[0].fact("wrapped_by") != "get_peft_model" or site.unit is None:
        return None
    if not isinstance(model_node, cst.Call) or wrapped[0].origin[0].node is not model_node:
        return None
    base = _argument(model_node, 0, "model")
    if base is None:
        return None
    start, end = site.unit.range(model_node)
    code = site.code(base)
    edit = Edit(site.unit.path, start, end, code)
    return Fix(f"load the adapter onto `{_short(code)}` itself, not onto a new PEFT wrapper of it", (edit,))


def _argument(call: cst.Call, index: int, keyword: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[index].value if index < len(positional) else None


def _short(code: str) -> str:
    code = " ".join(code.split())
    return code if len(code) <= 60 else code[:57] + "..."


def _verifier_facts(value: Value, site: CallSite) -> dict[str, Any]:
    facts = model_facts(value)
    assert site.api is not None
    adapter = site.shapes(site.api, "path")
    if adapter:
        facts["adapter_path"] = paths.render(adapter[0])
    return facts
