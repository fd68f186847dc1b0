"""Which model a scenario runs on: resolution from a finding's facts, stand-ins, example inputs.

Resolution order (the first plan that builds wins): ``--verify-model``; for a user-defined
``nn.Module``, a stand-in; a local directory named in the code; the local Hugging Face cache;
the table of well-known ids (exact architecture, random weights); the embedded tiny default (the
code's own class, else its auto class's default architecture, else the generic tiny causal LM).
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import huggingface_hub
import torch
import transformers
from torch import nn
from transformers.pytorch_utils import Conv1D

from peftlint.findings import Finding
from peftlint.verify.scenario import CannotRebuild

AUTO_CLASS_BY_TASK = {
    "CAUSAL_LM": "AutoModelForCausalLM",
    "SEQ_2_SEQ_LM": "AutoModelForSeq2SeqLM",
    "SEQ_CLS": "AutoModelForSequenceClassification",
    "TOKEN_CLS": "AutoModelForTokenClassification",
    "QUESTION_ANS": "AutoModelForQuestionAnswering",
    "FEATURE_EXTRACTION": "AutoModel",
}

# Concrete class name endings -> the auto class of the same task (for the embedded default).
AUTO_CLASS_BY_SUFFIX = (
    ("ForCausalLM", "AutoModelForCausalLM"),
    ("LMHeadModel", "AutoModelForCausalLM"),
    ("ForConditionalGeneration", "AutoModelForSeq2SeqLM"),
    ("ForSequenceClassification", "AutoModelForSequenceClassification"),
    ("ForTokenClassification", "AutoModelForTokenClassification"),
    ("ForQuestionAnswering", "AutoModelForQuestionAnswering"),
    ("ForMaskedLM", "AutoModelForMaskedLM"),
    ("ForImageClassification", "AutoModelForImageClassification"),
    ("Model", "AutoModel"),
)


@dataclass(frozen=True)
class ConfigRecipe:
    """A transformers config class and the keyword arguments that give a known architecture."""

    config_class: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def build(self) -> transformers.PretrainedConfig:
        return getattr(transformers, self.config_class)(**self.kwargs)

    def small(self) -> ConfigRecipe:
        """The same architecture class at a tiny size: same module names, built in milliseconds."""
        return ConfigRecipe(self.config_class, TINY_BY_CONFIG.get(self.config_class, TINY_SIZES))

    def __str__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.kwargs.items())
        return f"transformers.{self.config_class}({arguments})"


@dataclass(frozen=True)
class KnownModel:
    recipe: ConfigRecipe
    default_class: str  # used when the code names neither a class nor a task


KNOWN_MODELS = {
    "gpt2": KnownModel(ConfigRecipe("GPT2Config"), "AutoModelForCausalLM"),
    "gpt2-medium": KnownModel(
        ConfigRecipe("GPT2Config", {"n_embd": 1024, "n_layer": 24, "n_head": 16}),
        "AutoModelForCausalLM",
    ),
    "distilgpt2": KnownModel(ConfigRecipe("GPT2Config", {"n_layer": 6}), "AutoModelForCausalLM"),
    "facebook/opt-125m": KnownModel(
        ConfigRecipe(
            "OPTConfig",
            {
                "vocab_size": 50272,
                "hidden_size": 768,
                "num_hidden_layers": 12,
                "ffn_dim": 3072,
                "num_attention_heads": 12,
                "word_embed_proj_dim": 768,
            },
        ),
        "AutoModelForCausalLM",
    ),
    "EleutherAI/pythia-70m": KnownModel(
        ConfigRecipe(
            "GPTNeoXConfig",
            {
                "vocab_size": 50304,
                "hidden_size": 512,
                "num_hidden_layers": 6,
                "num_attention_heads": 8,
                "intermediate_size": 2048,
                "max_position_embeddings": 2048,
                "bos_token_id": 0,
                "eos_token_id": 0,
                "use_parallel_residual": True,
                "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.25},
            },
        ),
        "AutoModelForCausalLM",
    ),
    "t5-small": KnownModel(
        ConfigRecipe(
            "T5Config",
            {"vocab_size": 32128, "d_model": 512, "d_kv": 64, "d_ff": 2048, "num_layers": 6, "num_heads": 8},
        ),
        "AutoModelForSeq2SeqLM",
    ),
    "bert-base-uncased": KnownModel(ConfigRecipe("BertConfig"), "AutoModelForMaskedLM"),
    "roberta-base": KnownModel(
        ConfigRecipe(
            "RobertaConfig",
            {
                "vocab_size": 50265,
                "max_position_embeddings": 514,
                "type_vocab_size": 1,
                "layer_norm_eps": 1e-5,
                "pad_token_id": 1,
                "bos_token_id": 0,
                "eos_token_id": 2,
            },
        ),
        "AutoModelForMaskedLM",
    ),
}
KNOWN_ALIASES = {
    "openai-community/gpt2": "gpt2",
    "openai-community/gpt2-medium": "gpt2-medium",
    "distilbert/distilgpt2": "distilgpt2",
    "google-t5/t5-small": "t5-small",
    "google-bert/bert-base-uncased": "bert-base-uncased",
    "FacebookAI/roberta-base": "roberta-base",
}

# Small enough to build in milliseconds; accepted (or harmlessly ignored) by most text architectures.
TINY_SIZES = {
    "vocab_size": 256,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 128,
}
TINY_LLAMA = ConfigRecipe("LlamaConfig", TINY_SIZES)
TINY_T5 = {"vocab_size": 256, "d_model": 64, "d_kv": 16, "d_ff": 128, "num_layers": 2, "num_heads": 4}
TINY_BY_CONFIG = {"T5Config": TINY_T5}
# The default architecture of an auto class the tiny Llama cannot serve (others get TINY_LLAMA).
TINY_BY_AUTO_CLASS = {
    "AutoModelForSeq2SeqLM": ConfigRecipe("T5Config", TINY_T5),
    "AutoModelForImageClassification": ConfigRecipe(
        "ViTConfig",
        {
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "intermediate_size": 128,
            "image_size": 32,
            "patch_size": 8,
        },
    ),
    "AutoModelForMaskedLM": ConfigRecipe(
        "BertConfig",
        {
            "vocab_size": 256,
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "intermediate_size": 128,
            "max_position_embeddings": 128,
        },
    ),
}

GENERIC_AUTO_CLASS = "AutoModelForCausalLM"  # the last embedded fallback, built from TINY_LLAMA
# Module types peft's LoRA adapts: a target_modules name of one of these is kept on a substitute.
ADAPTABLE_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.Embedding, nn.Conv1d, nn.Conv2d, nn.Conv3d, Conv1D)

STAND_IN_WIDTH = 10  # the seed's LinearModel is nn.Linear(10, 1)
SEED = 0


class StandIn(nn.Module):
    """Linear layers at the given dotted paths, applied in order; the last one has one output.

    Replaces a user-defined module whose code must not run: only the layer names matter to peft.
    """

    def __init__(self, paths: list[str], width: int = STAND_IN_WIDTH) -> None:
        super().__init__()
        self.paths = list(paths)
        self.in_features = width
        for index, path in enumerate(self.paths):
            *parents, leaf = path.split(".")
            parent: nn.Module = self
            for name in parents:
                children = dict(parent.named_children())
                if name not in children:
                    parent.add_module(name, nn.Module())
                parent = parent.get_submodule(name)
            out_features = 1 if index == len(self.paths) - 1 else width
            parent.add_module(leaf, nn.Linear(width, out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for path in self.paths:
            x = self.get_submodule(path)(x)
        return x


@dataclass(frozen=True)
class ModelPlan:
    """One way to obtain a base model; ``key`` identifies it for reuse across findings."""

    key: tuple[str, ...]
    description: str
    build: Callable[[], nn.Module]
    substitute: bool = False  # not the user's architecture: target_modules are fitted to it


@dataclass
class BaseModel:
    """A built base model (eval mode, never mutated: scenarios work on copies)."""

    module: nn.Module
    substitute: bool

    @cached_property
    def inputs(self) -> dict[str, torch.Tensor]:
        return example_inputs(self.module)

    @cached_property
    def output(self) -> torch.Tensor:
        return forward(self.module, self.inputs)

    def fresh_copy(self) -> nn.Module:
        # get_peft_model mutates its argument, so every wrap gets its own copy.
        return copy.deepcopy(self.module)


def build_base(plan: ModelPlan) -> BaseModel:
    torch.manual_seed(SEED)  # random weights are the same in every run
    module = plan.build().eval()
    return BaseModel(module, plan.substitute)


def example_inputs(module: nn.Module) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(SEED)
    if isinstance(module, StandIn):
        return {"x": torch.randn(1, module.in_features, generator=generator)}
    if not isinstance(module, transformers.PreTrainedModel):
        raise CannotRebuild(f"no example inputs for a {type(module).__name__}")
    config = module.config
    if getattr(module, "main_input_name", None) == "pixel_values":  # a vision model: one random image
        size = getattr(config, "image_size", 224)
        height, width = size if isinstance(size, (list, tuple)) else (size, size)
        channels = getattr(config, "num_channels", 3)
        return {"pixel_values": torch.randn(1, channels, height, width, generator=generator)}
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config  # transformers < 4.45
    vocab_size = getattr(text_config, "vocab_size", None) or 100
    input_ids = torch.randint(0, min(vocab_size, 1000), (1, 8), generator=generator)
    inputs = {"input_ids": input_ids}
    if config.is_encoder_decoder:
        inputs["decoder_input_ids"] = input_ids.clone()
    return inputs


def forward(module: nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """The model's main output tensor (logits when there are any), as float32."""
    with torch.no_grad():
        output = module(**inputs)
    if isinstance(output, torch.Tensor):
        return output.float()
    logits = getattr(output, "logits", None)
    return (logits if logits is not None else output[0]).float()


