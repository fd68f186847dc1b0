"""Qualified names: imports and aliases resolved to the names peft, torch and transformers
document, so ``from peft.peft_model import PeftModel as PM`` and ``peft.PeftModel`` agree."""

from __future__ import annotations

import functools
import os

from peftlint.modules import module_file

# peft's public functions that its submodules define (everything capitalised is a class).
_PEFT_FUNCTIONS = frozenset(
    {
        "get_peft_model",
        "get_peft_model_state_dict",
        "set_peft_model_state_dict",
        "prepare_model_for_kbit_training",
        "inject_adapter_in_model",
        "load_peft_weights",
    }
)

_ALIASES = {
    "torch.serialization.save": "torch.save",
    "torch.serialization.load": "torch.load",
    "copy.copy": "copy.copy",
    "posixpath.join": "os.path.join",
    "ntpath.join": "os.path.join",
    "pathlib.PosixPath": "pathlib.Path",
    "pathlib.PurePath": "pathlib.Path",
    "pathlib.PurePosixPath": "pathlib.Path",
}

# Names that ``from peft import *`` / ``from transformers import *`` may bring in unqualified.
STAR_EXPORTS = {
    "peft": lambda name: name in _PEFT_FUNCTIONS or name.startswith(("Peft", "AutoPeft", "Lora", "TaskType")),
    "transformers": lambda name: name.startswith("Auto") or name.endswith(("Model", "LMHeadModel")) or "For" in name,
}


# Top-level packages that are libraries, never modules of the run (imports of them are not
# looked for among the run's files).
LIBRARY_ROOTS = frozenset(
    {
        "peft", "transformers", "torch", "trl", "accelerate", "diffusers", "datasets", "numpy", "os", "sys",
        "copy", "functools", "pathlib", "argparse", "json", "re", "typing", "dataclasses", "collections",
        "itertools", "math", "random", "logging", "warnings", "builtins", "abc", "enum", "contextlib",
        "safetensors", "huggingface_hub", "bitsandbytes", "deepspeed", "tqdm", "wandb", "yaml", "pytest",
        "unittest", "tempfile", "torchvision", "timm", "sklearn", "scipy", "pandas", "evaluate", "shutil",
        "glob", "time", "datetime", "subprocess", "io", "pickle", "pytorch_lightning", "lightning", "unsloth",
        "inspect", "importlib", "gc", "ntpath", "posixpath", "types", "traceback", "operator", "string",
        "lightning_fabric",
    }
)  # fmt: skip


def is_library(qualname: str, importer: str | None) -> bool:
    """``qualname`` (as imported by the file ``importer``) names a library's module, not one of the
    run. A script's folder comes first on ``sys.path``, so beside a script that is not in a package
    a file of a library's name shadows it: ``from evaluate import evaluate`` next to an
    ``evaluate.py`` imports that file."""
    root = qualname.split(".", 1)[0]
    if qualname.startswith(".") or root not in LIBRARY_ROOTS:
        return False
    return importer is None or not _beside_script(root, os.path.dirname(os.path.abspath(importer)))


@functools.lru_cache(maxsize=4096)
def _beside_script(root: str, folder: str) -> bool:
    if os.path.exists(os.path.join(folder, "__init__.py")):
        return False  # a module of a package imports ``evaluate`` absolutely: the library
    return module_file(folder, [root]) is not None


def canonical(qualname: str) -> str:
    """Drop library-internal module segments: ``peft.mapping.get_peft_model`` -> ``peft.get_peft_model``."""
    qualname = _ALIASES.get(qualname, qualname)
    parts = qualname.split(".")
    root = parts[0]
    if root in {"peft", "transformers", "diffusers"} and len(parts) > 2:
        for index, part in enumerate(parts[1:], start=1):
            if part[:1].isupper() or part in _PEFT_FUNCTIONS:
                return ".".join([root, *parts[index:]])
    return qualname


PEFT_MODEL_CLASSES = frozenset(
    {
        "peft.PeftModel",
        "peft.PeftMixedModel",
        "peft.PeftModelForCausalLM",
        "peft.PeftModelForSeq2SeqLM",
        "peft.PeftModelForSequenceClassification",
        "peft.PeftModelForTokenClassification",
        "peft.PeftModelForQuestionAnswering",
        "peft.PeftModelForFeatureExtraction",
    }
)


def peft_adapter_loader(callee: str | None) -> str | None:
    """``peft.PeftModel.from_pretrained`` (or a ``PeftModelFor*`` one) -> "PeftModel": the class
    whose ``from_pretrained`` loads an adapter onto the model it is given; None for other calls."""
    if callee is None or not callee.endswith(".from_pretrained"):
        return None
    owner = callee[: -len(".from_pretrained")]
    return owner.rsplit(".", 1)[-1] if is_peft_model_class(owner) else None


def is_peft_model_class(qualname: str | None) -> bool:
    return qualname is not None and (
        qualname in PEFT_MODEL_CLASSES or (qualname.startswith("peft.PeftModelFor") and qualname.count(".") == 1)
    )


def is_auto_peft_class(qualname: str | None) -> bool:
    return qualname is not None and qualname.startswith("peft.AutoPeftModel") and qualname.count(".") == 1


def is_peft_config_class(qualname: str | None) -> bool:
    return (
        qualname is not None
        and qualname.startswith("peft.")
        and qualname.endswith("Config")
        and qualname.count(".") == 1
    )


_NOT_MODELS = ("Config", "Tokenizer", "TokenizerFast", "Processor", "FeatureExtractor", "Arguments", "Trainer")


def is_model_class(qualname: str | None) -> bool:
    """A transformers/diffusers model class or a torch.nn layer: something that is an nn.Module."""
    if qualname is None:
        return False
    root, _, name = qualname.partition(".")
    if root in {"transformers", "diffusers"} and "." not in name:
        if name.endswith(_NOT_MODELS) or name in {"pipeline", "AutoTokenizer"}:
            return False
        return name.startswith("AutoModel") or name.endswith("Model") or "For" in name
    if qualname.startswith("torchvision.models.") and qualname.count(".") == 2:
        return qualname.rsplit(".", 1)[1][:1].islower() or qualname.endswith(("Net", "Transformer"))
    if qualname == "timm.create_model":
        return True
    if qualname.startswith("torch.nn.") and qualname.count(".") == 2:
        leaf = qualname.rsplit(".", 1)[1]
        return leaf[:1].isupper() and leaf != "Parameter"  # a tensor; ParameterList/ParameterDict are modules
    return False


# PyTorch Lightning's module class under each name it is imported by: an nn.Module
LIGHTNING_MODULES = frozenset(
    {"pytorch_lightning.LightningModule", "lightning.LightningModule", "lightning.pytorch.LightningModule"}
)


def is_module_base_class(qualname: str | None) -> bool:
    """A base class that makes a user-defined class an nn.Module."""
    return (
        qualname in {"torch.nn.Module", "transformers.PreTrainedModel"}
        or qualname in LIGHTNING_MODULES
        or is_model_class(qualname)
    )
