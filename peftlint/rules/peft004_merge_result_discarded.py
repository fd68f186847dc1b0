from __future__ import annotations

from typing import TYPE_CHECKING

from peftlint.analysis.values import Kind, stable_key
from peftlint.findings import Edit, Fix, Related, Severity
from peftlint.rules.base import Rule, model_facts

if TYPE_CHECKING:
    import libcst as cst

    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.values import Origin, Value


class MergeResultDiscarded(Rule):
    """
    ## What it does
    Finds `x.merge_and_unload()` or `x.unload()` written as a statement of its own on a PEFT model,
    so the merged model it returns is dropped. The finding is an error when `x` is then saved
    (`save_pretrained`, `push_to_hub`), a warning otherwise.

    ## Why is this bad?
    `merge_and_unload()` merges the adapter into the base layers and returns the base model; the
    PEFT wrapper `x` is left behind with no adapter layers in it. `x.save_pretrained(dir)` then
    writes an adapter file with 0 tensors, without a warning: the "merged" model that gets shipped
    is an empty adapter.

    ## Example
    ```python
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained("gpt2")
    model = PeftModel.from_pretrained(base, "out/adapter")
    model.merge_and_unload()
    model.save_pretrained("out/merged")
    ```

    ## Fix
    Keep the merged model:
    ```python
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained("gpt2")
    model = PeftModel.from_pretrained(base, "out/adapter")
    model = model.merge_and_unload()
    model.save_pretrained("out/merged")
    ```
    The autofix rebinds the name: `x.merge_and_unload()` becomes `x = x.merge_and_unload()`.
    Not flagged: `merge_adapter()` (in place by design), and classes other than peft's with methods
    of the same names.

    ## References
    - huggingface/peft#2032; peft's own guide fixed the same mistake in huggingface/peft#2871
    """

    code = "PEFT004"
    name = "merge-result-discarded"
    summary = "merge_and_unload()/unload() result dropped: the PEFT model stays a wrapper, its save is empty."
    severity = Severity.WARNING
    reports_at = frozenset({"peft.merge_and_unload", "model.save_pretrained"})
    peft_only = True
    needs = frozenset({"peft.get_peft_model", "peft.load_adapter_model", "peft.auto_load", "trainer"})
    fix_safety = "safe"

    def on_call(self, site: CallSite) -> None:
        if site.fact == "model.save_pretrained":
            for model in site.receiver:
                for merge in model.fact("merge_discarded", ()) if model.kind is Kind.PEFT_MODEL else ():
                    self._report(site, model, merge, saved=True)
            return
        if not site.discarded:
            return
        for model in sorted((v for v in site.receiver if v.kind is Kind.PEFT_MODEL), key=stable_key)[:1]:
            if _merged_base_used_later(site, model):
                return  # the merge is in place: the merged model is used through its base's name
            self._report(site, model, None, saved=False)

    def _report(self, site: CallSite, model: Value, merge: Origin | None, saved: bool) -> None:
        import libcst as cst

        at = merge
        node = merge.node if merge is not None else site.node
        method = (
            node.func.attr.value
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            else "merge_and_unload"
        )
        related: list[Related] = []
        if saved:
            related += self.context.at_call(site, f"the PEFT model is saved here ({site.method})")
        elif model.origin:
            related.append(self.context.related(model.origin[0]))
        consequence = (
            " and the PEFT model is saved afterwards: the saved adapter holds 0 tensors"
            if saved
            else ": the PEFT model is left without its adapter layers"
        )
        self.context.report(
            self,
            site,
            f"the model `{method}()` returns is discarded{consequence}; keep the result: `x = x.{method}()`",
            related=related,
            facts={**model_facts(model), "method": method, "saved_after": saved},
            fix=_rebind_fix(site, merge),
            at=at,
            severity=Severity.ERROR if saved else None,
        )


def _merged_base_used_later(site: CallSite, wrapper: Value) -> bool:
    """``pm = PeftModel.from_pretrained(base, d); pm.merge_and_unload(); base.save_pretrained(o)``:
    the merge happens in the base model, in place, and returns it, so its result is not lost when
    another name still holds that base and is read after the merge. A later save of the wrapper
    itself is reported where it happens."""
    base = wrapper.fact("base_site")
    if base is None:
        return False
    names = site.names_holding(lambda v: v.site == base and v.kind is not Kind.PEFT_MODEL)
    return bool(names) and site.read_after(names)


def _rebind_fix(site: CallSite, merge: Origin | None) -> Fix | None:
    """``x.merge_and_unload()`` -> ``x = x.merge_and_unload()``, for a name or an attribute chain."""
    import libcst as cst

    unit = merge.unit if merge is not None else site.unit
    node = merge.node if merge is not None else site.node
    if unit is None or not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
        return None
    target = node.func.value
    if not _plain_target(target):
        return None
    start, _ = unit.range(node)
    name = unit.code(target)
    return Fix(f"keep the merged model: `{name} = {unit.code(node)}`", (Edit(unit.path, start, start, f"{name} = "),))


def _plain_target(node: cst.BaseExpression) -> bool:
    import libcst as cst

    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)