def model_plans(
    finding: Finding, requested: str | None, allow_network: bool, small: bool = False
) -> Iterator[ModelPlan]:
    """Candidate base models for a finding, best first. ``small``: a well-known id is rebuilt at a
    tiny size of its own architecture (--verify-small)."""
    facts = finding.fact_map
    class_name = named_class(facts)
    if requested:
        yield from requested_plans(requested, class_name, finding.path, allow_network, small)
        return
    if facts.get("local_module"):
        yield stand_in_plan(facts)
        return
    model_id = facts.get("model_id")
    for text in [model_id, *(facts.get("local_dirs") or [])]:
        path = existing_path(text, finding.path)
        plan = local_plan(path, class_name) if path else None
        if plan:
            yield plan
    if model_id:
        yield from hub_plans(model_id, class_name, allow_network)
        known = known_plan(model_id, class_name, small)
        if known:
            yield known
    yield from embedded_plans(class_name, facts)


def requested_plans(
    requested: str, class_name: str | None, finding_path: str, allow_network: bool, small: bool = False
) -> Iterator[ModelPlan]:
    path = existing_path(requested, finding_path)
    if path:
        plan = local_plan(path, class_name)
        if plan is None:
            raise CannotRebuild(f"--verify-model {requested}: no config.json or .gguf file there")
        yield plan
        return
    yield from hub_plans(requested, class_name, allow_network)
    known = known_plan(requested, class_name, small)
    if known:
        yield known


