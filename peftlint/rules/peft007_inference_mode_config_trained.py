from __future__ import annotations

from typing import TYPE_CHECKING

from peftlint.analysis.trained import HOW_TRAINED, TRAINING_FACTS, trained
from peftlint.analysis.values import Kind
from peftlint.rules.base import Rule, model_facts

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite


class InferenceModeConfigTrained(Rule):
    """
    ## What it does
    Finds `get_peft_model(model, config)` (or a trl trainer given `peft_config=config`) where the
    config is a LoRA-family or IA3 config in inference mode, and the resulting model is then
    trained (a trainer's `train()`, an optimizer over its parameters, or `backward()` on a loss
    from its forward pass alone). A config is in inference mode when it is written with `inference_mode=True`, or read
    back from a saved adapter with `LoraConfig.from_pretrained(dir)` (peft saves every adapter's
    config with `inference_mode=True`) and not set back with `config.inference_mode = False`.

    ## Why is this bad?
    With `inference_mode=True`, `get_peft_model` adds the adapter frozen: the model has 0 trainable
    parameters and training changes nothing. Passing `inference_mode=False` to
    `LoraConfig.from_pretrained(dir, inference_mode=False)` does not help: the saved value wins
    (measured with peft 0.21.2).

    ## Example
    ```python
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, Trainer

    base = AutoModelForCausalLM.from_pretrained("gpt2")
    config = LoraConfig.from_pretrained("out/adapter")
    model = get_peft_model(base, config)
    Trainer(model=model, train_dataset=dataset).train()
    ```

    ## Fix
    Set the mode after loading the config (or write `inference_mode=False`):
    ```python
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, Trainer

    base = AutoModelForCausalLM.from_pretrained("gpt2")
    config = LoraConfig.from_pretrained("out/adapter")
    config.inference_mode = False
    model = get_peft_model(base, config)
    Trainer(model=model, train_dataset=dataset).train()
    ```
    Not flagged: prompt-learning configs (`PromptTuningConfig(inference_mode=True)` still trains
    its prompt), `inference_mode` given a variable, inference-only use, parameters made
    trainable by hand afterwards, and `from_pretrained` of a path that does not name an adapter
    or a checkpoint (`adapter`, `lora`, `checkpoint`, `ckpt`, `peft`, `sft`, `dpo` in it): a
    hand-written config directory may say anything.

    ## References
    - huggingface/peft#472, huggingface/peft#2840
    """

    code = "PEFT007"
    name = "inference-mode-config-trained"
    summary = "A config in inference mode (written, or read from a saved adapter) is trained: nothing learns."
    reports_at = TRAINING_FACTS
    peft_only = True
    needs = frozenset(
        {
            "model.parameters",
            "torch.optimizer",
            "peft.get_peft_model",
            "peft.config",
            "peft.config_from_pretrained",
            "trainer",
        }
    )

    def on_call(self, site: CallSite) -> None:
        for model, how in trained(site):
            if model.kind is not Kind.PEFT_MODEL or model.fact("frozen") != "inference_mode" or not model.origin:
                continue
            config = model.fact("config_class") or "the config"
            source = "from_pretrained" if "inference_mode" not in dict(model.fact("peft_config", ())) else "literal"
            said = (
                f"`{config}.from_pretrained(...)` reads `inference_mode=True` back from the saved adapter"
                if source == "from_pretrained"
                else f"`{config}(inference_mode=True)`"
            )
            where = HOW_TRAINED[how][1]
            wrapper = model.fact("wrapped_by") or "get_peft_model"
            related = self.context.at_call(site, f"the model is trained here ({where})")
            self.context.report(
                self,
                site,
                f"{said}, so `{wrapper}` adds a frozen adapter, and {HOW_TRAINED[how][0]}: "
                "0 trainable parameters, nothing learns; set `config.inference_mode = False` before wrapping",
                related=related,
                facts={**model_facts(model), "config_source": source},
                at=model.origin[0],
            )
