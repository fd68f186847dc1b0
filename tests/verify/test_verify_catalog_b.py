"""Runtime scenarios of PEFT009-PEFT014 on real torch/transformers/peft models (no mocks).

One ``verify_findings`` run over every finding below is shared by the tests (``--verify-small``:
gpt2 at a tiny size of its own architecture, the embedded tiny Llama when the code names no
model). Each test checks the flagged form's figures and the control's.
"""

from __future__ import annotations

import json

import pytest
from synthetic import finding

from peftlint.verify import Verdict, VerifyOptions, verify_findings

GPT2 = {
    "model_id": "gpt2",
    "model_class": "transformers.AutoModelForCausalLM",
    "peft_config": {"task_type": "CAUSAL_LM", "r": 8, "lora_alpha": 16},
    "peft_config_class": "LoraConfig",
}
SEQ_CLS = {"model_class": "transformers.LlamaForSequenceClassification", "peft_config_class": "LoraConfig"}
# LoRA r=8 on the tiny gpt2's two c_attn layers: 2 * (64*8 + 8*192) of 128,768 params.
GPT2_LORA = (4_096, 128_768)
# LoRA r=8 on the tiny Llama's q_proj and v_proj (peft's default targets): 2 * (64*8 + 8*64 + 64*8 + 8*32).
LLAMA_LORA = (3_584, 110_400)


FINDINGS = {
    "p009_sd": finding("PEFT009", state_dict_source="get_peft_model_state_dict", **GPT2),
    "p009_file": finding("PEFT009", state_dict_source="file", **GPT2),
    "p009_minimal": finding("PEFT009"),
    "p010_get_peft_model": finding("PEFT010", first_wrap="get_peft_model", **GPT2),
    "p010_loaded": finding("PEFT010", first_wrap="PeftModel.from_pretrained", **GPT2),
    "p010_minimal": finding("PEFT010"),
    # a classifier: task_type SEQ_CLS puts the head in modules_to_save
    "p010_seq_cls": finding(
        "PEFT010",
        first_wrap="get_peft_model",
        model_id="bert-base-uncased",
        model_class="transformers.AutoModelForSequenceClassification",
        peft_config={"task_type": "SEQ_CLS", "r": 8, "lora_alpha": 16, "target_modules": ["query"]},
        peft_config_class="LoraConfig",
    ),
    "p011_named": finding("PEFT011", adapter_name="dpo", wrapped_by="PeftModel.from_pretrained", **GPT2),
    "p011_minimal": finding("PEFT011"),
    "p012_gpt2": finding("PEFT012", **GPT2),
    "p012_stand_in": finding(
        "PEFT012",
        model_class="LinearModel",
        local_module=True,
        peft_config={"r": 4, "lora_alpha": 16, "target_modules": ["linear"]},
    ),
    "p012_minimal": finding("PEFT012"),
    "p013_loop": finding("PEFT013", form="loop", **GPT2),
    "p013_whole_model": finding("PEFT013", form="whole_model", **GPT2),
    "p013_minimal": finding("PEFT013"),
    # An image classifier of an unknown id: the tiny ViT of the auto class, not a Llama it cannot build.
    "p013_image_classifier": finding(
        "PEFT013",
        form="loop",
        model_id="google/vit-base-patch16-224-in21k",
        model_class="transformers.AutoModelForImageClassification",
        peft_config={"r": 16, "lora_alpha": 16, "lora_dropout": 0.1},
        peft_config_class="LoraConfig",
        wrapped_by="get_peft_model",
    ),
    # No target_modules (a reloaded adapter) and peft has no default for CLIP: its own linear layers.
    "p013_clip_no_default_targets": finding(
        "PEFT013",
        form="loop",
        model_id="runwayml/stable-diffusion-v1-5",
        model_class="transformers.CLIPTextModel",
        wrapped_by="PeftModel.from_pretrained",
    ),
    # An auto class with no tiny architecture here: the generic tiny causal LM.
    "p013_audio_classifier": finding(
        "PEFT013", form="loop", model_id="acme/audio-7b", model_class="transformers.AutoModelForAudioClassification"
    ),
    "p014_in_place": finding("PEFT014", misuse="in_place_list_method", **GPT2),
    "p014_in_place_head": finding(
        "PEFT014",
        misuse="in_place_list_method",
        peft_config={"r": 8, "target_modules": ["q_proj", "v_proj"]},
        **SEQ_CLS,
    ),
    "p014_in_place_seq_cls_task": finding(
        "PEFT014", misuse="in_place_list_method", peft_config={"task_type": "SEQ_CLS", "r": 8}, **SEQ_CLS
    ),
    "p014_overlap": finding(
        "PEFT014",
        misuse="overlap",
        overlap=["q_proj"],
        model_id="acme/internal-llm-7b",
        model_class="transformers.AutoModelForCausalLM",
        peft_config={"r": 8, "target_modules": ["q_proj", "v_proj"], "modules_to_save": ["q_proj"]},
        peft_config_class="LoraConfig",
    ),
    "p014_overlap_every_target": finding(
        "PEFT014",
        misuse="overlap",
        overlap=["c_attn"],
        model_id="gpt2",
        model_class="transformers.AutoModelForCausalLM",
        peft_config={"task_type": "CAUSAL_LM", "r": 8, "target_modules": ["c_attn"], "modules_to_save": ["c_attn"]},
        peft_config_class="LoraConfig",
    ),
    "p014_overlap_embedding": finding(
        "PEFT014",
        misuse="overlap",
        overlap=["embed_tokens"],
        model_id="acme/internal-llm-7b",
        model_class="transformers.AutoModelForCausalLM",
        peft_config={
            "r": 8,
            "target_modules": ["q_proj", "v_proj", "embed_tokens"],
            "modules_to_save": ["embed_tokens"],
        },
        peft_config_class="LoraConfig",
    ),
    "p014_minimal": finding("PEFT014"),
    "p014_minimal_overlap": finding("PEFT014", misuse="overlap"),
}