def named_class(facts: dict[str, Any]) -> str | None:
    """The transformers class the code instantiates, else the auto class of the config's task."""
    module_path, _, name = (facts.get("model_class") or "").rpartition(".")
    if module_path.split(".")[0] == "transformers" and hasattr(transformers, name):
        return name
    return AUTO_CLASS_BY_TASK.get(task_type(facts) or "")


def task_type(facts: dict[str, Any]) -> str | None:
    task = (facts.get("peft_config") or {}).get("task_type")
    return str(task).rpartition(".")[2] if task else None


def existing_path(text: str | None, finding_path: str) -> Path | None:
    """``text`` as an existing path, relative to the working directory or to the linted file."""
    if not text:
        return None
    raw = Path(text).expanduser()
    candidates = [raw] if raw.is_absolute() else [Path.cwd() / raw, Path(finding_path).parent / raw]
    return next((candidate.resolve() for candidate in candidates if candidate.exists()), None)


def gguf_in(path: Path) -> Path | None:
    if path.is_file() and path.suffix == ".gguf":
        return path
    if path.is_dir() and not (path / "config.json").is_file():
        found = sorted(path.glob("*.gguf"))
        return found[0] if len(found) == 1 else None
    return None


def local_plan(path: Path, class_name: str | None) -> ModelPlan | None:
    gguf = gguf_in(path)
    if gguf:
        return ModelPlan(
            ("gguf", str(gguf), class_name or ""),
            f"{gguf}: pretrained weights from the GGUF file, dequantised by transformers",
            lambda: load_gguf(gguf, class_name),
        )
    if not (path / "config.json").is_file():
        return None
    if any(path.glob("*.safetensors")):
        return ModelPlan(
            ("local", str(path), class_name or ""),
            f"{path}: config.json and safetensors weights from the local directory",
            # Safetensors only: the user's pickled weight files are never unpickled.
            lambda: load_pretrained(str(path), class_name, local_files_only=True, use_safetensors=True),
        )
    return ModelPlan(
        ("local-config", str(path), class_name or ""),
        f"{path}: config.json from the local directory, random weights (no .safetensors there)",
        lambda: from_config(class_name, transformers.AutoConfig.from_pretrained(str(path))),
    )


