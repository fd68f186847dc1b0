from __future__ import annotations

from typing import TYPE_CHECKING

from peftlint.analysis import paths
from peftlint.analysis.values import Kind, Value, is_none, known, stable_key
from peftlint.findings import Related
from peftlint.rules.base import Rule, model_facts

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.prescreen import Screen


class AdapterStateDictLoadedNonStrict(Rule):
    """
    ## What it does
    Finds `model.load_state_dict(sd, strict=False)` where `sd` is an adapter's state dict as peft
    saves it: the result of `get_peft_model_state_dict(...)` or `load_peft_weights(adapter_dir)`,
    or a `torch.load` / `safetensors.torch.load_file` of an `adapter_model.safetensors` /
    `adapter_model.bin` file.

    ## Why is this bad?
    peft saves adapter weights without the adapter's name in their keys
    (`...q_proj.lora_A.weight`), while a PEFT model's own keys carry it
    (`...q_proj.lora_A.default.weight`). With `strict=False`, `load_state_dict` reports every
    adapter key as unexpected and drops it instead of raising: nothing is loaded, and the model's
    outputs stay the untrained ones. A plain base model has no such keys either.

    ## Example
    ```python
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = get_peft_model(AutoModelForCausalLM.from_pretrained("gpt2"), LoraConfig(r=8))
    model.load_state_dict(torch.load("out/adapter/adapter_model.bin"), strict=False)
    ```

    ## Fix
    Let peft map the keys:
    ```python
    import torch
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from transformers import AutoModelForCausalLM

    model = get_peft_model(AutoModelForCausalLM.from_pretrained("gpt2"), LoraConfig(r=8))
    set_peft_model_state_dict(model, torch.load("out/adapter/adapter_model.bin"))
    ```
    or `model.load_adapter("out/adapter", adapter_name="default")`. Not flagged: a full
    checkpoint's state dict, a state dict whose keys the code rewrites first, and the default
    `strict=True` (it raises instead).

    ## References
    - peft's `set_peft_model_state_dict` and `get_peft_model_state_dict` documentation
    """

    code = "PEFT009"
    name = "adapter-state-dict-loaded-non-strict"
    summary = "Adapter state dict loaded with strict=False: its keys do not match, every one is dropped."
    reports_at = frozenset({"model.load_state_dict"})
    requires = ((b"peft", b"Peft", b"adapter_model"),)  # an adapter file needs no peft import
    needs = frozenset(
        {"peft.get_peft_model_state_dict", "peft.load_peft_weights", "torch.load", "safetensors.load_file"}
    )

    @classmethod
    def screen(cls, screen: Screen) -> bool:
        """A load that is strict (``strict`` left out, or ``True``) is never reported: a file whose
        every ``load_state_dict`` call is strict is not analysed for this rule."""
        return screen.loads_non_strict and super().screen(screen)

    def on_call(self, site: CallSite) -> None:
        api = site.api
        assert api is not None
        if site.literal(api, "strict") is not False:
            return
        # ``load_state_dict(None)`` raises: a path that gets past the call gave it a state dict
        # (``best = None`` before a loop that keeps the best epoch's adapter weights)
        given = frozenset(v for v in site.role(api, "state_dict") if not is_none(v))
        sources = [_adapter_keys(v) for v in given]
        if not given or not known(given) or not all(sources):
            return
        source = sorted(s for s in sources if s)[0]
        value = sorted(given, key=stable_key)[0]
        models = sorted((v for v in site.receiver if v.kind in (Kind.PEFT_MODEL, Kind.BASE_MODEL)), key=stable_key)
        self.context.report(
            self,
            site,
            "this state dict holds adapter keys as peft saves them (without the adapter name), so with "
            "`strict=False` every key is unexpected and silently dropped: nothing is loaded; use "
            "`set_peft_model_state_dict(model, state_dict)` or `model.load_adapter(path)`",
            related=self._source(site, value),
            facts={**(model_facts(models[0]) if models else {}), "state_dict_source": source},
        )

    def _source(self, site: CallSite, value: Value) -> list[Related]:
        if value.origin:
            return [self.context.related(value.origin[0])]
        assert site.api is not None
        return self.context.at_call(
            site, "the adapter's state dict comes from here", site.role_node(site.api, "state_dict")
        )


def _adapter_keys(value: Value) -> str | None:
    if value.kind is Kind.STATE_DICT:
        return value.fact("adapter_keys")  # type: ignore[no-any-return]
    if value.kind is Kind.TORCH_LOADED:
        shapes = value.fact("shapes", ())
        return "file" if shapes and all(paths.names_adapter_file(s) for s in shapes) else None
    return None
