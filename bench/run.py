#!/usr/bin/env python
"""peftlint's benchmark: peftlint against ruff (and, optionally, TorchFix and fixit) on real code.

One command from a clean checkout, with the environment that has this checkout's peftlint::

    python bench/run.py                # full corpus, 5 alternating runs
    python bench/run.py --quick        # peft only, 1 run: a smoke test
    python bench/run.py --with-slow    # also TorchFix and fixit on peft (minutes)

The corpus (transformers, peft, trl, accelerate, installed with ``pip install --target``) and an
isolated venv with ruff, TorchFix and fixit live in ``bench/corpus/`` (gitignored) and are reused.
peftlint is always this checkout's: ``sys.executable -m peftlint`` with the repository first on
``PYTHONPATH``. Results go to ``bench/results.json`` and to ``bench/README.md`` between markers;
``--quick`` writes ``bench/results/quick.json`` and leaves both alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
CORPUS = BENCH / "corpus"
SITE = CORPUS / "site"
GENERATED = CORPUS / "generated"
TOOLS_VENV = CORPUS / "tools-venv"
PACKAGES = ("transformers", "peft", "trl", "accelerate")
TOOLS = ("ruff", "torchfix", "fixit")
README = BENCH / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
MONOREPO_FILES = 100_000

TARGETS = {
    "cold_ratio": 1.5,
    "warm_ratio": 0.3,
    "latency_clean": 4.0,
    "latency_script": 15.0,
    "rss_mb": 300.0,
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Running one command: wall time, exact peak RSS of the child (wait4), sampled RSS of its tree
# ---------------------------------------------------------------------------------------------


def _tree_rss_kb(root: int) -> int:
    """Resident memory of ``root`` and all its descendants, from /proc (0 where unavailable)."""
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    stack.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return total


class _Sampler(threading.Thread):
    """Polls the process tree's RSS; kills the tree when it goes over ``limit_kb``."""

    def __init__(self, pid: int, interval: float, limit_kb: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.limit_kb = pid, interval, limit_kb
        self.peak_kb = 0
        self.over_limit = False
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            rss = _tree_rss_kb(self.pid)
            self.peak_kb = max(self.peak_kb, rss)
            if self.limit_kb and rss > self.limit_kb:
                self.over_limit = True
                _kill_group(self.pid)
                return


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run(
    cmd: list[str],
    *,
    cwd: Path = CORPUS,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    sample: bool = False,
    limit_mb: int = 0,
    keep_output: bool = False,
) -> dict:
    """Run ``cmd`` once. Wall time by perf_counter around spawn..reap; peak RSS from os.wait4.

    ``maxrss_mb`` is the kernel's figure for this child: the largest resident set of the child or
    of any descendant it reaped (a pool's workers included), not their sum. ``tree_rss_mb`` (with
    ``sample``) is the largest sum over the live process tree seen every 10 ms.
    """
    fired: list[bool] = []

    def expire(pid: int) -> None:
        fired.append(True)
        _kill_group(pid)

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True)
        timer = threading.Timer(timeout, expire, (proc.pid,)) if timeout else None
        sampler = _Sampler(proc.pid, 0.01, limit_mb * 1024) if sample or limit_mb else None
        if timer:
            timer.start()
        if sampler:
            sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if timer:
            timer.cancel()
        if sampler:
            sampler.done.set()
            sampler.join()
        if fired or (sampler and sampler.over_limit):
            _kill_group(proc.pid)  # workers a killed run left behind
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    result = {
        "wall_s": round(wall, 6),
        "maxrss_mb": round(usage.ru_maxrss / 1024, 1),
        "user_s": round(usage.ru_utime, 3),
        "sys_s": round(usage.ru_stime, 3),
        "returncode": proc.returncode,
        "stdout_sha256": hashlib.sha256(stdout).hexdigest(),
        "stdout_bytes": len(stdout),
    }
    if sampler:
        result["tree_rss_mb"] = round(sampler.peak_kb / 1024, 1)
    text = stderr.decode(errors="replace")
    if fired:
        result["failure"] = f"timed out after {timeout:g} s"
    elif sampler and sampler.over_limit:
        result["failure"] = f"killed: process tree RSS over {limit_mb} MB"
    elif proc.returncode < 0:
        result["failure"] = f"killed by signal {-proc.returncode}"
    elif proc.returncode == 2 and ("Usage:" in text or "Traceback" in text):
        result["failure"] = "usage error or crash (exit 2)"
    elif proc.returncode not in (0, 1, 2):
        result["failure"] = f"exit {proc.returncode}"
    if proc.returncode or keep_output:
        result["stderr_tail"] = text[-2000:]
    if keep_output:
        result["stdout"] = stdout
    return result


def ok(result: dict) -> bool:
    """A usable timing: not killed, no crash. Exit 2 from peftlint (some file not analysable) counts."""
    return not result.get("failure")


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 6) if values else None


# ---------------------------------------------------------------------------------------------
# Corpus, tools, environment
# ---------------------------------------------------------------------------------------------


def _dist_version(site: Path, name: str) -> str | None:
    for info in sorted(site.glob("*.dist-info")):
        metadata = info / "METADATA"
        if not metadata.is_file():
            continue
        text = metadata.read_text(errors="replace")
        found = re.search(r"^Name: (.+)$", text, re.M)
        version = re.search(r"^Version: (.+)$", text, re.M)
        if found and version and found.group(1).strip().lower().replace("_", "-") == name:
            return version.group(1).strip()
    return None


def ensure_corpus(refresh: bool) -> dict[str, str]:
    versions = {name: _dist_version(SITE, name) for name in PACKAGES} if SITE.is_dir() else {}
    complete = all(versions.get(n) and (SITE / n).is_dir() for n in PACKAGES)
    if refresh or not complete:
        log(f"installing the corpus into {SITE.relative_to(REPO)} (pip install --target, no deps)")
        if SITE.exists():
            shutil.rmtree(SITE)
        _pip([sys.executable, "-m", "pip", "install", "--target", str(SITE), "--no-deps", *PACKAGES], True)
        versions = {name: _dist_version(SITE, name) for name in PACKAGES}
    else:
        log(f"reusing the corpus in {SITE.relative_to(REPO)}")
    return {name: versions[name] or "?" for name in PACKAGES}


