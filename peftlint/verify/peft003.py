"""PEFT003: an adapter loaded without ``is_trainable=True`` and then trained has nothing to train.

The scenario saves a trained adapter, loads it the flagged way (the code's loader, no
``is_trainable``) and the corrected way (``is_trainable=True``), counts the trainable parameters of
each and runs one training step (loss, backward, optimizer step) on each.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, cast

import peft
import torch
import transformers
from torch import nn

from peftlint.findings import Finding
from peftlint.verify.adapters import build_peft_config, simulate_training
from peftlint.verify.measure import LEARNING_RATE, seeded_peft_model, trainable_count, training_loss
from peftlint.verify.models import BaseModel
from peftlint.verify.scenario import Outcome, first_line

AUTO_PEFT_CLASS_BY_TASK = {
    "CAUSAL_LM": "AutoPeftModelForCausalLM",
    "SEQ_2_SEQ_LM": "AutoPeftModelForSeq2SeqLM",
    "SEQ_CLS": "AutoPeftModelForSequenceClassification",
    "TOKEN_CLS": "AutoPeftModelForTokenClassification",
    "QUESTION_ANS": "AutoPeftModelForQuestionAnswering",
    "FEATURE_EXTRACTION": "AutoPeftModelForFeatureExtraction",
}


def run(finding: Finding, base: BaseModel) -> Outcome:
    facts = finding.fact_map
    # The adapter was trained once, so the saved one is made with trainable parameters.
    rebuilt = build_peft_config(facts, base, inference_mode=False)
    wants_auto = str(facts.get("loader") or "").startswith("AutoPeftModel")
    auto = wants_auto and isinstance(base.module, transformers.PreTrainedModel)
    with tempfile.TemporaryDirectory(prefix="peftlint-verify-") as tmp:
        trained = seeded_peft_model(base.fresh_copy(), rebuilt.config, seed=1)
        simulate_training(trained, seed=1)
        if auto:
            # AutoPeftModel rebuilds the base from the path recorded in the adapter's config.
            cast(transformers.PreTrainedModel, base.module).save_pretrained(str(Path(tmp, "base")))
            trained.peft_config["default"].base_model_name_or_path = str(Path(tmp, "base"))
        adapter = Path(tmp, "adapter")
        trained.save_pretrained(str(adapter))
        task = trained.peft_config["default"].task_type
        auto_class = AUTO_PEFT_CLASS_BY_TASK.get(str(task), "AutoPeftModel") if auto else None
        call = (
            f"{auto_class}.from_pretrained(adapter_dir" if auto_class else "PeftModel.from_pretrained(base, adapter_dir"
        )
        flagged = training_figures(load(base, adapter, auto_class, is_trainable=False), base)
        control = training_figures(load(base, adapter, auto_class, is_trainable=True), base)
    evidence: dict[str, Any] = {
        "peft_config": rebuilt.text,
        "trained_by": facts.get("trained_by"),
        "flagged": {"call": call + ")", **flagged},
        "control": {"call": call + ", is_trainable=True)", **control},
    }
    if wants_auto and not auto:
        evidence["loader_note"] = "AutoPeftModel cannot rebuild a stand-in base; loaded with PeftModel instead"
    if flagged["trainable_params"] == 0 and control["trainable_params"] > 0 and control["step_changed_adapter"]:
        error = flagged["backward_error"]
        step = f"loss.backward() raises {error}" if error else "one optimizer step changes nothing"
        return Outcome(
            "confirmed",
            f"loaded without is_trainable: 0 of {flagged['all_params']:,} params trainable, {step}; "
            "with is_trainable=True: "
            f"{control['trainable_params']:,} trainable and one optimizer step changes the adapter "
            f"(max |change| {control['max_abs_change']:.3g})",
            evidence,
        )
    return Outcome(
        "not_reproduced",
        f"peft {peft.__version__}: {flagged['trainable_params']:,} trainable params without is_trainable, "
        f"{control['trainable_params']:,} with it",
        evidence,
    )


def load(base: BaseModel, adapter: Path, auto_class: str | None, is_trainable: bool) -> nn.Module:
    if auto_class:
        return getattr(peft, auto_class).from_pretrained(str(adapter), is_trainable=is_trainable)
    return peft.PeftModel.from_pretrained(base.fresh_copy(), str(adapter), is_trainable=is_trainable)


def training_figures(model: nn.Module, base: BaseModel) -> dict[str, Any]:
    """Trainable parameters, and what one step of ``AdamW(model.parameters())`` does to them."""
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    before = [parameter.detach().clone() for parameter in trainable]
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    error = None
    try:
        training_loss(model, base.inputs).backward()
        optimizer.step()
    except RuntimeError as exception:
        error = f"{type(exception).__name__}: {first_line(exception)}"
    changes = [float((parameter.detach() - old).abs().max()) for parameter, old in zip(trainable, before, strict=True)]
    return {
        "trainable_params": trainable_count(model),
        "all_params": sum(parameter.numel() for parameter in model.parameters()),
        "backward_error": error,
        "step_changed_adapter": any(change > 0 for change in changes),
        "max_abs_change": max(changes, default=0.0),
    }
