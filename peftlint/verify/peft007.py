"""PEFT007: a config with ``inference_mode=True`` (written, or loaded from a saved adapter) trains nothing.

``config_source == "literal"``: the code's config with ``inference_mode=True`` is wrapped; the control
has ``inference_mode=False``. ``"from_pretrained"``: an adapter is saved the usual way (its saved
config says ``inference_mode: true``), its config is read back with ``<Config>.from_pretrained(dir)``
and wrapped; also measured: the ``inference_mode=False`` keyword to ``from_pretrained``; the control
assigns ``cfg.inference_mode = False`` after loading.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import peft

from peftlint.findings import Finding
from peftlint.verify.adapters import build_peft_config
from peftlint.verify.measure import trainable_count
from peftlint.verify.models import BaseModel
from peftlint.verify.scenario import Outcome

SOURCES = ("literal", "from_pretrained")


def run(finding: Finding, base: BaseModel) -> Outcome:
    facts = finding.fact_map
    source = facts.get("config_source") if facts.get("config_source") in SOURCES else SOURCES[0]
    if source == "literal":
        flagged = build_peft_config(facts, base, inference_mode=True)
        control = build_peft_config(facts, base, inference_mode=False)
        evidence: dict[str, Any] = {
            "config_source": source,
            "flagged": {"config": flagged.text, "trainable_params": wrapped_trainable(base, flagged.config)},
            "control": {"config": control.text, "trainable_params": wrapped_trainable(base, control.config)},
        }
    else:
        evidence = loaded_config_evidence(facts, base)
    flagged_count = evidence["flagged"]["trainable_params"]
    control_count = evidence["control"]["trainable_params"]
    if flagged_count == 0 and control_count > 0:
        return Outcome("confirmed", confirmed_reason(evidence), evidence)
    return Outcome(
        "not_reproduced",
        f"peft {peft.__version__}: {flagged_count:,} trainable params with the inference-mode config, "
        f"{control_count:,} with inference_mode=False",
        evidence,
    )


def wrapped_trainable(base: BaseModel, config: peft.PeftConfig) -> int:
    return trainable_count(peft.get_peft_model(base.fresh_copy(), config))


def loaded_config_evidence(facts: dict[str, Any], base: BaseModel) -> dict[str, Any]:
    # The adapter was trained, so it was built with inference_mode=False; save_pretrained flips it.
    trained = build_peft_config(facts, base, inference_mode=False)
    config_class = type(trained.config)
    name = config_class.__name__
    with tempfile.TemporaryDirectory(prefix="peftlint-verify-") as tmp:
        peft.get_peft_model(base.fresh_copy(), trained.config).save_pretrained(tmp)
        saved = json.loads(Path(tmp, "adapter_config.json").read_text()).get("inference_mode")
        loaded = config_class.from_pretrained(tmp)
        keyword = config_class.from_pretrained(tmp, inference_mode=False)
        assigned = config_class.from_pretrained(tmp)
        assigned.inference_mode = False
    return {
        "config_source": "from_pretrained",
        "trained_config": trained.text,
        "saved_inference_mode": saved,
        "flagged": {
            "config": f"{name}.from_pretrained(adapter_dir)",
            "inference_mode": loaded.inference_mode,
            "trainable_params": wrapped_trainable(base, loaded),
        },
        "keyword_override": {
            "config": f"{name}.from_pretrained(adapter_dir, inference_mode=False)",
            "inference_mode": keyword.inference_mode,
            "trainable_params": wrapped_trainable(base, keyword),
        },
        "control": {
            "config": f"cfg = {name}.from_pretrained(adapter_dir); cfg.inference_mode = False",
            "inference_mode": assigned.inference_mode,
            "trainable_params": wrapped_trainable(base, assigned),
        },
    }


def confirmed_reason(evidence: dict[str, Any]) -> str:
    flagged, control = evidence["flagged"], evidence["control"]
    if evidence["config_source"] == "literal":
        return (
            f"get_peft_model with {flagged['config']} leaves 0 trainable params; with inference_mode=False "
            f"{control['trainable_params']:,}"
        )
    keyword = evidence["keyword_override"]
    return (
        f"save_pretrained writes inference_mode={evidence['saved_inference_mode']} into the adapter config; "
        f"{flagged['config']} reads it back (inference_mode={flagged['inference_mode']}) and get_peft_model "
        f"leaves 0 trainable params; the inference_mode=False keyword gives {keyword['trainable_params']:,} "
        f"(inference_mode={keyword['inference_mode']}); assigning cfg.inference_mode = False gives "
        f"{control['trainable_params']:,}"
    )
