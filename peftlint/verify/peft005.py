"""PEFT005: an optimizer built over the base's parameters before ``get_peft_model`` holds no LoRA weight.

The scenario builds the optimizer over a copy of the base, wraps that copy (the flagged order), and
intersects the optimizer's parameters with the trainable ones; then one training step shows whether
the adapter moves. The control builds the optimizer after the wrap, over the wrapped model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import peft
import torch
from torch import nn

from peftlint.findings import Finding
from peftlint.verify.adapters import build_peft_config
from peftlint.verify.measure import LEARNING_RATE, training_loss
from peftlint.verify.models import BaseModel
from peftlint.verify.scenario import Outcome

DEFAULT_OPTIMIZER = "torch.optim.AdamW"
# LBFGS steps with a closure, SparseAdam on sparse gradients: a plain loss.backward() step fits neither.
UNSTEPPABLE = ("LBFGS", "SparseAdam")


def run(finding: Finding, base: BaseModel) -> Outcome:
    facts = finding.fact_map
    rebuilt = build_peft_config(facts, base)
    optimizer_class, optimizer_name = resolve_optimizer(facts.get("optimizer_class"))

    module = base.fresh_copy()
    optimizer = optimizer_class(module.parameters(), lr=LEARNING_RATE)
    model = peft.get_peft_model(module, rebuilt.config)
    flagged = step_figures(model, optimizer, base)

    model = peft.get_peft_model(base.fresh_copy(), rebuilt.config)
    control = step_figures(model, optimizer_class(model.parameters(), lr=LEARNING_RATE), base)

    evidence = {
        "peft_config": rebuilt.text,
        "optimizer": optimizer_name,
        "optimizer_in_code": facts.get("optimizer_class"),
        "flagged": {"order": f"{optimizer_name}(base.parameters()); get_peft_model(base, config)", **flagged},
        "control": {"order": f"model = get_peft_model(base, config); {optimizer_name}(model.parameters())", **control},
    }
    if (
        flagged["trainable_in_optimizer"] == 0
        and not flagged["step_changed_adapter"]
        and control["trainable_in_optimizer"] == control["trainable_tensors"] > 0
        and control["step_changed_adapter"]
    ):
        return Outcome(
            "confirmed",
            f"an optimizer built before the wrap holds 0 of the {flagged['trainable_tensors']} trainable tensors "
            f"({flagged['optimizer_tensors']} tensors, all of the base, now frozen); one step leaves the adapter "
            f"unchanged (max |change| {flagged['max_abs_change']:.3g}); built after the wrap it holds all "
            f"{control['trainable_tensors']} and one step moves the adapter (max |change| "
            f"{control['max_abs_change']:.3g})",
            evidence,
        )
    return Outcome(
        "not_reproduced",
        f"peft {peft.__version__}: the optimizer built before the wrap holds "
        f"{flagged['trainable_in_optimizer']} of {flagged['trainable_tensors']} trainable tensors",
        evidence,
    )


def resolve_optimizer(name: Any) -> tuple[Callable[..., torch.optim.Optimizer], str]:
    """The code's torch optimizer class; anything else (bitsandbytes, a factory) is stood in by AdamW."""
    module_path, _, class_name = str(name or "").rpartition(".")
    found = getattr(torch.optim, class_name, None) if module_path == "torch.optim" else None
    if isinstance(found, type) and issubclass(found, torch.optim.Optimizer) and class_name not in UNSTEPPABLE:
        return found, f"torch.optim.{class_name}"
    return torch.optim.AdamW, DEFAULT_OPTIMIZER


def step_figures(model: nn.Module, optimizer: torch.optim.Optimizer, base: BaseModel) -> dict[str, Any]:
    """How many trainable tensors the optimizer holds, and whether one step moves them."""
    held = {id(parameter) for group in optimizer.param_groups for parameter in group["params"]}
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    before = [parameter.detach().clone() for parameter in trainable]
    training_loss(model, base.inputs).backward()
    optimizer.step()
    changes = [float((parameter.detach() - old).abs().max()) for parameter, old in zip(trainable, before, strict=True)]
    lora_b = [parameter for name, parameter in model.named_parameters() if "lora_B" in name]
    return {
        "optimizer_tensors": len(held),
        "trainable_tensors": len(trainable),
        "trainable_in_optimizer": len(held & {id(parameter) for parameter in trainable}),
        "step_changed_adapter": any(change > 0 for change in changes),
        "max_abs_change": max(changes, default=0.0),
        # A fresh LoRA starts with lora_B == 0: still 0 after the step means it was never updated.
        "max_abs_lora_B": max((float(parameter.detach().abs().max()) for parameter in lora_b), default=0.0),
    }
