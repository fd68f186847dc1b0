"""Peft configs rebuilt from a finding's literal keywords, and adapters made non-trivial."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import peft
import torch

from peftlint.verify.models import BaseModel, StandIn, fit_target_modules
from peftlint.verify.scenario import CannotRebuild, first_line

NOISE_STD = 0.02  # large enough that every adapted layer visibly changes the outputs


@dataclass(frozen=True)
class RebuiltConfig:
    config: peft.PeftConfig
    text: str  # how it was constructed, for the evidence


def build_peft_config(facts: dict[str, Any], base: BaseModel, **overrides: Any) -> RebuiltConfig:
    """The code's peft config (its literal keywords), adjusted only where the base is a substitute."""
    class_name = facts.get("peft_config_class") or "LoraConfig"
    config_class = getattr(peft, class_name, None)
    if not (isinstance(config_class, type) and issubclass(config_class, peft.PeftConfig)):
        raise CannotRebuild(f"{class_name} is not a peft config class in peft {peft.__version__}")
    kwargs = dict(facts.get("peft_config") or {})
    kwargs.update(overrides)
    if "task_type" in kwargs:
        kwargs["task_type"] = str(kwargs["task_type"]).rpartition(".")[2]
    if isinstance(base.module, StandIn):
        kwargs.pop("task_type", None)  # the stand-in has no language-model interface
    if base.substitute:
        targets = fit_target_modules(base.module, kwargs.get("target_modules"))
        if targets is not None:
            kwargs["target_modules"] = targets
    try:
        config = config_class(**kwargs)
    except (TypeError, ValueError) as error:
        raise CannotRebuild(f"peft rejected {class_name}(**{kwargs!r}): {first_line(error)}") from error
    arguments = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
    return RebuiltConfig(config, f"{class_name}({arguments})")


def simulate_training(model: torch.nn.Module, seed: int) -> None:
    """Perturb every trainable parameter: a fresh LoRA has lora_B == 0 and would prove nothing."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.requires_grad:
                noise = torch.randn(parameter.shape, generator=generator) * NOISE_STD
                parameter.add_(noise.to(parameter.dtype))