def _pip(cmd: list[str], required: bool) -> None:
    """pip, quietly; its output only when it fails."""
    done = subprocess.run([*cmd, "--quiet", "--disable-pip-version-check"], capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
        if required:
            raise SystemExit(f"bench: {' '.join(cmd[:4])} failed")
        log("pip failed; going on without the tools it should have installed")


def tool_path(name: str) -> Path:
    return TOOLS_VENV / "bin" / name


def ensure_tools(with_slow: bool) -> dict[str, str]:
    python = TOOLS_VENV / "bin" / "python"
    if not python.exists():
        log(f"creating the tools venv {TOOLS_VENV.relative_to(REPO)}")
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True)
    wanted = TOOLS if with_slow or not tool_path("ruff").exists() else ("ruff",)
    missing = [t for t in wanted if not tool_path(t).exists()]
    if missing:
        packages = ["TorchFix" if t == "torchfix" else t for t in TOOLS]  # install all three at once
        log(f"installing {', '.join(packages)} into the tools venv")
        _pip([str(python), "-m", "pip", "install", *packages], not tool_path("ruff").exists())
    probe = (
        "import json, importlib.metadata as m\n"
        "out = {}\n"
        "for n in ('ruff', 'TorchFix', 'fixit', 'libcst'):\n"
        "    try: out[n.lower()] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))\n"
    )
    found = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(found.stdout)


def peftlint_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["NO_COLOR"] = "1"
    return env


_ISOLATED: list[str] = []


def peftlint_cmd(*args: str) -> list[str]:
    """``check`` runs get --isolated (no configuration file, like ruff's) when this checkout has it."""
    if args and args[0] == "check":
        args = ("check", *_ISOLATED, *args[1:])
    return [sys.executable, "-m", "peftlint", *args]


def detect_isolated() -> None:
    shown = subprocess.run(peftlint_cmd("check", "--help"), env=peftlint_env(), capture_output=True, text=True)
    _ISOLATED[:] = ["--isolated"] if "--isolated" in shown.stdout else []


def machine_info() -> dict:
    info: dict = {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "platform": platform.platform(),
    }
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        info["cpu"] = model.group(1).strip() if model else platform.processor()
        meminfo = Path("/proc/meminfo").read_text()
        total = re.search(r"^MemTotal:\s*(\d+)", meminfo, re.M)
        info["memory_gib"] = round(int(total.group(1)) / 1024 / 1024, 1) if total else None
    except OSError:
        pass
    return info


def checkout_info() -> dict:
    env = peftlint_env()
    info: dict = {}
    probe = (
        "import json, peftlint, importlib.metadata as m\n"
        "print(json.dumps({'peftlint': peftlint.__version__, 'peftlint_path': peftlint.__file__,"
        " 'libcst': m.version('libcst'), 'click': m.version('click')}))\n"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False)
    if found.returncode != 0:
        raise SystemExit(f"bench: this environment cannot import peftlint:\n{found.stderr}")
    info.update(json.loads(found.stdout))
    git = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    if git.returncode == 0:
        info["commit"] = git.stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "--", "peftlint"],
            capture_output=True,
            text=True,
        )
        info["peftlint_dirty"] = bool(status.stdout.strip())
    return info


def code_digest() -> str:
    """A hash of this checkout's peftlint sources: to tell whether they changed during the run."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "peftlint").rglob("*.py")):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def corpus_files(roots: list[str]) -> list[str]:
    """Every *.py under the roots, sorted, relative to CORPUS (what the tools are given)."""
    files = []
    for root in roots:
        for directory, dirnames, filenames in os.walk(CORPUS / root):
            dirnames.sort()
            files += [os.path.relpath(os.path.join(directory, f), CORPUS) for f in filenames if f.endswith(".py")]
    return sorted(files)


def count_lines(files: list[str]) -> int:
    total = 0
    for name in files:
        with open(CORPUS / name, "rb") as handle:
            total += handle.read().count(b"\n")
    return total


# ---------------------------------------------------------------------------------------------
# peftlint as a library: how many files the prefilter let through
# ---------------------------------------------------------------------------------------------

COUNT_PROBE = r"""
import dataclasses, json, sys
from peftlint import lint_paths
from peftlint.config import Settings
from peftlint.discovery import discover
names = {f.name for f in dataclasses.fields(Settings)}
paths, jobs = json.loads(sys.argv[1]), int(sys.argv[2])
options = {k: v for k, v in {"respect_gitignore": False, "cache": False, "jobs": jobs}.items() if k in names}
settings = Settings(**options)
try:  # first, without analysing anything: how many files each rule's trigger tokens admit
    from peftlint.rules import select_rules
    rules = [rule for rule in select_rules(settings.select, settings.ignore) if rule.analysed]
    admitted, any_rule = {rule.code: 0 for rule in rules}, 0
    for path in discover(paths, settings).files:
        data = open(path, "rb").read()
        wanted = [rule.code for rule in rules if rule.wants(data)]
        any_rule += bool(wanted)
        for code in wanted:
            admitted[code] += 1
    print(json.dumps({"token_screen_admits": admitted, "token_screen_admits_any": any_rule}), flush=True)
except Exception as error:
    print(json.dumps({"token_screen_admits": f"unavailable: {error}"}), flush=True)
r = lint_paths(paths, settings)
out = {"files_checked": r.files_checked, "files_analysed": r.files_analysed,
       "findings": len(r.findings), "errors": len(r.errors),
       "error_samples": [f"{e.path}: {e.reason}" for e in r.errors[:5]],
       "findings_by_code": {}}
for f in r.findings:
    out["findings_by_code"][f.code] = out["findings_by_code"].get(f.code, 0) + 1
print(json.dumps(out))
"""


def prefilter_counts(paths: list[str], jobs: int, timeout: float, limit_mb: int) -> dict:
    """``lint_paths`` in a child: files checked / parsed (and, first, what the token screen admits)."""
    cmd = [sys.executable, "-c", COUNT_PROBE, json.dumps(paths), str(jobs)]
    result = run(cmd, env=peftlint_env(), timeout=timeout, limit_mb=limit_mb, keep_output=True)
    counts: dict = {"wall_s": result["wall_s"]}
    for line in result["stdout"].decode(errors="replace").splitlines():
        try:
            counts.update(json.loads(line))
        except ValueError:
            continue
    if not ok(result) or result["returncode"] != 0 or "files_analysed" not in counts:
        counts["failure"] = _failure(result)
    else:
        counts["files_skipped"] = counts["files_checked"] - counts["files_analysed"]
    return counts


# ---------------------------------------------------------------------------------------------
# The 500-line training script with one PEFT001 and one PEFT002
# ---------------------------------------------------------------------------------------------

SCRIPT_HEAD = '''\
"""Fine-tune a causal LM with LoRA on an instruction data set, evaluate it, keep the best checkpoint.