def hub_plans(model_id: str, class_name: str | None, allow_network: bool) -> Iterator[ModelPlan]:
    if allow_network:
        yield ModelPlan(
            ("hub", model_id, class_name or ""),
            f"{model_id}: pretrained weights from the Hugging Face Hub (--allow-network)",
            lambda: load_pretrained(model_id, class_name),
        )
        return
    if not in_hub_cache(model_id):
        return
    yield ModelPlan(
        ("hub-cache", model_id, class_name or ""),
        f"{model_id}: pretrained weights from the local Hugging Face cache",
        lambda: load_pretrained(model_id, class_name, local_files_only=True),
    )
    yield ModelPlan(
        ("hub-cache-config", model_id, class_name or ""),
        f"{model_id}: config from the local Hugging Face cache, random weights",
        lambda: from_config(class_name, transformers.AutoConfig.from_pretrained(model_id, local_files_only=True)),
    )


def in_hub_cache(model_id: str) -> bool:
    try:
        found = huggingface_hub.try_to_load_from_cache(model_id, "config.json")
    except ValueError:  # not a valid repo id (e.g. a path that does not exist)
        return False
    return isinstance(found, str)


def known_plan(model_id: str, class_name: str | None, small: bool = False) -> ModelPlan | None:
    canonical = KNOWN_ALIASES.get(model_id, model_id)
    known = KNOWN_MODELS.get(canonical)
    if known is None:
        return None
    chosen = class_name or known.default_class
    recipe = known.recipe.small() if small else known.recipe
    size = "its architecture at a tiny size, --verify-small" if small else "its exact architecture"
    return ModelPlan(
        ("known-small" if small else "known", canonical, chosen),
        f"{model_id}: {chosen} from {recipe} ({size}), random weights, nothing downloaded",
        lambda: from_config(chosen, recipe.build()),
    )


def embedded_plans(class_name: str | None, facts: dict[str, Any]) -> Iterator[ModelPlan]:
    """Tiny random models: the code's own transformers class if it names one, else a generic one."""
    model_id = facts.get("model_id")
    why = f"{model_id!r} is neither a local model nor a known id" if model_id else "the code names no model"
    if facts.get("model_class"):
        why = f"standing in for {facts['model_class']}, {why}"
    if class_name and not class_name.startswith("Auto"):
        own = tiny_own_class_plan(class_name, why)
        if own:
            yield own
    auto_class = auto_class_for(class_name)
    recipe = TINY_BY_AUTO_CLASS.get(auto_class, TINY_LLAMA)
    yield ModelPlan(
        ("embedded", auto_class),
        f"embedded default: tiny {auto_class} from {recipe}, random weights ({why})",
        lambda: from_config(auto_class, recipe.build()),
        substitute=True,
    )
    if auto_class != GENERIC_AUTO_CLASS:  # an auto class with no tiny architecture here
        yield ModelPlan(
            ("embedded", GENERIC_AUTO_CLASS),
            f"embedded default: the generic tiny {GENERIC_AUTO_CLASS} from {TINY_LLAMA}, random weights "
            f"(no tiny {auto_class} could be built; {why})",
            lambda: from_config(GENERIC_AUTO_CLASS, TINY_LLAMA.build()),
            substitute=True,
        )


def tiny_own_class_plan(class_name: str, why: str) -> ModelPlan | None:
    own_class = getattr(transformers, class_name)
    config_class = getattr(own_class, "config_class", None)
    if config_class is None:
        return None
    recipe = ConfigRecipe(config_class.__name__, TINY_SIZES)
    return ModelPlan(
        ("embedded", class_name),
        f"embedded default: tiny {class_name} from {recipe}, random weights ({why})",
        lambda: own_class(config_class(**TINY_SIZES)),
        substitute=True,
    )


