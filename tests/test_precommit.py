"""The pre-commit hook, for real: ``pre-commit try-repo`` installs this repository's hook from
PyPI packages into its own environment and runs it on a temporary git repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")

BAD = """from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM

model = get_peft_model(AutoModelForCausalLM.from_pretrained("gpt2"), LoraConfig(r=8))
model = PeftModel.from_pretrained(model, "./lora")
"""
GOOD = """from peft import PeftModel
from transformers import AutoModelForCausalLM

model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained("gpt2"), "./lora")
"""

pytestmark = pytest.mark.skipif(not Path(PRE_COMMIT).exists(), reason="pre-commit is not installed")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _repo(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    repo = tmp_path / name
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "test@example.com")
    _git(repo, "config", "user.name", "test")
    for file, text in files.items():
        (repo / file).write_text(text, encoding="utf-8")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "init")
    return repo


@pytest.fixture(scope="module")
def hook_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("pre-commit-home")
    return {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}


def _try_repo(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PRE_COMMIT, "try-repo", str(ROOT), "peftlint", "--all-files"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_hook_fails_on_a_finding_and_names_it(tmp_path: Path, hook_home: dict[str, str]) -> None:
    repo = _repo(tmp_path, "bad", {"train.py": BAD, "README.md": "PeftModel.from_pretrained\n"})
    run = _try_repo(repo, hook_home)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "PEFT001" in run.stdout and "--> train.py:5:9" in run.stdout
    assert "Failed" in run.stdout


def test_hook_passes_on_a_clean_repo(tmp_path: Path, hook_home: dict[str, str]) -> None:
    repo = _repo(tmp_path, "good", {"infer.py": GOOD})
    run = _try_repo(repo, hook_home)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Passed" in run.stdout


def test_hook_definition_matches_the_cli() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    for line in (
        "- id: peftlint",
        "entry: peftlint check --force-exclude",
        "language: python",
        "types_or: [python, jupyter]",
        "require_serial: true",
        "minimum_pre_commit_version:",
    ):
        assert line in text
