"""Runtime scenarios of PEFT003-PEFT008 and PEFT015 on real tiny models (no mocks).

One ``verify_findings`` run (``--verify-small``) over every finding below is shared by the tests, as
the CLI would run it. Each rule has a finding with the code's facts and one with minimal facts
(no model facts: the embedded tiny default and a default LoraConfig stand in).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from synthetic import finding

from peftlint.verify import Verdict, VerifyOptions, verify_findings

SEED_CONFIG = {"task_type": "CAUSAL_LM", "inference_mode": False, "r": 8, "lora_alpha": 32, "lora_dropout": 0.1}
GPT2 = {
    "model_id": "gpt2",
    "model_class": "transformers.AutoModelForCausalLM",
    "peft_config": SEED_CONFIG,
    "peft_config_class": "LoraConfig",
    "wrapped_by": "get_peft_model",
}
LINEAR = {
    "model_class": "LinearModel",
    "local_module": True,
    "peft_config": {"r": 4, "lora_alpha": 16, "target_modules": ["linear"]},
    "peft_config_class": "LoraConfig",
}
GPT2_LORA = 4_096  # c_attn of the 2 tiny gpt2 layers, r=8: 2 * 8 * (64 + 192)
TINY_LLAMA_LORA = 3_584  # peft's default q_proj/v_proj of the embedded tiny llama, r=8


FINDINGS = {
    "003": finding("PEFT003", loader="PeftModel.from_pretrained", trained_by="trainer", **GPT2),
    "003_auto": finding("PEFT003", loader="AutoPeftModel.from_pretrained", trained_by="optimizer", **GPT2),
    "003_minimal": finding("PEFT003"),
    "004": finding("PEFT004", method="merge_and_unload", saved_after=True, **GPT2),
    "004_unload": finding("PEFT004", method="unload", saved_after=False),
    "004_minimal": finding("PEFT004"),
    "005": finding("PEFT005", optimizer_class="torch.optim.AdamW", **GPT2),
    "005_stand_in_sgd": finding("PEFT005", optimizer_class="torch.optim.SGD", **LINEAR),
    "005_minimal": finding("PEFT005"),
    "006": finding("PEFT006", **GPT2),
    "006_minimal": finding("PEFT006"),
    "007": finding(
        "PEFT007", config_source="literal", **{**GPT2, "peft_config": {**SEED_CONFIG, "inference_mode": True}}
    ),
    "007_from_pretrained": finding("PEFT007", config_source="from_pretrained", **{**GPT2, "peft_config": {}}),
    "007_minimal": finding("PEFT007"),
    "007_minimal_from_pretrained": finding("PEFT007", config_source="from_pretrained"),
    "008": finding("PEFT008", model_class="transformers.AutoModelForSequenceClassification"),
    "008_bert": finding(
        "PEFT008",
        model_class="transformers.BertForSequenceClassification",
        peft_config={"r": 8, "lora_alpha": 16, "target_modules": ["query", "value"]},
        peft_config_class="LoraConfig",
    ),
    "008_token": finding("PEFT008", model_class="transformers.AutoModelForTokenClassification"),
    "008_minimal": finding("PEFT008"),
    "015": finding("PEFT015", use="forward", **GPT2),
    "015_save": finding("PEFT015", use="save_pretrained", **GPT2),
    "015_from_pretrained": finding("PEFT015", use="generate", **{**GPT2, "wrapped_by": "PeftModel.from_pretrained"}),
    "015_minimal": finding("PEFT015"),
}


@pytest.fixture(scope="module")
def verdicts() -> dict[str, Verdict]:
    results = verify_findings(list(FINDINGS.values()), VerifyOptions(small=True, progress=False))
    return dict(zip(FINDINGS, results, strict=True))


def confirmed(verdicts: dict[str, Verdict], key: str) -> dict[str, Any]:
    verdict = verdicts[key]
    assert verdict.status == "confirmed", verdict.reason
    return verdict.evidence


def test_every_scenario_confirms_with_a_control(verdicts: dict[str, Verdict]) -> None:
    for key, verdict in verdicts.items():
        assert verdict.status == "confirmed", f"{key}: {verdict.reason}"
        payload = json.loads(json.dumps(verdict.to_json()))
        assert "control" in payload["evidence"], key


def test_minimal_facts_use_the_embedded_default(verdicts: dict[str, Verdict]) -> None:
    for key in ("003_minimal", "004_minimal", "005_minimal", "006_minimal", "007_minimal", "015_minimal"):
        assert verdicts[key].model.startswith("embedded default: tiny AutoModelForCausalLM"), key
    assert verdicts["008"].model.startswith("embedded default: tiny AutoModelForSequenceClassification")


@pytest.mark.parametrize("key", ["003", "003_minimal"])
def test_peft003_loaded_adapter_has_nothing_to_train(verdicts: dict[str, Verdict], key: str) -> None:
    evidence = confirmed(verdicts, key)
    flagged, control = evidence["flagged"], evidence["control"]
    expected = GPT2_LORA if key == "003" else TINY_LLAMA_LORA
    assert (flagged["trainable_params"], control["trainable_params"]) == (0, expected)
    assert flagged["backward_error"].startswith("RuntimeError: element 0 of tensors does not require grad")
    assert not flagged["step_changed_adapter"]
    assert control["backward_error"] is None and control["step_changed_adapter"]
    assert control["call"].endswith("is_trainable=True)")


def test_peft003_auto_peft_model(verdicts: dict[str, Verdict]) -> None:
    evidence = confirmed(verdicts, "003_auto")
    assert evidence["flagged"]["call"] == "AutoPeftModelForCausalLM.from_pretrained(adapter_dir)"
    assert (evidence["flagged"]["trainable_params"], evidence["control"]["trainable_params"]) == (0, GPT2_LORA)


@pytest.mark.parametrize(
    ("key", "method", "adapter_tensors"), [("004", "merge_and_unload", 4), ("004_unload", "unload", 8)]
)
def test_peft004_bare_call_saves_an_empty_adapter(
    verdicts: dict[str, Verdict], key: str, method: str, adapter_tensors: int
) -> None:
    evidence = confirmed(verdicts, key)
    flagged, control = evidence["flagged"], evidence["control"]
    assert evidence["method"] == method
    assert flagged["still_peft_model"] and flagged["saved_tensors"] == 0 and flagged["warnings"] == []
    assert control["saved_before_call"]["saved_tensors"] == adapter_tensors
    rebound = control["rebound"]
    assert not rebound["still_peft_model"] and rebound["saved_tensors"] > 0 and rebound["reloaded_equal"]
    assert rebound["reloaded_compared_with"] == ("trained" if method == "merge_and_unload" else "base")


def test_peft004_minimal_defaults_to_merge_and_unload(verdicts: dict[str, Verdict]) -> None:
    evidence = confirmed(verdicts, "004_minimal")
    assert evidence["method"] == "merge_and_unload"
    assert evidence["flagged"]["saved_tensors"] == 0 and evidence["control"]["saved_before_call"]["saved_tensors"] == 8


@pytest.mark.parametrize("key", ["005", "005_stand_in_sgd", "005_minimal"])
def test_peft005_optimizer_before_wrap_holds_no_adapter(verdicts: dict[str, Verdict], key: str) -> None:
    evidence = confirmed(verdicts, key)
    flagged, control = evidence["flagged"], evidence["control"]
    assert flagged["trainable_in_optimizer"] == 0 and flagged["trainable_tensors"] > 0
    assert flagged["max_abs_lora_B"] == 0.0 and not flagged["step_changed_adapter"]
    assert control["trainable_in_optimizer"] == control["trainable_tensors"] == flagged["trainable_tensors"]
    assert control["max_abs_lora_B"] > 0 and control["step_changed_adapter"]
    assert evidence["optimizer"] == ("torch.optim.SGD" if key == "005_stand_in_sgd" else "torch.optim.AdamW")


@pytest.mark.parametrize(("key", "expected"), [("006", GPT2_LORA), ("006_minimal", TINY_LLAMA_LORA)])
def test_peft006_kbit_prep_after_wrap_freezes_everything(verdicts: dict[str, Verdict], key: str, expected: int) -> None:
    evidence = confirmed(verdicts, key)
    flagged = evidence["flagged"]
    assert (flagged["trainable_params_before_prepare"], flagged["trainable_params_after_prepare"]) == (expected, 0)
    assert evidence["control"]["trainable_params"] == expected
    assert evidence["quantized"] is False


@pytest.mark.parametrize(("key", "expected"), [("007", GPT2_LORA), ("007_minimal", TINY_LLAMA_LORA)])
def test_peft007_literal_inference_mode(verdicts: dict[str, Verdict], key: str, expected: int) -> None:
    evidence = confirmed(verdicts, key)
    assert evidence["config_source"] == "literal"
    assert "inference_mode=True" in evidence["flagged"]["config"]
    assert (evidence["flagged"]["trainable_params"], evidence["control"]["trainable_params"]) == (0, expected)


@pytest.mark.parametrize(
    ("key", "expected"), [("007_from_pretrained", GPT2_LORA), ("007_minimal_from_pretrained", TINY_LLAMA_LORA)]
)
def test_peft007_config_loaded_from_a_saved_adapter(verdicts: dict[str, Verdict], key: str, expected: int) -> None:
    evidence = confirmed(verdicts, key)
    assert evidence["saved_inference_mode"] is True
    assert (evidence["flagged"]["inference_mode"], evidence["flagged"]["trainable_params"]) == (True, 0)
    # The keyword does not override the saved value; the assignment after loading does.
    assert (evidence["keyword_override"]["inference_mode"], evidence["keyword_override"]["trainable_params"]) == (
        True,
        0,
    )
    assert (evidence["control"]["inference_mode"], evidence["control"]["trainable_params"]) == (False, expected)


@pytest.mark.parametrize(
    ("key", "model_class", "heads", "task"),
    [
        ("008", "LlamaForSequenceClassification", ["score"], "SEQ_CLS"),
        ("008_bert", "BertForSequenceClassification", ["classifier"], "SEQ_CLS"),
        ("008_token", "LlamaForTokenClassification", ["score"], "TOKEN_CLS"),
        ("008_minimal", "LlamaForSequenceClassification", ["score"], "SEQ_CLS"),
    ],
)
def test_peft008_head_frozen_and_not_saved(
    verdicts: dict[str, Verdict], key: str, model_class: str, heads: list[str], task: str
) -> None:
    evidence = confirmed(verdicts, key)
    flagged, control = evidence["flagged"], evidence["control"]
    assert (evidence["model_class"], evidence["heads"]) == (model_class, heads)
    assert flagged["head_params"] > 0
    assert (flagged["head_trainable_params"], flagged["head_tensors_saved"]) == (0, 0)
    assert control["head_trainable_params"] == flagged["head_params"] and control["head_tensors_saved"] > 0
    assert f"task_type='{task}'" in control["config"] and "task_type" not in flagged["config"]
    assert ("model_note" in evidence) == (key == "008_minimal")


@pytest.mark.parametrize("key", ["015", "015_from_pretrained", "015_minimal"])
def test_peft015_base_carries_the_adapter(verdicts: dict[str, Verdict], key: str) -> None:
    evidence = confirmed(verdicts, key)
    flagged, control = evidence["flagged"], evidence["control"]
    assert flagged["b_equals_peft_model"] and flagged["b_max_abs_diff_vs_peft_model"] == 0.0
    assert not flagged["b_equals_original_base"] and flagged["b_max_abs_diff_vs_original_base"] > 1e-3
    assert flagged["lora_layers_in_b"] > 0
    assert control["b_equals_original_base"] and control["b_max_abs_diff_vs_original_base"] == 0.0
    assert not control["b_equals_peft_model"] and control["lora_layers_in_b"] == 0


def test_peft015_saved_base_reloads_with_new_weights(verdicts: dict[str, Verdict]) -> None:
    evidence = confirmed(verdicts, "015_save")
    flagged, control = evidence["flagged"], evidence["control"]
    assert flagged["reload_missing_keys"] == 4  # c_attn weight and bias of both layers: saved as base_layer.*
    assert flagged["reload_unexpected_keys"] == 8 and not flagged["reload_equals_original_base"]
    assert (control["reload_missing_keys"], control["reload_unexpected_keys"]) == (0, 0)
    assert control["reload_equals_original_base"]


def test_peft008_needs_a_head() -> None:
    (verdict,) = verify_findings([finding("PEFT008", **LINEAR)], VerifyOptions(progress=False))
    assert (verdict.status, verdict.reason) == ("skipped", "a StandIn has no classification head to check")
