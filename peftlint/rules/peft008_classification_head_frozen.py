from __future__ import annotations

from typing import TYPE_CHECKING

from peftlint.analysis import registry
from peftlint.analysis.values import Kind, known, stable_key
from peftlint.rules.base import Rule, model_facts

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.values import Value

HEADS = ("ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering")


class ClassificationHeadFrozen(Rule):
    """
    ## What it does
    Finds `get_peft_model(model, config)` where `model` is a `*ForSequenceClassification`,
    `*ForTokenClassification` or `*ForQuestionAnswering` model and the LoRA-family config has
    neither `task_type` nor `modules_to_save`. Code that makes the head trainable by hand after
    the wrap (a loop setting `requires_grad` on `classifier`/`score`/`qa_outputs` parameters) is
    not flagged: it manages the head itself.

    ## Why is this bad?
    Such a model's head is new and randomly initialised. Without `task_type` (which makes peft
    train and save the usual head names, `classifier`, `score`, `qa_outputs`...) or
    `modules_to_save`, `get_peft_model` freezes the head with the rest of the base: it stays
    random, the classifier never learns, and the saved adapter does not contain it, so a reload
    gets another random head. Nothing is raised.

    ## Example
    ```python
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained("roberta-base", num_labels=2)
    model = get_peft_model(model, LoraConfig(r=8, target_modules=["query", "value"]))
    ```

    ## Fix
    Give the task type (or list the head in `modules_to_save`):
    ```python
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained("roberta-base", num_labels=2)
    model = get_peft_model(model, LoraConfig(r=8, target_modules=["query", "value"], task_type="SEQ_CLS"))
    ```
    Not flagged: a config built from `**kwargs` or with `task_type`/`modules_to_save` given a
    variable (the analysis cannot tell), models whose class does not name a head, and checkpoints
    whose name says they were fine-tuned (`dandelin/vilt-b32-finetuned-vqa`: the head is there).

    ## References
    - huggingface/peft#310
    """

    code = "PEFT008"
    name = "classification-head-frozen"
    summary = "Classification model wrapped without task_type or modules_to_save: its new head stays frozen."
    reports_at = frozenset({"peft.get_peft_model"})
    peft_only = True
    needs = frozenset({"model.load", "model.create", "peft.config"})

    def on_call(self, site: CallSite) -> None:
        assert site.api is not None
        models = site.role(site.api, "model")
        configs = site.role(site.api, "config")
        heads = sorted((v for v in models if _head(v)), key=stable_key)
        if not heads or not known(models) or not all(_head(v) for v in models):
            return
        if not configs or not known(configs) or not all(_silent_about_head(c) for c in configs):
            return
        # a head the code makes trainable by hand (and may save on its own) is not left frozen
        from peftlint.analysis.grads import head_unfrozen_by_hand  # (libcst: not at the rules' import)

        if site.unit is not None and head_unfrozen_by_hand(site.unit.source):
            return
        model = heads[0]
        self.context.report(
            self,
            site,
            f"`{_head(model)}` gets a new, random head, and the peft config has neither `task_type` nor "
            "`modules_to_save`: the head stays frozen and random and is not saved with the adapter; "
            f'pass `task_type="{_task(_head(model))}"` (or `modules_to_save=[<head>]`)',
            related=[self.context.related(o) for c in sorted(configs, key=stable_key) for o in c.origin[:1]],
            facts=model_facts(model),
        )


def _head(model: Value) -> str | None:
    name = str(model.fact("model_class") or "").rsplit(".", 1)[-1]
    if _tuned_for_the_task(model.fact("model_id")):
        return None  # ``dandelin/vilt-b32-finetuned-vqa`` has its head: it is not new
    return name if model.kind is Kind.BASE_MODEL and name.endswith(HEADS) else None


def _tuned_for_the_task(model_id: object) -> bool:
    """A hub checkpoint whose name says it was fine-tuned (``...-finetuned-sst2``) carries its head."""
    text = str(model_id).lower() if isinstance(model_id, str) else ""
    return any(word in text for word in ("finetuned", "fine-tuned", "fine_tuned"))


def _silent_about_head(config: Value) -> bool:
    if config.kind is not Kind.PEFT_CONFIG or config.fact("from_pretrained"):
        return False
    if config.fact("config_class") not in registry.FREEZING_CONFIGS:
        return False
    given = set(dict(config.fact("peft_config", ()))) | set(config.fact("unknown_keywords") or ())
    return not given & {"task_type", "modules_to_save", "*"}


def _task(head: str | None) -> str:
    head = head or ""
    return (
        "TOKEN_CLS"
        if head.endswith("ForTokenClassification")
        else "QUESTION_ANS"
        if head.endswith("ForQuestionAnswering")
        else "SEQ_CLS"
    )
