"""PEFT008: a classification model wrapped without task_type/modules_to_save keeps its new head frozen.

The scenario wraps the classification model with the code's config minus ``task_type`` and
``modules_to_save`` (the flagged form), counts the head's trainable parameters and the head's
tensors in the saved adapter; the control adds the task's ``task_type``.
"""

from __future__ import annotations

import copy
import re
import tempfile
from pathlib import Path
from typing import Any

import peft
import torch
import transformers
from torch import nn

from peftlint.findings import Finding
from peftlint.verify.adapters import build_peft_config
from peftlint.verify.measure import saved_tensor_names
from peftlint.verify.models import BaseModel
from peftlint.verify.scenario import CannotRebuild, Outcome

# Class name endings -> the task_type that fixes it and the head names peft then keeps trainable.
TASKS = (
    ("ForSequenceClassification", "SEQ_CLS", ("classifier", "score")),
    ("ForTokenClassification", "TOKEN_CLS", ("classifier", "score")),
    ("ForQuestionAnswering", "QUESTION_ANS", ("qa_outputs",)),
)
FIX_KEYWORDS = ("task_type", "modules_to_save")


def run(finding: Finding, base: BaseModel) -> Outcome:
    facts = finding.fact_map
    model, model_note = classification_model(base)
    task, heads = task_and_heads(model)
    keywords = {key: value for key, value in (facts.get("peft_config") or {}).items() if key not in FIX_KEYWORDS}
    config_facts = dict(facts, peft_config=keywords)
    flagged_config = build_peft_config(config_facts, base)
    control_config = build_peft_config(config_facts, base, task_type=task)
    with tempfile.TemporaryDirectory(prefix="peftlint-verify-") as tmp:
        flagged = head_figures(model, fitted(flagged_config.config, model, heads), heads, Path(tmp, "flagged"))
        control = head_figures(model, fitted(control_config.config, model, heads), heads, Path(tmp, "control"))
    evidence: dict[str, Any] = {
        "model_class": type(model).__name__,
        "heads": heads,
        "flagged": {"config": flagged_config.text, **flagged},
        "control": {"config": control_config.text, **control},
    }
    if model_note:
        evidence["model_note"] = model_note
    if (
        flagged["head_trainable_params"] == 0
        and flagged["head_tensors_saved"] == 0
        and control["head_trainable_params"] > 0
        and control["head_tensors_saved"] > 0
    ):
        return Outcome(
            "confirmed",
            f"without task_type/modules_to_save the new head ({', '.join(heads)}) of {type(model).__name__} "
            f"stays frozen (0 of {flagged['head_params']:,} params trainable) and the saved adapter holds "
            f"0 of its tensors ({flagged['saved_tensors']} tensors in all); with task_type={task!r}: "
            f"{control['head_trainable_params']:,} head params trainable and {control['head_tensors_saved']} "
            "head tensors saved",
            evidence,
        )
    return Outcome(
        "not_reproduced",
        f"peft {peft.__version__}: without task_type/modules_to_save {flagged['head_trainable_params']:,} head "
        f"params are trainable and {flagged['head_tensors_saved']} head tensors are saved",
        evidence,
    )


def classification_model(base: BaseModel) -> tuple[nn.Module, str | None]:
    """The base itself when it is a classification model, else one built from the base's config."""
    if any(type(base.module).__name__.endswith(suffix) for suffix, _, _ in TASKS):
        return base.module, None
    if not isinstance(base.module, transformers.PreTrainedModel):
        raise CannotRebuild(f"a {type(base.module).__name__} has no classification head to check")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the same random head in every run
        model = transformers.AutoModelForSequenceClassification.from_config(base.module.config).eval()
    return model, (
        "the code names no classification class: AutoModelForSequenceClassification "
        f"built from the {type(base.module).__name__}'s config stands in"
    )


def task_and_heads(model: nn.Module) -> tuple[str, list[str]]:
    children = {name for name, _ in model.named_children()}
    for suffix, task, names in TASKS:
        if type(model).__name__.endswith(suffix):
            heads = [name for name in names if name in children]
            if heads:
                return task, heads
    raise CannotRebuild(f"{type(model).__name__} has none of the head names peft's task types keep trainable")


def fitted(config: peft.PeftConfig, model: nn.Module, heads: list[str]) -> peft.PeftConfig:
    """No LoRA on the head (LoRA on the head is another fix). Where peft has no default targets for
    the architecture, build_peft_config has already chosen the model's linear layers below its top
    level (heads and poolers such as DistilBERT's pre_classifier left out)."""
    if hasattr(config, "exclude_modules") and config.exclude_modules is None:
        config.exclude_modules = rf"(.*\.)?({'|'.join(map(re.escape, heads))})(\..*)?"
    return config


def head_figures(model: nn.Module, config: peft.PeftConfig, heads: list[str], path: Path) -> dict[str, Any]:
    wrapped = peft.get_peft_model(copy.deepcopy(model), config)
    in_head = [
        (name, parameter)
        for name, parameter in wrapped.named_parameters()
        if any(f".{head}." in name for head in heads)
    ]
    wrapped.save_pretrained(str(path))
    saved = saved_tensor_names(path)
    targets = getattr(config, "target_modules", None)
    return {
        "target_modules": sorted(targets) if isinstance(targets, (set, list)) else targets,
        "exclude_modules": getattr(config, "exclude_modules", None),
        "head_params": sum(p.numel() for name, p in in_head if "modules_to_save" not in name),
        "head_trainable_params": sum(p.numel() for _, p in in_head if p.requires_grad),
        "saved_tensors": len(saved),
        "head_tensors_saved": sum(any(f".{head}." in name for head in heads) for name in saved),
    }
