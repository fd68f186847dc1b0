"""PEFT014: ``modules_to_save`` given ``None`` by an in-place list method, or overlapping ``target_modules``.

In-place list method: ``modules_to_save=names.append("head")`` passes ``None``. The scenario wraps
with ``modules_to_save=None`` (flagged) and with the list the code meant (control) and measures
whether the module is trainable and saved. The module is the code's literal ``modules_to_save`` if
the finding has one, else the model's output head (its last linear layer LoRA does not adapt).

Overlap: the same name in ``target_modules`` and ``modules_to_save``. The scenario wraps with the
code's config (flagged) and with the name only in ``target_modules`` (control: LoRA on it, as
``target_modules`` asks) and only in ``modules_to_save``, and measures which one peft applies.
"""

from __future__ import annotations

import copy
import tempfile
import warnings
from pathlib import Path
from typing import Any

import peft
import safetensors.torch
from peft.tuners.tuners_utils import BaseTunerLayer
from torch import nn

from peftlint.findings import Finding
from peftlint.verify.adapters import RebuiltConfig, build_peft_config
from peftlint.verify.measure import clip, qualified_name
from peftlint.verify.models import BaseModel
from peftlint.verify.scenario import CannotRebuild, Outcome, first_line

WRAPPED_PREFIX = "base_model.model."  # where get_peft_model puts the base's modules


def run(finding: Finding, base: BaseModel) -> Outcome:
    facts = finding.fact_map
    misuse = facts.get("misuse") or ("overlap" if facts.get("overlap") else "in_place_list_method")
    if misuse == "overlap":
        return run_overlap(facts, base)
    return run_in_place(facts, base)


def run_in_place(facts: dict[str, Any], base: BaseModel) -> Outcome:
    flagged_config = build_peft_config(facts, base, inference_mode=False, modules_to_save=None)
    flagged_model, flagged_warnings = wrap(base, flagged_config)
    names = meant_names(facts, base, flagged_model)
    control_config = build_peft_config(facts, base, inference_mode=False, modules_to_save=names)
    control_model, control_warnings = wrap(base, control_config)
    with tempfile.TemporaryDirectory(prefix="peftlint-verify-") as tmp:
        flagged, _ = figures_of(flagged_model, base, names, Path(tmp, "flagged"), flagged_config.text)
        control, _ = figures_of(control_model, base, names, Path(tmp, "control"), control_config.text)
    # only what the mistake adds: warnings the meant config gives too are noise
    flagged["warnings"] = [message for message in flagged_warnings if message not in control_warnings]
    control["warnings"] = control_warnings
    evidence = {"misuse": "modules_to_save=lst.append(...) passes None", "flagged": flagged, "control": control}
    if not (control["module_trainable_params"] and control["module_saved_tensors"]):
        return Outcome("skipped", f"inconclusive: modules_to_save={names} does not make them trainable", evidence)
    if flagged["module_trainable_params"] or flagged["module_saved_tensors"]:
        return Outcome(
            "not_reproduced",
            f"peft {peft.__version__} trains and saves {names} even with modules_to_save=None "
            f"({flagged['module_trainable_params']:,} trainable params, {flagged['module_saved_tensors']} saved "
            f"tensors; modules_to_save in effect: {flagged['modules_to_save_in_effect']})",
            evidence,
        )
    reason = (
        f"with modules_to_save=None {names} ({', '.join(flagged['module_types'])}) get 0 trainable params and "
        f"0 of {flagged['saved_tensors']} saved tensors, {len(flagged['warnings'])} warnings "
        f"(trainable {flagged['trainable_params']:,} of {flagged['all_params']:,}); control modules_to_save={names}: "
        f"{control['module_trainable_params']:,} trainable params in {', '.join(control['module_types'])}, "
        f"{control['module_saved_tensors']} of {control['saved_tensors']} saved tensors"
    )
    return Outcome("confirmed", reason, evidence)


def run_overlap(facts: dict[str, Any], base: BaseModel) -> Outcome:
    targets = resolved_targets(facts, base)
    overlap = [str(name) for name in facts.get("overlap") or [] if module_paths(base.module, [str(name)])]
    substituted = not overlap
    if substituted:  # the code's names are not in this model: overlap one of its own targets
        overlap = targets[:1]
    targets = unique(targets + overlap)
    saved = unique([name for name in listed(facts, "modules_to_save") if module_paths(base.module, [name])] + overlap)
    evidence: dict[str, Any] = {
        "misuse": "the same name in target_modules and modules_to_save",
        "overlap": overlap,
        "overlap_substituted": substituted,
    }
    # The control: the names only in target_modules, LoRA on them as target_modules asks.
    lora_config = overlap_config(facts, base, targets, [name for name in saved if name not in overlap] or None)
    with tempfile.TemporaryDirectory(prefix="peftlint-verify-") as tmp:
        lora, _ = figures_of(wrap(base, lora_config)[0], base, overlap, Path(tmp, "lora"), lora_config.text)
        evidence["control"] = lora
        try:
            flagged_config = overlap_config(facts, base, targets, saved)
            flagged_model, flagged_warnings = wrap(base, flagged_config)
        except Exception as error:  # peft refuses the config: loud, not silent
            text = f"target_modules={targets}, modules_to_save={saved}"
            message = f"{type(error).__name__}: {first_line(error)}"
            evidence["flagged"] = {"peft_config": text, "exception": message}
            return Outcome("not_reproduced", f"peft {peft.__version__} raises on {text}: {message}", evidence)
        flagged, flagged_names = figures_of(flagged_model, base, overlap, Path(tmp, "flagged"), flagged_config.text)
        # The names only in modules_to_save: what peft gives when it drops the LoRA.
        full_config = overlap_config(facts, base, [name for name in targets if name not in overlap], saved)
        full, full_names = figures_of(wrap(base, full_config)[0], base, overlap, Path(tmp, "full"), full_config.text)
    flagged["warnings"] = flagged_warnings
    flagged["same_trainable_parameters_as_modules_to_save_only"] = flagged_names == full_names
    evidence.update({"flagged": flagged, "modules_to_save_only": full})
    if not lora["module_lora_params"]:
        return Outcome("skipped", f"inconclusive: target_modules does not put LoRA on {overlap}", evidence)
    if flagged["module_lora_params"]:
        return Outcome(
            "not_reproduced",
            f"peft {peft.__version__} applies LoRA to {overlap} despite modules_to_save "
            f"({flagged['module_lora_params']:,} LoRA params there)",
            evidence,
        )
    same_as = " (the same trainable parameters as with the name only in modules_to_save)"
    reason = (
        f"peft {peft.__version__} silently drops the LoRA target_modules asks for on {overlap}: "
        f"{', '.join(flagged['module_types'])}, 0 LoRA params there, "
        f"{flagged['module_trainable_params']:,} params fully trained instead, {len(flagged_warnings)} warnings, "
        f"no error; trainable {flagged['trainable_params']:,} of {flagged['all_params']:,}"
        f"{same_as if flagged['same_trainable_parameters_as_modules_to_save_only'] else ''}; "
        f"control with the name only in target_modules: {', '.join(lora['module_types'])}, "
        f"{lora['module_lora_params']:,} LoRA params there, trainable {lora['trainable_params']:,}"
    )
    return Outcome("confirmed", reason, evidence)