def stand_in_plan(facts: dict[str, Any]) -> ModelPlan:
    paths = stand_in_paths((facts.get("peft_config") or {}).get("target_modules"))
    user_class = facts.get("model_class") or "the user's module"
    sizes = "->".join([str(STAND_IN_WIDTH)] * len(paths) + ["1"])
    return ModelPlan(
        ("stand-in", *paths),
        f"stand-in for {user_class} (user code is never run): nn.Linear layers named "
        f"{', '.join(paths)} ({sizes}), random weights",
        lambda: StandIn(paths),
        substitute=True,
    )


def stand_in_paths(targets: Any) -> list[str]:
    """Layer paths named after target_modules; a regex or missing list gives one ``linear``."""
    if not isinstance(targets, (list, tuple)):
        return ["linear"]
    paths = [str(target) for target in targets]
    segments_ok = all(
        segment.isidentifier() and not hasattr(nn.Module, segment) for path in paths for segment in path.split(".")
    )
    nested = any(other.startswith(path + ".") for path in paths for other in paths)
    if not paths or not segments_ok or nested or len(set(paths)) != len(paths):
        return ["linear"]
    return paths


def auto_class_for(class_name: str | None) -> str:
    if not class_name:
        return "AutoModelForCausalLM"
    if class_name.startswith("Auto"):
        return class_name
    return next(
        (auto for suffix, auto in AUTO_CLASS_BY_SUFFIX if class_name.endswith(suffix)),
        "AutoModelForCausalLM",
    )


def model_class(class_name: str | None, config: transformers.PretrainedConfig) -> Any:
    """The class to instantiate: the one named in the code, else the config's architecture."""
    architectures = getattr(config, "architectures", None) or []
    name = class_name or next((a for a in architectures if hasattr(transformers, a)), "AutoModel")
    return getattr(transformers, name)


def from_config(class_name: str | None, config: transformers.PretrainedConfig) -> nn.Module:
    cls = model_class(class_name, config)
    return cls.from_config(config) if cls.__name__.startswith("Auto") else cls(config)


def load_pretrained(source: str, class_name: str | None, **kwargs: Any) -> nn.Module:
    config = transformers.AutoConfig.from_pretrained(source, **kwargs)
    return model_class(class_name, config).from_pretrained(source, config=config, **kwargs)


def load_gguf(path: Path, class_name: str | None) -> nn.Module:
    # transformers draws its own tqdm bar while dequantising; the verifier reports progress itself.
    with contextlib.redirect_stderr(io.StringIO()):
        return load_pretrained(str(path.parent), class_name, gguf_file=path.name, local_files_only=True)


def fit_target_modules(module: nn.Module, targets: Any) -> list[str] | None:
    """Targets for a substitute model: the user's that exist in it (as a layer type LoRA adapts:
    linear, embedding, convolution), else its own linear layers; ``None`` (peft's default for the
    architecture) when the code gives none and the model is a transformers model."""
    if isinstance(targets, (list, tuple)):
        adaptable = [name for name, sub in module.named_modules() if isinstance(sub, ADAPTABLE_TYPES) and name]
        kept = [t for t in targets if any(n == t or n.endswith(f".{t}") for n in adaptable)]
        if kept:
            return kept
    if targets is None and isinstance(module, transformers.PreTrainedModel):
        return None  # build_peft_config falls back to own_linear_targets if peft has no default for it
    # not a transformers model's head: a task type puts it in modules_to_save, which LoRA must not target
    return own_linear_targets(module, body_only=isinstance(module, transformers.PreTrainedModel))


def own_linear_targets(module: nn.Module, body_only: bool = False) -> list[str]:
    """The last name segments of the model's linear layers; the output head is never a default LoRA
    target. ``body_only``: without the top-level ones either (a transformers model's heads and poolers:
    lm_head, classifier, score, qa_outputs, pre_classifier), unless that leaves none."""
    linear_names = [name for name, sub in module.named_modules() if isinstance(sub, nn.Linear) and name]
    body = [name for name in linear_names if "." in name] if body_only else []
    return sorted({name.rpartition(".")[2] for name in body or linear_names} - {"lm_head"})
