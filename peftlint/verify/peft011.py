"""PEFT011: an adapter added with ``load_adapter`` is used without being activated.

The scenario trains and saves two adapters, wraps the base with the first (as the code does:
``get_peft_model`` or ``PeftModel.from_pretrained``), loads the second with
``pm.load_adapter(dir, adapter_name=N)`` and runs a forward as the code does (flagged), and again
after ``pm.set_adapter(N)`` (control).
"""

from __future__ import annotations

import copy
import tempfile
import warnings
from pathlib import Path
from typing import Any

import peft
import torch

from peftlint.findings import Finding
from peftlint.verify.adapters import NOISE_STD, build_peft_config, simulate_training
from peftlint.verify.measure import ADAPTER_NAME, clip, max_abs_diff, number, same
from peftlint.verify.models import BaseModel, forward
from peftlint.verify.scenario import Outcome

DEFAULT_NEW_NAME = "new"  # when the code's adapter name is not a literal
LOADERS = ("PeftModel.from_pretrained", "AutoPeftModel")


def run(finding: Finding, base: BaseModel) -> Outcome:
    facts = finding.fact_map
    new_name = str(facts.get("adapter_name") or DEFAULT_NEW_NAME)
    first_name = ADAPTER_NAME if new_name != ADAPTER_NAME else "first"
    loaded = str(facts.get("wrapped_by") or "").startswith(LOADERS)
    config = build_peft_config(facts, base, inference_mode=False)
    with tempfile.TemporaryDirectory(prefix="peftlint-verify-") as tmp:
        old_output = train_and_save(base, config.config, seed=1, path=Path(tmp, "old"))
        new_output = train_and_save(base, config.config, seed=2, path=Path(tmp, "new"))
        outputs = {"old": old_output, "new": new_output}
        names = (first_name, new_name)
        flagged = load_new(base, config.config, loaded, names, Path(tmp), outputs, activate=False)
        control = load_new(base, config.config, loaded, names, Path(tmp), outputs, activate=True)
    evidence: dict[str, Any] = {
        "peft_config": config.text,
        "adapters": f"two adapters, training simulated with different seeds: N(0, {NOISE_STD}^2) noise "
        "added to every trainable parameter",
        "old_vs_new_max_abs_diff": max_abs_diff(old_output, new_output),
        "flagged": flagged,
        "control": control,
    }
    if same(old_output, new_output):
        return Outcome("skipped", "inconclusive: the two simulated adapters give the same outputs", evidence)
    if not control["equals_new"]:
        return Outcome(
            "skipped",
            f"inconclusive: even after set_adapter({new_name!r}) the outputs are not the new adapter's",
            evidence,
        )
    shown = flagged
    if shown["equals_new"]:
        return Outcome(
            "not_reproduced",
            f"peft {peft.__version__} activates the adapter load_adapter adds: the outputs equal the new adapter's "
            f"(max |diff| {number(shown['max_abs_diff_vs_new'])}), active adapter {shown['active_adapter']!r}",
            evidence,
        )
    outputs_are = "equal the old adapter's" if shown["equals_old"] else "are not the new adapter's"
    reason = (
        f"after {shown['call']} the active adapter stays {shown['active_adapter']!r} "
        f"(adapters loaded: {shown['adapters']}, {len(shown['warnings'])} warnings); its outputs {outputs_are} "
        f"(max |diff| {number(shown['max_abs_diff_vs_old'])} vs old, {number(shown['max_abs_diff_vs_new'])} vs new); "
        f"control with set_adapter({new_name!r}): active {control['active_adapter']!r}, "
        f"max |diff| {number(control['max_abs_diff_vs_new'])} vs new"
    )
    return Outcome("confirmed", reason, evidence)


def train_and_save(base: BaseModel, config: peft.PeftConfig, seed: int, path: Path) -> torch.Tensor:
    model = peft.get_peft_model(base.fresh_copy(), copy.deepcopy(config))
    simulate_training(model, seed)
    model.eval()
    model.save_pretrained(str(path))
    return forward(model, base.inputs)


def load_new(
    base: BaseModel,
    config: peft.PeftConfig,
    loaded: bool,
    names: tuple[str, str],
    tmp: Path,
    outputs: dict[str, torch.Tensor],
    activate: bool,
) -> dict[str, Any]:
    """The code's sequence on a model carrying the old adapter, and what its forward gives."""
    first_name, new_name = names
    model = first_model(base, config, loaded, first_name, tmp / "old")
    call = f'pm.load_adapter(new_dir, adapter_name="{new_name}")'
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # deliberate: the scenario reproduces the mistake it verifies (the control activates it below)
        model.load_adapter(str(tmp / "new"), adapter_name=new_name)  # noqa: PEFT011
    if activate:
        model.set_adapter(new_name)
        call += f'; pm.set_adapter("{new_name}")'
    model.eval()
    output = forward(model, base.inputs)
    return {
        "call": call,
        "active_adapter": model.active_adapter,
        "active_adapters": list(model.active_adapters),
        "adapters": list(model.peft_config),
        "warnings": [clip(str(warning.message)) for warning in caught],
        "max_abs_diff_vs_old": max_abs_diff(output, outputs["old"]),
        "max_abs_diff_vs_new": max_abs_diff(output, outputs["new"]),
        "max_abs_diff_vs_base": max_abs_diff(output, base.output),
        "equals_old": same(output, outputs["old"]),
        "equals_new": same(output, outputs["new"]),
    }


def first_model(base: BaseModel, config: peft.PeftConfig, loaded: bool, first_name: str, path: Path) -> peft.PeftModel:
    """The model the code loads the second adapter onto, carrying the old adapter."""
    if loaded:
        return peft.PeftModel.from_pretrained(base.fresh_copy(), str(path), adapter_name=first_name)
    # get_peft_model in the code: the same trained weights, put in place as a training run leaves them.
    wrapped = peft.get_peft_model(base.fresh_copy(), copy.deepcopy(config), adapter_name=first_name)
    peft.set_peft_model_state_dict(wrapped, peft.load_peft_weights(str(path)), adapter_name=first_name)
    return wrapped