@pytest.fixture(scope="module")
def verdicts() -> dict[str, Verdict]:
    results = verify_findings(list(FINDINGS.values()), VerifyOptions(small=True, progress=False))
    return dict(zip(FINDINGS, results, strict=True))


def test_every_verdict_serialises_with_a_control(verdicts: dict[str, Verdict]) -> None:
    for key, verdict in verdicts.items():
        payload = json.loads(json.dumps(verdict.to_json()))
        assert "control" in payload["evidence"], key
        assert "\n" not in verdict.summary()


# PEFT009 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "source"), [("p009_sd", "get_peft_model_state_dict"), ("p009_file", "file")])
def test_peft009_non_strict_load_drops_every_key(verdicts: dict[str, Verdict], key: str, source: str) -> None:
    verdict = verdicts[key]
    flagged = verdict.evidence["flagged"][source]
    control = verdict.evidence["control"][source]
    assert verdict.status == "confirmed", verdict.reason
    assert list(verdict.evidence["flagged"]) == [source]
    assert (flagged["state_dict_keys"], flagged["unexpected_keys"], flagged["loaded_keys"]) == (4, 4, 0)
    assert (flagged["missing_keys"], flagged["missing_adapter_keys"]) == (33, 4)
    assert flagged["first_unexpected_key"] == "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"
    assert flagged["where_it_belongs"] == "base_model.model.transformer.h.0.attn.c_attn.lora_A.default.weight"
    assert flagged["warnings"] == []
    assert flagged["max_abs_diff_vs_base"] == 0.0 and flagged["equals_base"]
    assert flagged["max_abs_diff_vs_trained"] > 1e-3 and not flagged["equals_trained"]
    # Control: set_peft_model_state_dict gives the trained outputs.
    assert control["unexpected_keys"] == 0
    assert control["max_abs_diff_vs_trained"] == 0.0 and control["equals_trained"]
    assert control["max_abs_diff_vs_base"] > 1e-3
    assert "4 of 4 keys unexpected" in verdict.reason