def wrap(base: BaseModel, config: RebuiltConfig) -> tuple[peft.PeftModel, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = peft.get_peft_model(base.fresh_copy(), copy.deepcopy(config.config))
    # transformers' own deprecation notices say nothing about the config
    messages = [str(warning.message) for warning in caught if not issubclass(warning.category, FutureWarning)]
    return model, [clip(message) for message in dict.fromkeys(messages)]


def meant_names(facts: dict[str, Any], base: BaseModel, flagged: nn.Module) -> list[str]:
    """The code's literal modules_to_save names found in the model, else the output head."""
    literal = [name for name in listed(facts, "modules_to_save") if module_paths(base.module, [name])]
    if literal:
        return literal
    adapted = {
        name.removeprefix(WRAPPED_PREFIX)
        for name, module in flagged.named_modules()
        if isinstance(module, BaseTunerLayer)
    }
    heads = [name for name, module in base.module.named_modules() if isinstance(module, nn.Linear) and name]
    free = [name for name in heads if name not in adapted]
    if not free:
        raise CannotRebuild("every linear layer of the model is a LoRA target: no module left for modules_to_save")
    return [free[-1].rpartition(".")[2]]


def resolved_targets(facts: dict[str, Any], base: BaseModel) -> list[str]:
    """target_modules as names: the code's (fitted to a substitute), else peft's default for the model."""
    config = build_peft_config(facts, base, inference_mode=False, modules_to_save=None)
    targets = getattr(config.config, "target_modules", None)
    if targets is None:
        probe = peft.get_peft_model(base.fresh_copy(), copy.deepcopy(config.config))
        targets = getattr(probe.peft_config["default"], "target_modules", None)
    if not isinstance(targets, (list, tuple, set)):
        raise CannotRebuild(f"target_modules is {targets!r}, not a list of names: no name to overlap")
    return sorted(str(target) for target in targets)


def overlap_config(
    facts: dict[str, Any], base: BaseModel, targets: list[str], modules_to_save: list[str] | None
) -> RebuiltConfig:
    return build_peft_config(facts, base, inference_mode=False, target_modules=targets, modules_to_save=modules_to_save)


def figures_of(
    model: peft.PeftModel, base: BaseModel, names: list[str], path: Path, config_text: str
) -> tuple[dict[str, Any], list[str]]:
    """Trainable and saved parameters of the whole model and of the modules called ``names``; the
    names of the trainable parameters."""
    paths = [WRAPPED_PREFIX + path for path in module_paths(base.module, names)]
    under = tuple(f"{path}." for path in paths)
    trainable = {name: p.numel() for name, p in model.named_parameters() if p.requires_grad}
    model.save_pretrained(str(path))
    saved = list(safetensors.torch.load_file(str(path / "adapter_model.safetensors")))
    figures = {
        "peft_config": config_text,
        "modules_to_save_in_effect": sorted(set(getattr(model.peft_config["default"], "modules_to_save", None) or [])),
        "trainable_params": sum(trainable.values()),
        "all_params": sum(p.numel() for p in model.parameters()),
        "module_paths": paths,
        "module_types": sorted({qualified_name(type(model.get_submodule(path))) for path in paths}),
        "module_trainable_params": sum(size for name, size in trainable.items() if name.startswith(under)),
        "module_lora_params": sum(
            size for name, size in trainable.items() if name.startswith(under) and "lora_" in name
        ),
        "saved_tensors": len(saved),
        "module_saved_tensors": sum(1 for key in saved if key.startswith(under)),
        "first_module_saved_key": next((key for key in saved if key.startswith(under)), None),
    }
    return figures, sorted(trainable)


def module_paths(module: nn.Module, names: list[str]) -> list[str]:
    """Paths of the modules peft matches to ``names`` (the path itself or its last segments)."""
    return [
        path
        for path, _ in module.named_modules()
        if path and any(path == name or path.endswith(f".{name}") for name in names)
    ]


def listed(facts: dict[str, Any], key: str) -> list[str]:
    value = (facts.get("peft_config") or {}).get(key)
    return [str(name) for name in value] if isinstance(value, (list, tuple)) else []


def unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))