Generated by bench/run.py: a realistic training script with two PEFT bugs (PEFT001 on resume,
PEFT002 on reloading the best checkpoint), padded with the helpers such scripts carry.
"""

import argparse
import json
import logging
import math
import os
import random
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from datasets import load_dataset
from peft import LoraConfig, PeftModel, TaskType, get_peft_model
from torch.utils.data import DataLoader
from transformers import AutoModelForCausalLM, AutoTokenizer, get_cosine_schedule_with_warmup

logger = logging.getLogger(__name__)

OUTPUT_DIR = "outputs/lora-instruct"
BEST_CHECKPOINT = os.path.join(OUTPUT_DIR, "best_model.pt")
PROMPT_TEMPLATE = "### Instruction:\\n{instruction}\\n\\n### Input:\\n{input}\\n\\n### Response:\\n"


@dataclass
class TrainConfig:
    model_name: str = "gpt2"
    dataset_name: str = "tatsu-lab/alpaca"
    max_length: int = 512
    batch_size: int = 8
    eval_batch_size: int = 16
    learning_rate: float = 2e-4
    weight_decay: float = 0.0
    num_epochs: int = 3
    warmup_ratio: float = 0.03
    gradient_accumulation_steps: int = 4
    max_grad_norm: float = 1.0
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: list = field(default_factory=lambda: ["c_attn", "c_proj"])
    seed: int = 42
    log_every: int = 20
    eval_every: int = 200
    resume_from: str = ""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    defaults = TrainConfig()
    for name, value in vars(defaults).items():
        if isinstance(value, bool):
            parser.add_argument(f"--{name}", action="store_true", default=value)
        elif isinstance(value, list):
            parser.add_argument(f"--{name}", nargs="+", default=value)
        else:
            parser.add_argument(f"--{name}", type=type(value), default=value)
    return TrainConfig(**vars(parser.parse_args()))


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def format_example(example):
    prompt = PROMPT_TEMPLATE.format(instruction=example["instruction"], input=example.get("input", ""))
    return {"prompt": prompt, "completion": example["output"]}


def tokenize(example, tokenizer, max_length):
    prompt_ids = tokenizer(example["prompt"], add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(example["completion"] + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
    input_ids = (prompt_ids + answer_ids)[:max_length]
    labels = ([-100] * len(prompt_ids) + answer_ids)[:max_length]
    return {"input_ids": input_ids, "attention_mask": [1] * len(input_ids), "labels": labels}


def collate(batch, pad_token_id):
    width = max(len(item["input_ids"]) for item in batch)
    input_ids = torch.full((len(batch), width), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    for row, item in enumerate(batch):
        size = len(item["input_ids"])
        input_ids[row, :size] = torch.tensor(item["input_ids"])
        attention_mask[row, :size] = torch.tensor(item["attention_mask"])
        labels[row, :size] = torch.tensor(item["labels"])
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def build_dataloaders(config, tokenizer):
    raw = load_dataset(config.dataset_name, split="train").train_test_split(test_size=0.02, seed=config.seed)
    columns = raw["train"].column_names
    train = raw["train"].map(format_example, remove_columns=columns)
    test = raw["test"].map(format_example, remove_columns=columns)
    train = train.map(lambda e: tokenize(e, tokenizer, config.max_length), remove_columns=["prompt", "completion"])
    test = test.map(lambda e: tokenize(e, tokenizer, config.max_length), remove_columns=["prompt", "completion"])
    pad = tokenizer.pad_token_id

    def collate_fn(batch):
        return collate(batch, pad)

    return (
        DataLoader(train, batch_size=config.batch_size, shuffle=True, collate_fn=collate_fn),
        DataLoader(test, batch_size=config.eval_batch_size, shuffle=False, collate_fn=collate_fn),
    )


def count_parameters(model):
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total, 100.0 * trainable / max(total, 1)


def format_seconds(seconds):
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{seconds:02d}"


def optimizer_groups(model, weight_decay):
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        if parameter.ndim < 2 or "norm" in name or name.endswith(".bias"):
            no_decay.append(parameter)
        else:
            decay.append(parameter)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def gpu_memory_summary():
    if not torch.cuda.is_available():
        return "cpu"
    allocated = torch.cuda.memory_allocated() / 2**30
    reserved = torch.cuda.memory_reserved() / 2**30
    return f"{allocated:.1f} GiB allocated, {reserved:.1f} GiB reserved"


def save_config(config, directory=OUTPUT_DIR):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "train_config.json"), "w", encoding="utf-8") as handle:
        json.dump(vars(config), handle, indent=2, sort_keys=True)


def rotate_checkpoints(directory, keep=3, prefix="checkpoint-"):
    if not os.path.isdir(directory):
        return []
    found = [name for name in os.listdir(directory) if name.startswith(prefix)]
    found.sort(key=lambda name: int(name[len(prefix) :]) if name[len(prefix) :].isdigit() else -1)
    removed = []
    for name in found[:-keep] if keep else found:
        path = os.path.join(directory, name)
        for root, dirs, files in os.walk(path, topdown=False):
            for file in files:
                os.remove(os.path.join(root, file))
            for sub in dirs:
                os.rmdir(os.path.join(root, sub))
        os.rmdir(path)
        removed.append(name)
    return removed


class EarlyStopping:
    def __init__(self, patience=3, min_delta=0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.best = float("inf")
        self.bad_evals = 0

    def step(self, value):
        if value < self.best - self.min_delta:
            self.best = value
            self.bad_evals = 0
            return False
        self.bad_evals += 1
        return self.bad_evals >= self.patience


@torch.no_grad()
def token_accuracy(logits, labels):
    predictions = logits[:, :-1].argmax(dim=-1)
    targets = labels[:, 1:]
    mask = targets != -100
    correct = (predictions == targets) & mask
    return correct.sum().item() / max(mask.sum().item(), 1)
'''

HELPER_TEMPLATES = (
    '''

def {name}_moving_average(values, window={window}):
    """Smoothed {label} curve for the logs: a trailing mean over {window} steps."""
    if not values:
        return []
    smoothed, total = [], 0.0
    for index, value in enumerate(values):
        total += value
        if index >= {window}:
            total -= values[index - {window}]
        smoothed.append(total / min(index + 1, {window}))
    return smoothed
''',
    '''

def log_{name}(step, value, history, every={window}):
    """Record the {label} and log it every {window} steps with its trend."""
    history.setdefault("{name}", []).append((step, float(value)))
    if step % every == 0:
        recent = [v for _, v in history["{name}"][-every:]]
        trend = recent[-1] - recent[0] if len(recent) > 1 else 0.0
        logger.info("step %d: {label} %.4f (trend %+.4f)", step, value, trend)
    return history
''',
    '''

def save_{name}_history(history, directory=OUTPUT_DIR):
    """Write the {label} history next to the checkpoints as JSON lines."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "{name}_history.jsonl")
    with open(path, "w", encoding="utf-8") as handle:
        for step, value in history.get("{name}", []):
            handle.write(json.dumps({{"step": step, "{name}": value}}) + "\\n")
    return path
