"""Peft configs rebuilt from a finding's literal keywords, and adapters made non-trivial."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import peft
import torch
import transformers

from peftlint.verify.models import BaseModel, StandIn, fit_target_modules, own_linear_targets
from peftlint.verify.scenario import CannotRebuild, first_line

NOISE_STD = 0.02  # large enough that every adapted layer visibly changes the outputs


@dataclass(frozen=True)
class RebuiltConfig:
    config: peft.PeftConfig
    text: str  # how it was constructed (and why, where the verifier chose the targets), for the evidence


# The feed-forward projections of the architectures the verifier builds (IA3 scales their inputs)
FEEDFORWARD_LAYERS = frozenset(
    {"up_proj", "down_proj", "gate_proj", "fc1", "fc2", "c_fc", "dense_h_to_4h", "dense_4h_to_h"}
)


def build_peft_config(facts: dict[str, Any], base: BaseModel, **overrides: Any) -> RebuiltConfig:
    """The code's peft config (its literal keywords), adjusted only where the base is a substitute, or
    where the code gives no target_modules and peft has no default for the model's architecture (then
    the model's own linear layers below the top level, said so in ``text``)."""
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
            forward = kwargs.get("feedforward_modules")
            if isinstance(forward, (list, tuple)):  # IA3's must be a subset of the targets
                kept = [name for name in forward if name in targets]
                kwargs["feedforward_modules"] = kept or [name for name in targets if name in FEEDFORWARD_LAYERS]
    config = make_config(config_class, kwargs)
    note = ""
    model_type = without_default_targets(config, base.module)
    if model_type is not None:
        kwargs["target_modules"] = own_linear_targets(base.module, body_only=True)
        config = make_config(config_class, kwargs)
        note = (
            f" (target_modules chosen by the verifier: the model's own linear layers below its top level, "
            f"heads and poolers left out; the code gives none and "
            f"peft {peft.__version__} has no default {class_name} targets for model type {model_type!r})"
        )
    arguments = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
    return RebuiltConfig(config, f"{class_name}({arguments}){note}")


def make_config(config_class: type[peft.PeftConfig], kwargs: dict[str, Any]) -> peft.PeftConfig:
    try:
        return config_class(**kwargs)
    except (TypeError, ValueError) as error:
        raise CannotRebuild(f"peft rejected {config_class.__name__}(**{kwargs!r}): {first_line(error)}") from error


def without_default_targets(config: peft.PeftConfig, module: torch.nn.Module) -> str | None:
    """The model type, when the config names no target and peft's tuner has no default for that type
    (get_peft_model would raise "Please specify `target_modules`")."""
    if getattr(config, "target_modules", "") is not None or getattr(config, "target_parameters", None):
        return None
    if not isinstance(module, transformers.PreTrainedModel):
        return None
    try:
        peft_type = peft.PeftType(config.peft_type)
    except ValueError:  # no peft type (a config not built by its own __post_init__)
        return None
    tuner = peft.PEFT_TYPE_TO_TUNER_MAPPING.get(peft_type)
    mapping = getattr(tuner, "target_module_mapping", None)
    model_type = getattr(module.config, "model_type", None)
    if not isinstance(mapping, dict) or not model_type or mapping.get(model_type) is not None:
        return None
    return str(model_type)


def simulate_training(model: torch.nn.Module, seed: int) -> None:
    """Perturb every trainable parameter: a fresh LoRA has lora_B == 0 and would prove nothing."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.requires_grad:
                noise = torch.randn(parameter.shape, generator=generator) * NOISE_STD
                parameter.add_(noise.to(parameter.dtype))