def test_peft009_minimal_facts_measures_both_sources(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["p009_minimal"]
    assert verdict.status == "confirmed", verdict.reason
    assert verdict.model.startswith("embedded default: tiny AutoModelForCausalLM")
    for source in ("get_peft_model_state_dict", "file"):
        flagged = verdict.evidence["flagged"][source]
        control = verdict.evidence["control"][source]
        assert (flagged["state_dict_keys"], flagged["unexpected_keys"], flagged["missing_adapter_keys"]) == (8, 8, 8)
        assert flagged["max_abs_diff_vs_base"] == 0.0
        assert control["unexpected_keys"] == 0 and control["max_abs_diff_vs_trained"] == 0.0


# PEFT010 ---------------------------------------------------------------------------------------

SECOND_TIME = "You are trying to modify a model with PEFT for a second time."
ALREADY_FOUND = "Already found a `peft_config` attribute in the model."


def test_peft010_second_wrap_resets_the_first_adapter_and_nests_the_save(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["p010_get_peft_model"]
    wrapped = verdict.evidence["flagged"]["wrapped"]
    same_base = verdict.evidence["flagged"]["same_base"]
    control = verdict.evidence["control"]
    assert verdict.status == "confirmed", verdict.reason
    for figures in (wrapped, same_base):
        assert [message.split(" If")[0].split(" This")[0] for message in figures["warnings"]] == [
            SECOND_TIME,
            ALREADY_FOUND,
        ]
        assert (figures["trainable_params"], figures["all_params"]) == GPT2_LORA
        assert figures["adapters"] == ["default"]
        assert figures["first_adapter_max_abs_diff_vs_base_before"] > 1e-3
        assert figures["first_adapter_max_abs_diff_vs_base_after"] == 0.0 and figures["first_adapter_equals_base_after"]
        assert figures["first_adapter_max_abs_diff_before_vs_after"] > 1e-3 and figures["first_adapter_changed"]
        assert figures["saved_tensors"] == 4
    # Nested: parameter and saved names gain a second prefix and the save does not load back.
    assert wrapped["first_adapter_parameter"].startswith("base_model.model.base_model.model.transformer.h.0")
    assert wrapped["first_saved_key"] == "base_model.model.base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"
    assert wrapped["reload_max_abs_diff_vs_base"] == 0.0 and not wrapped["reload_equals_trained"]
    assert wrapped["reload_warnings"][0].startswith("Found missing adapter keys while loading the checkpoint")
    # Same base: the names stay flat and the second adapter's save loads back.
    assert same_base["first_saved_key"] == "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"
    assert same_base["reload_equals_trained"] and same_base["reload_max_abs_diff_vs_trained"] == 0.0
    # Control: one wrap, same counts, no nesting, the trained adapter reloads exactly.
    assert (control["trainable_params"], control["all_params"]) == GPT2_LORA
    assert control["first_saved_key"] == "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"
    assert control["reload_max_abs_diff_vs_trained"] == 0.0 and control["reload_warnings"] == []
    assert control["trained_max_abs_diff_vs_base"] > 1e-3


def test_peft010_loaded_adapter_is_wiped_by_get_peft_model(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["p010_loaded"]
    assert verdict.status == "confirmed", verdict.reason
    assert verdict.evidence["first_wrap"].startswith("first = PeftModel.from_pretrained(")
    assert list(verdict.evidence["flagged"]) == ["wrapped"]
    wrapped = verdict.evidence["flagged"]["wrapped"]
    assert wrapped["first_adapter_max_abs_diff_vs_base_before"] > 1e-3
    assert wrapped["first_adapter_max_abs_diff_vs_base_after"] == 0.0
    assert not wrapped["reload_equals_trained"]
    assert verdict.evidence["control"]["reload_equals_trained"]


def test_peft010_minimal_facts(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["p010_minimal"]
    assert verdict.status == "confirmed", verdict.reason
    flagged = verdict.evidence["flagged"]
    assert set(flagged) == {"wrapped", "same_base"}
    assert all(figures["first_adapter_changed"] for figures in flagged.values())
    assert all(figures["first_adapter_equals_base_after"] for figures in flagged.values())
    assert (flagged["wrapped"]["trainable_params"], flagged["wrapped"]["all_params"]) == LLAMA_LORA
    assert verdict.evidence["control"]["reload_equals_trained"]


def test_peft010_nested_classifier_save_does_not_load_back(verdicts: dict[str, Verdict]) -> None:
    """With the head in modules_to_save, the nested wrap's save names it one level deeper, and
    loading it onto a fresh base fails outright (it used to end the scenario as 'skipped')."""
    verdict = verdicts["p010_seq_cls"]
    assert verdict.status == "confirmed", verdict.reason
    wrapped = verdict.evidence["flagged"]["wrapped"]
    assert wrapped["reload_error"] == "KeyError: 'base_model.model.classifier.weight'"
    assert not wrapped["reload_equals_trained"]
    assert wrapped["first_saved_key"].startswith("base_model.model.base_model.model.bert.")
    assert "raises KeyError" in verdict.reason
    # the same base wrapped twice keeps flat names: its save loads back
    same_base = verdict.evidence["flagged"]["same_base"]
    assert same_base["reload_error"] is None and same_base["reload_equals_trained"]
    control = verdict.evidence["control"]
    assert control["reload_error"] is None and control["reload_equals_trained"]


# PEFT011 ---------------------------------------------------------------------------------------


def test_peft011_loaded_adapter_stays_inactive(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["p011_named"]
    flagged = verdict.evidence["flagged"]
    control = verdict.evidence["control"]
    assert verdict.status == "confirmed", verdict.reason
    assert flagged["call"] == 'pm.load_adapter(new_dir, adapter_name="dpo")'
    assert (flagged["active_adapter"], flagged["active_adapters"]) == ("default", ["default"])
    assert flagged["adapters"] == ["default", "dpo"] and flagged["warnings"] == []
    assert flagged["max_abs_diff_vs_old"] == 0.0 and flagged["equals_old"]
    assert flagged["max_abs_diff_vs_new"] > 1e-3 and not flagged["equals_new"]
    assert verdict.evidence["old_vs_new_max_abs_diff"] == flagged["max_abs_diff_vs_new"]
    # Control: set_adapter("dpo") gives the new adapter's outputs.
    assert (control["active_adapter"], control["active_adapters"]) == ("dpo", ["dpo"])
    assert control["max_abs_diff_vs_new"] == 0.0 and control["max_abs_diff_vs_old"] > 1e-3


def test_peft011_minimal_facts_name_the_adapter_new(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["p011_minimal"]
    assert verdict.status == "confirmed", verdict.reason
    assert verdict.evidence["flagged"]["adapters"] == ["default", "new"]
    assert verdict.evidence["flagged"]["active_adapter"] == "default"
    assert verdict.evidence["control"]["active_adapter"] == "new"
    assert verdict.evidence["control"]["equals_new"]


# PEFT012 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["p012_gpt2", "p012_stand_in", "p012_minimal"])
def test_peft012_bare_disable_adapter_changes_nothing(verdicts: dict[str, Verdict], key: str) -> None:
    verdict = verdicts[key]
    flagged = verdict.evidence["flagged"]
    control = verdict.evidence["control"]
    assert verdict.status == "confirmed", verdict.reason
    assert flagged["returned"] == "contextlib._GeneratorContextManager" and flagged["warnings"] == []
    assert flagged["max_abs_diff_vs_trained"] == 0.0
    assert flagged["max_abs_diff_vs_base"] == verdict.evidence["trained_max_abs_diff_vs_base"] > 1e-3
    # Control: inside `with pm.disable_adapter():` the outputs are the base's, and the adapter is back after.
    assert control["max_abs_diff_vs_base"] == 0.0 and control["equals_base"]
    assert control["after_block_max_abs_diff_vs_trained"] == 0.0


# PEFT013 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "form"), [("p013_loop", "loop"), ("p013_whole_model", "whole_model")])
def test_peft013_whole_model_becomes_trainable(verdicts: dict[str, Verdict], key: str, form: str) -> None:
    verdict = verdicts[key]
    flagged = verdict.evidence["flagged"][form]
    control = verdict.evidence["control"]
    assert verdict.status == "confirmed", verdict.reason
    assert list(verdict.evidence["flagged"]) == [form]
    assert flagged["trainable_params"] == flagged["all_params"] == GPT2_LORA[1]
    assert (flagged["trainable_tensors"], flagged["newly_trainable_params"]) == (32, GPT2_LORA[1] - GPT2_LORA[0])
    assert flagged["adamw_state_bytes"] == 2 * 4 * GPT2_LORA[1]
    assert (flagged["base_tensors_with_gradient"], flagged["adapter_tensors_with_gradient"]) == (28, 4)
    assert (flagged["saved_tensors"], flagged["saved_params"]) == (4, GPT2_LORA[0])
    # Control: the `"lora_" in name` guard leaves the base frozen and everything trained is saved.
    assert (control["trainable_params"], control["all_params"]) == GPT2_LORA
    assert (control["newly_trainable_params"], control["base_tensors_with_gradient"]) == (0, 0)
    assert control["adapter_tensors_with_gradient"] == 4
    assert control["adamw_state_bytes"] == 2 * 4 * GPT2_LORA[0]
    assert control["saved_params"] == control["trainable_params"]


def test_peft013_minimal_facts_measures_both_forms(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["p013_minimal"]
    assert verdict.status == "confirmed", verdict.reason
    for form in ("loop", "whole_model"):
        flagged = verdict.evidence["flagged"][form]
        assert flagged["trainable_params"] == flagged["all_params"] == LLAMA_LORA[1]
        assert (flagged["base_tensors_with_gradient"], flagged["saved_params"]) == (21, LLAMA_LORA[0])
    assert verdict.evidence["control"]["trainable_params"] == LLAMA_LORA[0]
    assert verdict.evidence["control"]["base_tensors_with_gradient"] == 0


VERIFIER_TARGETS = "target_modules chosen by the verifier: the model's own linear layers below its top level"


def test_peft013_image_classifier_runs_on_a_tiny_vit(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["p013_image_classifier"]
    assert verdict.status == "confirmed", verdict.reason
    assert verdict.model.startswith(
        "embedded default: tiny AutoModelForImageClassification from transformers.ViTConfig("
    )
    assert "after failing" not in verdict.model
    # peft has no default targets for ViT: the encoder's linear layers, not the classifier head.
    assert VERIFIER_TARGETS in verdict.evidence["peft_config"]
    assert "model type 'vit'" in verdict.evidence["peft_config"]
    assert "'classifier'" not in verdict.evidence["peft_config"]
    flagged = verdict.evidence["flagged"]["loop"]
    control = verdict.evidence["control"]
    assert flagged["trainable_params"] == flagged["all_params"] > control["trainable_params"] > 0
    assert flagged["base_tensors_with_gradient"] > 0 and control["base_tensors_with_gradient"] == 0
    assert flagged["saved_params"] == control["saved_params"] == control["trainable_params"]


def test_peft013_clip_without_default_targets_uses_its_own_linear_layers(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["p013_clip_no_default_targets"]
    assert verdict.status == "confirmed", verdict.reason
    assert verdict.model.startswith("embedded default: tiny CLIPTextModel from transformers.CLIPTextConfig(")
    config = verdict.evidence["peft_config"]
    assert config.startswith(
        "LoraConfig(inference_mode=False, target_modules=['fc1', 'fc2', 'k_proj', 'out_proj', 'q_proj', 'v_proj'])"
    )
    assert VERIFIER_TARGETS in config and "model type 'clip_text_model'" in config
    assert verdict.evidence["flagged"]["loop"]["newly_trainable_params"] > 0
    assert verdict.evidence["control"]["base_tensors_with_gradient"] == 0


def test_peft013_auto_class_without_tiny_architecture_falls_back_to_the_causal_lm(
    verdicts: dict[str, Verdict],
) -> None:
    verdict = verdicts["p013_audio_classifier"]
    assert verdict.status == "confirmed", verdict.reason
    assert verdict.model.startswith(
        "embedded default: the generic tiny AutoModelForCausalLM from transformers.LlamaConfig("
    )
    assert "no tiny AutoModelForAudioClassification could be built" in verdict.model
    assert verdict.evidence["control"]["trainable_params"] == LLAMA_LORA[0]


# PEFT014 ---------------------------------------------------------------------------------------


def test_peft014_modules_to_save_none_leaves_the_head_untrained(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["p014_in_place"]
    flagged = verdict.evidence["flagged"]
    control = verdict.evidence["control"]
    assert verdict.status == "confirmed", verdict.reason
    assert flagged["module_paths"] == ["base_model.model.lm_head"]
    assert flagged["module_types"] == ["torch.nn.modules.linear.Linear"]
    assert (flagged["trainable_params"], flagged["all_params"]) == GPT2_LORA
    assert (flagged["module_trainable_params"], flagged["module_saved_tensors"], flagged["saved_tensors"]) == (0, 0, 4)
    assert flagged["modules_to_save_in_effect"] == [] and flagged["warnings"] == []
    # Control: modules_to_save=["lm_head"] trains a 256x64 copy of the head and saves it.
    assert control["module_types"] == ["peft.utils.other.ModulesToSaveWrapper"]
    assert (control["trainable_params"], control["module_trainable_params"]) == (20_480, 16_384)
    assert (control["module_saved_tensors"], control["saved_tensors"]) == (1, 5)
    assert control["first_module_saved_key"] == "base_model.model.lm_head.weight"


def test_peft014_classifier_head_without_task_type(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["p014_in_place_head"]
    assert verdict.status == "confirmed", verdict.reason
    assert verdict.evidence["flagged"]["module_paths"] == ["base_model.model.score"]
    assert verdict.evidence["flagged"]["module_trainable_params"] == 0
    assert verdict.evidence["control"]["module_trainable_params"] == 128  # score: 64 -> 2 labels


def test_peft014_seq_cls_task_type_saves_the_classifier_anyway(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["p014_in_place_seq_cls_task"]
    flagged = verdict.evidence["flagged"]
    assert verdict.status == "not_reproduced", verdict.reason
    assert flagged["modules_to_save_in_effect"] == ["classifier", "score"]
    assert (flagged["module_trainable_params"], flagged["module_saved_tensors"]) == (128, 1)


def test_peft014_overlap_drops_the_lora_silently(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["p014_overlap"]
    flagged = verdict.evidence["flagged"]
    control = verdict.evidence["control"]
    assert verdict.status == "confirmed", verdict.reason
    assert verdict.evidence["overlap"] == ["q_proj"] and not verdict.evidence["overlap_substituted"]
    assert flagged["module_types"] == ["peft.utils.other.ModulesToSaveWrapper"]
    assert (flagged["module_lora_params"], flagged["module_trainable_params"]) == (0, 8_192)
    assert (flagged["trainable_params"], flagged["all_params"]) == (9_728, 116_544)
    assert flagged["first_module_saved_key"] == "base_model.model.model.layers.0.self_attn.q_proj.weight"
    assert flagged["warnings"] == []
    assert flagged["same_trainable_parameters_as_modules_to_save_only"]
    # Control: the name only in target_modules gets its LoRA.
    assert control["module_types"] == ["peft.tuners.lora.layer.Linear"]
    assert (control["module_lora_params"], control["trainable_params"]) == (2_048, LLAMA_LORA[0])
    assert control["first_module_saved_key"] == "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"


def test_peft014_overlap_on_an_embedding_drops_its_lora(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["p014_overlap_embedding"]
    flagged = verdict.evidence["flagged"]
    control = verdict.evidence["control"]
    assert verdict.status == "confirmed", verdict.reason
    assert verdict.evidence["overlap"] == ["embed_tokens"] and not verdict.evidence["overlap_substituted"]
    # Flagged: the embedding is wrapped for modules_to_save, fully trained (256 x 64), no LoRA on it.
    assert flagged["module_paths"] == ["base_model.model.model.embed_tokens"]
    assert flagged["module_types"] == ["peft.utils.other.ModulesToSaveWrapper"]
    assert (flagged["module_lora_params"], flagged["module_trainable_params"]) == (0, 16_384)
    assert flagged["same_trainable_parameters_as_modules_to_save_only"]
    # Control: embed_tokens only in target_modules gets a LoRA embedding (r=8: 256*8 + 8*64).
    assert control["peft_config"].startswith(
        "LoraConfig(r=8, target_modules=['embed_tokens', 'q_proj', 'v_proj'], modules_to_save=None"
    )
    assert control["module_types"] == ["peft.tuners.lora.layer.Embedding"]
    assert (control["module_lora_params"], control["module_trainable_params"]) == (2_560, 2_560)


def test_peft014_overlap_of_every_target_raises(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["p014_overlap_every_target"]
    assert verdict.status == "not_reproduced", verdict.reason
    assert verdict.evidence["flagged"]["exception"].startswith(
        "NoMatchingPeftModuleError: No modules were targeted for adaptation."
    )
    assert "raises on target_modules=['c_attn'], modules_to_save=['c_attn']" in verdict.reason
    assert verdict.evidence["control"]["module_lora_params"] == GPT2_LORA[0]


def test_peft014_minimal_facts(verdicts: dict[str, Verdict]) -> None:
    in_place = verdicts["p014_minimal"]
    assert in_place.status == "confirmed", in_place.reason
    assert in_place.evidence["flagged"]["module_paths"] == ["base_model.model.lm_head"]
    assert in_place.evidence["control"]["module_trainable_params"] == 16_384
    overlap = verdicts["p014_minimal_overlap"]
    assert overlap.status == "confirmed", overlap.reason
    assert overlap.evidence["overlap"] == ["q_proj"] and overlap.evidence["overlap_substituted"]
    assert overlap.evidence["flagged"]["module_lora_params"] == 0