''',
)

HELPER_NAMES = (
    ("loss", "training loss", 50),
    ("eval_loss", "evaluation loss", 5),
    ("perplexity", "perplexity", 5),
    ("learning_rate", "learning rate", 100),
    ("grad_norm", "gradient norm", 50),
    ("tokens_per_second", "throughput", 20),
)

SCRIPT_TAIL = """

def build_tokenizer(config):
    tokenizer = AutoTokenizer.from_pretrained(config.model_name)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    return tokenizer


def build_model(config):
    model = AutoModelForCausalLM.from_pretrained(config.model_name)
    lora_config = LoraConfig(
        task_type=TaskType.CAUSAL_LM,
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.target_modules,
    )
    model = get_peft_model(model, lora_config)
    if config.resume_from:
        model = PeftModel.from_pretrained(model, config.resume_from, is_trainable=True)
    model.print_trainable_parameters()
    return model


@torch.no_grad()
def evaluate(model, loader, device):
    model.eval()
    losses = []
    for batch in loader:
        batch = {key: value.to(device) for key, value in batch.items()}
        losses.append(model(**batch).loss.item())
    model.train()
    mean = sum(losses) / max(len(losses), 1)
    return mean, math.exp(min(mean, 20.0))


def train(config):
    set_seed(config.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tokenizer = build_tokenizer(config)
    model = build_model(config)
    model.to(device)
    train_loader, eval_loader = build_dataloaders(config, tokenizer)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=config.learning_rate, weight_decay=config.weight_decay
    )
    total_steps = math.ceil(len(train_loader) / config.gradient_accumulation_steps) * config.num_epochs
    scheduler = get_cosine_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    history, best, step = {}, float("inf"), 0
    started = time.perf_counter()
    for epoch in range(config.num_epochs):
        for index, batch in enumerate(train_loader):
            batch = {key: value.to(device) for key, value in batch.items()}
            loss = model(**batch).loss / config.gradient_accumulation_steps
            loss.backward()
            if (index + 1) % config.gradient_accumulation_steps:
                continue
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            log_loss(step, loss.item() * config.gradient_accumulation_steps, history, config.log_every)
            log_grad_norm(step, grad_norm, history, config.log_every)
            log_learning_rate(step, scheduler.get_last_lr()[0], history, config.log_every)
            elapsed = time.perf_counter() - started
            log_tokens_per_second(step, step * config.batch_size * config.max_length / elapsed, history)
            if step % config.eval_every == 0:
                eval_loss, perplexity = evaluate(model, eval_loader, device)
                log_eval_loss(step, eval_loss, history, 1)
                log_perplexity(step, perplexity, history, 1)
                if eval_loss < best:
                    best = eval_loss
                    os.makedirs(OUTPUT_DIR, exist_ok=True)
                    torch.save(model, BEST_CHECKPOINT)
                    logger.info("epoch %d step %d: new best eval loss %.4f", epoch, step, best)
    for save in (save_loss_history, save_eval_loss_history, save_perplexity_history):
        save(history)
    return tokenizer, model


def reload_best(model):
    model.load_state_dict(torch.load(BEST_CHECKPOINT, map_location="cpu"))
    return model


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = parse_args()
    tokenizer, model = train(config)
    model = reload_best(model)
    model.save_pretrained(os.path.join(OUTPUT_DIR, "adapter"))
    tokenizer.save_pretrained(os.path.join(OUTPUT_DIR, "adapter"))
"""


def write_training_script(target_lines: int = 500) -> Path:
    """Head + helpers cycled over HELPER_NAMES until the script has ~``target_lines`` lines + tail."""
    tail_lines = SCRIPT_TAIL.count("\n")
    parts = [SCRIPT_HEAD]
    lines = SCRIPT_HEAD.count("\n")
    index = 0
    while True:
        name, label, window = HELPER_NAMES[index % len(HELPER_NAMES)]
        template = HELPER_TEMPLATES[(index // len(HELPER_NAMES)) % len(HELPER_TEMPLATES)]
        if index >= len(HELPER_NAMES) * len(HELPER_TEMPLATES):
            name = f"{name}_{index // (len(HELPER_NAMES) * len(HELPER_TEMPLATES))}"
        helper = template.format(name=name, label=label, window=window)
        if lines + helper.count("\n") + tail_lines > target_lines:
            break
        parts.append(helper)
        lines += helper.count("\n")
        index += 1
    text = "".join(parts) + SCRIPT_TAIL
    GENERATED.mkdir(parents=True, exist_ok=True)
    path = GENERATED / "train_lora.py"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def pick_clean_file(files: list[str]) -> str | None:
    """A real corpus file of 300-800 lines that no rule's trigger tokens admit (first in order)."""
    candidates = []
    for name in files:
        data = (CORPUS / name).read_bytes()
        if 300 <= data.count(b"\n") <= 800 and b"peft" not in data.lower() and b"torch" not in data:
            candidates.append(name)
        if len(candidates) >= 40:
            break
    if not candidates:
        return None
    probe = (
        "import json, sys\nfrom peftlint import lint_paths\nfrom peftlint.config import Settings\n"
        "for p in json.loads(sys.argv[1]):\n"
        "    if lint_paths([p], Settings(respect_gitignore=False)).files_analysed == 0:\n"
        "        print(p); break\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(candidates)],
        cwd=CORPUS,
        env=peftlint_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or None


# ---------------------------------------------------------------------------------------------
# The measurements
# ---------------------------------------------------------------------------------------------


def measure_main(args, paths: list[str], timeout: float) -> dict:
    """peftlint cold, peftlint warm, ruff: alternating, ``args.runs`` times, order rotated."""
    env = peftlint_env()
    common = ["check", "--exit-zero", "--no-respect-gitignore"]
    commands = {
        "peftlint_cold": (peftlint_cmd(*common, "--no-cache", "--jobs", str(args.jobs), *paths), env),
        "peftlint_warm": (peftlint_cmd(*common, *paths), env),
        "ruff": ([str(tool_path("ruff")), "check", "--no-cache", "--isolated", "--exit-zero", *paths], None),
    }
    out: dict = {name: {"runs": []} for name in commands}
    out["commands"] = {name: _show(cmd) for name, (cmd, _) in commands.items()}
    for stale in _cache_dirs(CORPUS):  # the cache key is peftlint's version, not its code: start empty
        shutil.rmtree(stale)
    log("warm-up: ruff once, peftlint once with the cache on (fills it)")
    out["ruff"]["warmup"] = run(commands["ruff"][0], timeout=timeout)
    fill = run(commands["peftlint_warm"][0], env=env, timeout=timeout, sample=True, limit_mb=args.max_rss_mb)
    out["peftlint_warm"]["cache_fill"] = fill
    out["cache_dirs"] = [str(p.relative_to(REPO)) for p in _cache_dirs(CORPUS, REPO)]
    broken: set[str] = set()
    if fill.get("failure"):
        log(f"peftlint cache fill failed: {fill['failure']}")
        broken.add("peftlint_warm")
    names = list(commands)
    for index in range(args.runs):
        order = names[index % len(names) :] + names[: index % len(names)]
        for name in order:
            if name in broken:
                continue
            cmd, cmd_env = commands[name]
            result = run(cmd, env=cmd_env, timeout=timeout, sample=True, limit_mb=args.max_rss_mb)
            result["run"] = index
            out[name]["runs"].append(result)
            log(f"run {index + 1}/{args.runs} {name}: {_describe(result)}")
            if not ok(result):
                broken.add(name)  # a run that failed once fails again: do not spend the time
    for name in commands:
        good = [r for r in out[name]["runs"] if ok(r)]
        runs = out[name]["runs"]
        out[name]["wall_s"] = [r["wall_s"] for r in runs]
        out[name]["median_s"] = median([r["wall_s"] for r in good])
        out[name]["maxrss_mb"] = max((r["maxrss_mb"] for r in good), default=None)
        out[name]["tree_rss_mb"] = max((r.get("tree_rss_mb", 0) for r in good), default=None)
        out[name]["failures"] = [_failure(r) for r in runs if not ok(r)]
        out[name]["returncodes"] = sorted({r["returncode"] for r in runs})
    for mode in ("cold", "warm"):
        mine = {r["run"]: r for r in out[f"peftlint_{mode}"]["runs"] if ok(r)}
        ruffs = {r["run"]: r for r in out["ruff"]["runs"] if ok(r)}
        ratios = [round(mine[i]["wall_s"] / ruffs[i]["wall_s"], 3) for i in sorted(mine) if i in ruffs]
        out[f"ratio_{mode}_per_run"] = ratios
        out[f"ratio_{mode}_median"] = median(ratios)
    cold = [r["stdout_sha256"] for r in out["peftlint_cold"]["runs"] if not r.get("failure")]
    warm = [r["stdout_sha256"] for r in out["peftlint_warm"]["runs"] if not r.get("failure")]
    out["cold_runs_identical"] = len(set(cold)) <= 1 if cold else None
    out["warm_output_matches_cold"] = (set(cold) == set(warm)) if cold and warm else None
    return out


def measure_slow(args, timeout: float) -> dict:
    """TorchFix and fixit on peft only, once each; peftlint cold and ruff on the same subset.

    All four run on a copy of the peft tree outside this repository: fixit (trailrunner) skips
    whatever a .gitignore covers, even files named explicitly, and bench/corpus/ is gitignored.
    """
    env = peftlint_env()
    scratch = Path(tempfile.mkdtemp(prefix="peftlint-bench-"))
    try:
        shutil.copytree(SITE / "peft", scratch / "peft")
        paths = ["peft"]
        commands = {
            "torchfix": [str(tool_path("torchfix")), *paths],
            "fixit": [str(tool_path("fixit")), "lint", *paths],
            "peftlint_cold": peftlint_cmd(
                "check", "--exit-zero", "--no-respect-gitignore", "--no-cache", "--jobs", str(args.jobs), *paths
            ),
            "ruff": [str(tool_path("ruff")), "check", "--no-cache", "--isolated", "--exit-zero", *paths],
        }
        out: dict = {"subset": "site/peft (copied to a temporary directory)", "files": len(corpus_files(["site/peft"]))}
        out["commands"] = {k: _show(v) for k, v in commands.items()}
        for name, cmd in commands.items():
            if not Path(cmd[0]).exists():
                out[name] = {"failure": f"{cmd[0]} is not installed"}
                continue
            log(f"slow tools: {name} on peft (timeout {timeout:g} s)")
            result = run(
                cmd,
                cwd=scratch,
                env=env if name == "peftlint_cold" else None,
                timeout=timeout,
                sample=True,
                keep_output=True,
            )
            text = result.pop("stdout").decode(errors="replace") + result.get("stderr_tail", "")
            counted = re.findall(r"(\d+) files? (?:checked|clean)|Finished checking (\d+) files?", text)
            if counted:
                result["files_reported"] = int(next(n for n in counted[-1] if n))
            if name != "peftlint_cold" and ok(result) and not result["returncode"]:
                result.pop("stderr_tail", None)
            out[name] = result
            log(f"slow tools: {name}: {_describe(result)}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ruff_s = out.get("ruff", {}).get("wall_s")
    for name in ("torchfix", "fixit", "peftlint_cold"):
        if ruff_s and out.get(name, {}).get("wall_s") and not out[name].get("failure"):
            out[name]["ratio_to_ruff"] = round(out[name]["wall_s"] / ruff_s, 2)
    return out


def measure_latency(args, clean: str | None, script: Path) -> dict:
    """One-file pre-commit style runs, each a multiple of a bare ``python -c pass`` (median of n)."""
    env = peftlint_env()
    script_rel = os.path.relpath(script, CORPUS)
    commands: dict[str, tuple[list[str], dict | None]] = {"python_c_pass": ([sys.executable, "-c", "pass"], env)}
    if clean:
        commands["clean_file"] = (peftlint_cmd("check", clean), env)
        commands["clean_file_no_cache"] = (peftlint_cmd("check", "--no-cache", clean), env)
    commands["training_script"] = (peftlint_cmd("check", script_rel), env)
    commands["training_script_no_cache"] = (peftlint_cmd("check", "--no-cache", script_rel), env)
    for cmd, cmd_env in commands.values():  # warm-up: pyc files, page cache, the results cache
        run(cmd, env=cmd_env, timeout=120)
    samples: dict[str, list[dict]] = {name: [] for name in commands}
    for _ in range(args.latency_runs):
        for name, (cmd, cmd_env) in commands.items():
            samples[name].append(run(cmd, env=cmd_env, timeout=120))
    out: dict = {"files": {"clean_file": clean, "training_script": script_rel}, "runs": args.latency_runs}
    out["commands"] = {name: _show(cmd) for name, (cmd, _) in commands.items()}
    base = median([r["wall_s"] for r in samples["python_c_pass"]])
    for name, results in samples.items():
        entry = {
            "wall_s": [r["wall_s"] for r in results],
            "median_s": median([r["wall_s"] for r in results]),
            "maxrss_mb": max(r["maxrss_mb"] for r in results),
            "returncodes": sorted({r["returncode"] for r in results}),
        }
        entry["multiple_of_python"] = round(entry["median_s"] / base, 2) if base else None
        out[name] = entry
    if clean:  # libcst must not even be imported for a file without PEFT tokens
        out["libcst_imported_on_clean_file"] = _imports_libcst(peftlint_cmd("check", "--no-cache", clean), env)
    # and, since the analysis walks libcst's tree, imported for one with findings
    out["libcst_imported_on_training_script"] = _imports_libcst(peftlint_cmd("check", "--no-cache", script_rel), env)
    findings = run(peftlint_cmd("check", "--no-cache", "--format", "json", script_rel), env=env, keep_output=True)
    try:
        codes = sorted(item["code"] for item in json.loads(findings["stdout"]))
    except (ValueError, KeyError, TypeError):
        codes = [f"unreadable output (exit {findings['returncode']})"]
    out["training_script_findings"] = codes
    out["training_script_lines"] = script.read_text().count("\n")
    return out


def _imports_libcst(cmd: list[str], env: dict) -> bool:
    """Whether ``python -X importtime`` shows libcst imported during that peftlint run."""
    traced = subprocess.run(
        [sys.executable, "-X", "importtime", *cmd[1:]], cwd=CORPUS, env=env, capture_output=True, text=True, check=False
    )
    return bool(re.search(r"\|\s+libcst\b", traced.stderr))


def measure_determinism(args, paths: list[str], timeout: float) -> dict:
    """``--jobs 1`` and ``--jobs 2`` over the corpus plus the generated script (so there are findings)."""
    env = peftlint_env()
    every = [*paths, os.path.relpath(GENERATED, CORPUS)]
    out: dict = {"paths": every, "format": "json"}
    outputs: dict[int, bytes] = {}
    for jobs in (1, 2):
        cmd = peftlint_cmd(
            "check",
            "--no-cache",
            "--exit-zero",
            "--no-respect-gitignore",
            "--format",
            "json",
            "--jobs",
            str(jobs),
            *every,
        )
        result = run(cmd, env=env, timeout=timeout, keep_output=True, limit_mb=args.max_rss_mb)
        log(f"determinism --jobs {jobs}: {_describe(result)}")
        outputs[jobs] = result.pop("stdout")
        if ok(result) and not result["returncode"]:
            result.pop("stderr_tail", None)
        out[f"jobs_{jobs}"] = result
    failed = [j for j in (1, 2) if not ok(out[f"jobs_{j}"])]
    out["identical"] = None if failed else outputs[1] == outputs[2]
    if failed:
        out["failure"] = "; ".join(f"--jobs {j}: {_failure(out[f'jobs_{j}'])}" for j in failed)
    try:
        out["findings"] = len(json.loads(outputs[1]))
    except ValueError:
        out["findings"] = None
    return out


def measure_scaling(args, files: list[str], timeout: float) -> dict:
    """peftlint cold (and ruff) on the first 10, 100, 1000 and all files of the sorted list."""
    env = peftlint_env()
    sizes = [n for n in (10, 100, 1000) if n < len(files)] + [len(files)]
    points = []
    for size in sizes:
        chosen = files[:size]
        lines = count_lines(chosen)
        cmd = peftlint_cmd(
            "check", "--no-cache", "--exit-zero", "--no-respect-gitignore", "--jobs", str(args.jobs), *chosen
        )
        mine = run(cmd, env=env, timeout=timeout, sample=True, limit_mb=args.max_rss_mb)
        ruff = run([str(tool_path("ruff")), "check", "--no-cache", "--isolated", "--exit-zero", *chosen])
        point = {
            "files": size,
            "lines": lines,
            "peftlint_s": mine["wall_s"],
            "peftlint_maxrss_mb": mine["maxrss_mb"],
            "peftlint_tree_rss_mb": mine.get("tree_rss_mb"),
            "ruff_s": ruff["wall_s"],
            "per_file_ms": round(mine["wall_s"] / size * 1000, 3),
            "per_kline_ms": round(mine["wall_s"] / lines * 1000 * 1000, 3) if lines else None,
        }
        if not ok(mine):
            point["failure"] = _failure(mine)
        points.append(point)
        log(f"scaling {size} files: {_describe(mine)}; ruff {ruff['wall_s']:.2f} s")
        if point.get("failure"):
            break
    out: dict = {"points": points}
    good = [p for p in points if not p.get("failure")]
    if len(good) >= 2:
        small, last = good[0], good[-1]
        # What each file adds on top of the fixed cost (start-up, imports, pool), averaged over the
        # whole sorted corpus rather than between two neighbouring points: the files differ a lot.
        variable = (last["peftlint_s"] - small["peftlint_s"]) / (last["files"] - small["files"])
        variable_line = (last["peftlint_s"] - small["peftlint_s"]) / max(last["lines"] - small["lines"], 1)
        ruff_variable = (last["ruff_s"] - small["ruff_s"]) / (last["files"] - small["files"])
        out["fixed_cost_s"] = small["peftlint_s"]
        out["variable_per_file_ms"] = round(variable * 1000, 3)
        out["variable_per_kline_ms"] = round(variable_line * 1000 * 1000, 3)
        out["ruff_variable_per_file_ms"] = round(ruff_variable * 1000, 4)
        lines_per_file = last["lines"] / last["files"]
        parsed_share = None
        counts = args.prefilter if isinstance(getattr(args, "prefilter", None), dict) else {}
        if counts.get("files_checked"):
            parsed_share = counts["files_analysed"] / counts["files_checked"]
        out["extrapolation"] = {
            "files": MONOREPO_FILES,
            "lines_per_file": round(lines_per_file),
            "parsed_share": round(parsed_share, 4) if parsed_share is not None else None,
            "formula": "t(10 files) + (100000 - 10) * variable cost per file",
            "peftlint_s": round(small["peftlint_s"] + (MONOREPO_FILES - small["files"]) * variable, 1),
            "ruff_s": round(small["ruff_s"] + (MONOREPO_FILES - small["files"]) * ruff_variable, 1),
        }
    return out


def _cache_dirs(*bases: Path) -> list[Path]:
    found = []
    for base in bases:
        candidate = base / ".peftlint_cache"
        if candidate.is_dir():
            found.append(candidate)
    return found


def _show(cmd: list[str]) -> str:
    shown = [
        ("python" if part == sys.executable else os.path.relpath(part, CORPUS) if part.startswith("/") else part)
        for part in cmd
    ]
    if len(shown) > 14:
        shown = [*shown[:12], f"... ({len(shown) - 12} more)"]
    return " ".join(shown)


def _failure(result: dict) -> str:
    if result.get("failure"):
        return result["failure"]
    tail = result.get("stderr_tail", "").strip().splitlines()
    return f"exit {result['returncode']}" + (f": {tail[-1]}" if tail else "")


def _describe(result: dict) -> str:
    text = f"{result['wall_s']:.3f} s, max RSS {result['maxrss_mb']:.0f} MB"
    if "tree_rss_mb" in result:
        text += f" (tree {result['tree_rss_mb']:.0f} MB)"
    if result.get("failure") or result["returncode"]:
        text += f" [{_failure(result)}]"
    return text


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def _s(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.2f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def _le(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def render(results: dict) -> str:
    main, lat, counts = results["main"], results["latency"], results["prefilter"]
    corpus = results["corpus"]
    cold, warm, ruff = main["peftlint_cold"], main["peftlint_warm"], main["ruff"]
    runs = results["settings"]["runs"]
    jobs = results["settings"]["jobs"]

    def ratios(key: str) -> str:
        values = main[f"ratio_{key}_per_run"]
        return ", ".join(f"{v:.2f}" for v in values) if values else "n/a"

    def failures(entry: dict) -> str:
        return f" ({entry['failures'][0]})" if entry.get("failures") else ""

    rss_values = [v for v in (cold["tree_rss_mb"], warm["tree_rss_mb"]) if v]
    peak_tree = max(rss_values) if rss_values else None
    rows = [
        ("Measure", "peftlint", "ruff", "peftlint / ruff", "Target", "Met"),
        (
            f"Cold, the corpus above (`--no-cache --jobs {jobs}`), median of {runs}",
            _s(cold["median_s"]) + failures(cold),
            _s(ruff["median_s"]),
            f"{_x(main['ratio_cold_median'])} (runs: {ratios('cold')})",
            "<= 1.5x",
            _met(_le(main["ratio_cold_median"], TARGETS["cold_ratio"])),
        ),
        (
            f"Warm (cache filled), median of {runs}",
            _s(warm["median_s"]) + failures(warm),
            _s(ruff["median_s"]),
            f"{_x(main['ratio_warm_median'])} (runs: {ratios('warm')})",
            "<= 0.3x",
            _met(_le(main["ratio_warm_median"], TARGETS["warm_ratio"])),
        ),
        (
            "Peak RSS, largest process (cold / warm)",
            f"{cold['maxrss_mb'] or 'n/a'} / {warm['maxrss_mb'] or 'n/a'} MB",
            f"{ruff['maxrss_mb'] or 'n/a'} MB",
            "",
            "<= 300 MB",
            _met(_le(max(filter(None, [cold["maxrss_mb"], warm["maxrss_mb"]]), default=None), TARGETS["rss_mb"])),
        ),
        (
            "Peak RSS, whole process tree, sampled (cold / warm)",
            f"{cold['tree_rss_mb'] or 'n/a'} / {warm['tree_rss_mb'] or 'n/a'} MB",
            f"{ruff['tree_rss_mb'] or 'n/a'} MB",
            "",
            "<= 300 MB",
            _met(_le(peak_tree, TARGETS["rss_mb"])),
        ),
    ]
    screen = counts.get("token_screen_admits")
    if isinstance(screen, dict):
        admits = ", ".join(f"{code} {n}" for code, n in screen.items())
        rows.append(
            (
                "Files the token screen admits (any rule; per rule)",
                f"{counts.get('token_screen_admits_any', '?')} of {results['corpus']['files']} ({admits})",
                "",
                "",
                "",
                "",
            )
        )
    if "failure" in counts:
        parsed = f"n/a ({counts['failure']})"
    else:
        parsed = f"{counts['files_checked']}: {counts['files_analysed']} / {counts['files_skipped']}"
    rows.append(("Files checked: analysed / skipped by the two screens (`lint_paths`)", parsed, "", "", "", ""))
    base = lat["python_c_pass"]["median_s"]
    rows.append((f"`python -c pass` (the unit of the next rows), median of {lat['runs']}", _s(base), "", "", "", ""))

    def latency(entry: dict, cached: dict) -> str:
        return (
            f"{_s(entry['median_s'])} = {_x(entry['multiple_of_python'])} "
            f"(cache on: {_s(cached['median_s'])} = {_x(cached['multiple_of_python'])})"
        )

    if "clean_file" in lat:
        entry, cached = lat["clean_file_no_cache"], lat["clean_file"]
        rows.append(
            (
                f"One file without PEFT code, `check --no-cache FILE`, median of {lat['runs']}",
                latency(entry, cached),
                "",
                "",
                "<= 4x",
                _met(_le(entry["multiple_of_python"], TARGETS["latency_clean"])),
            )
        )
        rows.append(
            (
                "libcst imported for that file",
                "yes" if lat.get("libcst_imported_on_clean_file") else "no",
                "",
                "",
                "no",
                _met(not lat.get("libcst_imported_on_clean_file")),
            )
        )
    entry, cached = lat["training_script_no_cache"], lat["training_script"]
    found = ", ".join(lat["training_script_findings"]) or "no findings"
    rows.append(
        (
            f"{lat['training_script_lines']}-line training script ({found}), `check --no-cache FILE`, "
            f"median of {lat['runs']}",
            latency(entry, cached),
            "",
            "",
            "<= 15x",
            _met(_le(entry["multiple_of_python"], TARGETS["latency_script"])),
        )
    )
    if "libcst_imported_on_training_script" in lat:
        imported = lat["libcst_imported_on_training_script"]
        shown = "yes" if imported else "no"
        rows.append(("libcst imported for that script (the analysis walks its tree)", shown, "", "", "", ""))
    det = results["determinism"]
    rows.append(
        (
            "`--jobs 1` and `--jobs 2` output byte-identical"
            + ("" if det["paths"][:-1] == results["corpus"]["roots"] else f" (on {', '.join(det['paths'])})"),
            "n/a (" + det["failure"] + ")" if det.get("failure") else ("yes" if det["identical"] else "no"),
            "",
            "",
            "yes",
            _met(det.get("identical")),
        )
    )
    rows.append(
        (
            "Warm output identical to cold output",
            {None: "n/a", True: "yes", False: "no"}[main["warm_output_matches_cold"]],
            "",
            "",
            "yes",
            _met(main["warm_output_matches_cold"]),
        )
    )
    table = _table(rows)
    versions = ", ".join(f"{k} {v}" for k, v in corpus["versions"].items())
    tools = ", ".join(f"{k} {v}" for k, v in results["tools"].items())
    machine = results["machine"]
    checkout = results["checkout"]
    head = (
        f"Corpus: {versions} ({corpus['files']} files, {corpus['lines']:,} lines). "
        f"peftlint {checkout['peftlint']} at {checkout.get('commit', '?')[:10]}"
        f"{' + uncommitted changes' if checkout.get('peftlint_dirty') else ''}"
        f"{' (**its code changed during the run**)' if checkout.get('code_changed_during_run') else ''}; "
        f"libcst {checkout['libcst']}; "
        f"tools: {tools}. Machine: {machine['nproc']} CPUs ({machine.get('cpu', '?')}), "
        f"{machine.get('memory_gib', '?')} GiB, Python {machine['python']}. "
        f"Measured {results['finished']}, {results['duration_s'] / 60:.1f} min in all."
    )
    parts = [head, "", table]
    slow = results.get("slow")
    if slow:
        rows = [("Tool", "Time", "x ruff", "Peak RSS (largest process / tree)", "Files it reports checking")]
        for name, label in (
            ("ruff", "ruff"),
            ("peftlint_cold", "peftlint cold"),
            ("torchfix", "TorchFix"),
            ("fixit", "fixit"),
        ):
            entry = slow.get(name, {})
            ratio = 1.0 if name == "ruff" and entry.get("wall_s") else entry.get("ratio_to_ruff")
            rows.append(
                (
                    label,
                    entry.get("failure") or _s(entry.get("wall_s")),
                    _x(ratio),
                    f"{entry.get('maxrss_mb', 'n/a')} / {entry.get('tree_rss_mb', 'n/a')} MB",
                    str(entry.get("files_reported", "")),
                )
            )
        parts += [
            "",
            f"Slow tools (`--with-slow`): peft only ({slow['files']} files), once each, copied outside the repo:",
            "",
            _table(rows),
        ]
    scaling = results.get("scaling")
    if scaling and scaling["points"]:
        rows = [("Files", "Lines", "peftlint cold", "per file", "per 1k lines", "ruff")]
        for point in scaling["points"]:
            rows.append(
                (
                    str(point["files"]),
                    f"{point['lines']:,}",
                    _s(point["peftlint_s"]) + (f" ({point['failure']})" if point.get("failure") else ""),
                    f"{point['per_file_ms']:.2f} ms",
                    f"{point['per_kline_ms']:.2f} ms" if point["per_kline_ms"] is not None else "n/a",
                    _s(point["ruff_s"]),
                )
            )
        parts += ["", f"Scaling (peftlint cold, `--jobs {jobs}`, one run each, files given by name):", "", _table(rows)]
        extra = scaling.get("extrapolation")
        if extra:
            share = extra["parsed_share"]
            mix = f"{share:.0%} of files passing the prefilter, " if share is not None else ""
            parts += [
                "",
                f"**Extrapolation, not a measurement:** the fixed cost ({_s(scaling['fixed_cost_s'])}, the 10-file "
                f"run) plus the variable cost per file averaged from 10 files to all "
                f"({scaling['variable_per_file_ms']:.2f} ms per file, {scaling['variable_per_kline_ms']:.2f} ms per "
                f"1k lines) gives, for a {extra['files']:,}-file monorepo, about **{_s(extra['peftlint_s'])}** for "
                f"a cold peftlint run (ruff, the same way: about {_s(extra['ruff_s'])}). It assumes a monorepo "
                f"like this corpus ({mix}{extra['lines_per_file']} lines per file), the same {jobs} CPUs, and "
                "costs that stay linear (a cross-file join, or memory, that grows faster would break it). "
                "A warm run on such a repository costs the warm time scaled the same way; a pre-commit run "
                "only pays for the files it is given.",
            ]
    return "\n".join(parts)


def _table(rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def update_readme(block: str) -> None:
    text = README.read_text() if README.exists() else "# peftlint benchmark\n"
    section = f"{START}\n{block}\n{END}"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n## Results\n\n" + section + "\n"
    README.write_text(text)


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="peft only, 1 run, no slow tools: a smoke test")
    parser.add_argument("--runs", type=int, help="alternating runs of each tool (default 5; 1 with --quick)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="peftlint --jobs for cold runs")
    parser.add_argument("--with-slow", action="store_true", help="also TorchFix and fixit on peft, once each")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed for one run (default 1800)")
    parser.add_argument("--slow-timeout", type=float, default=900, help="seconds for TorchFix / fixit (900)")
    parser.add_argument("--latency-runs", type=int, default=10, help="runs of each one-file command (10)")
    parser.add_argument("--max-rss-mb", type=int, default=4096, help="kill a run whose tree RSS exceeds this (4096)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the 10/100/1000/all runs (--quick does)")
    parser.add_argument("--refresh-corpus", action="store_true", help="reinstall the corpus packages")
    parser.add_argument("--output", type=Path, help="results file (default bench/results.json)")
    args = parser.parse_args()
    if args.runs is None:
        args.runs = 1 if args.quick else 5
    if args.quick:
        args.latency_runs = min(args.latency_runs, 3)
    if args.runs < 1 or args.jobs < 0:
        parser.error("--runs must be >= 1 and --jobs >= 0")

    started = time.time()
    CORPUS.mkdir(parents=True, exist_ok=True)
    results: dict = {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    results["settings"]["peftlint_options"] = (
        "--no-respect-gitignore (the corpus lies in a gitignored directory); --isolated when available"
    )
    results["machine"] = machine_info()
    results["checkout"] = checkout_info()
    results["checkout"]["code_digest"] = code_digest()
    detect_isolated()
    versions = ensure_corpus(args.refresh_corpus)
    results["tools"] = ensure_tools(args.with_slow and not args.quick)
    roots = ["site/peft"] if args.quick else [f"site/{name}" for name in PACKAGES]
    files = corpus_files(roots)
    results["corpus"] = {
        "roots": roots,
        "versions": {n: versions[n] for n in PACKAGES if f"site/{n}" in roots},
        "files": len(files),
        "lines": count_lines(files),
    }
    log(f"corpus: {len(files)} files, {results['corpus']['lines']:,} lines under {', '.join(roots)}")
    script = write_training_script()

    log("prefilter counts (library call)")
    results["prefilter"] = prefilter_counts(roots, args.jobs, args.timeout, args.max_rss_mb)
    log(f"prefilter: {results['prefilter']}")
    args.prefilter = results["prefilter"]
    results["main"] = measure_main(args, roots, args.timeout)
    log("one-file latency")
    clean = pick_clean_file(corpus_files([f"site/{name}" for name in PACKAGES]))
    results["latency"] = measure_latency(args, clean, script)
    log("determinism: --jobs 1 vs --jobs 2")
    det_roots = roots
    if results["main"]["peftlint_cold"]["median_s"] is None and roots != ["site/peft"]:
        det_roots = ["site/peft"]  # the full corpus did not finish: still check determinism on a part
        log("the cold runs failed on the full corpus: determinism on site/peft only")
    results["determinism"] = measure_determinism(args, det_roots, args.timeout)
    if not (args.no_scaling or args.quick):
        results["scaling"] = measure_scaling(args, files, args.timeout)
    if args.with_slow and not args.quick:
        results["slow"] = measure_slow(args, args.slow_timeout)
    results["duration_s"] = round(time.time() - started, 1)
    results["checkout"]["code_changed_during_run"] = code_digest() != results["checkout"]["code_digest"]
    results["finished"] = time.strftime("%Y-%m-%d %H:%M")
    block = render(results)
    results["table_markdown"] = block

    output = args.output or (BENCH / "results" / "quick.json" if args.quick else BENCH / "results.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    if not args.quick:
        update_readme(block)
    print(block)
    log(f"wrote {os.path.relpath(output)}" + ("" if args.quick else " and bench/README.md"))


if __name__ == "__main__":
    main()
