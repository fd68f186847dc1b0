"""Third-party rules: a package that registers a Rule in the ``peftlint.rules`` entry-point group
is linted with like peftlint's own rules. The package here is real to importlib.metadata (a
module and a ``.dist-info`` on ``sys.path``), as pip would lay it out."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

RULE = '''
"""A team's own rule: a PEFT model saved whole with torch.save, where save_pretrained belongs."""
from peftlint.analysis.values import Kind
from peftlint.findings import Severity
from peftlint.rules.base import Rule


class PeftSavedWithTorch(Rule):
    """
    ## What it does
    Finds `torch.save(model, path)` where `model` is a PEFT model.

    ## Why is this bad?
    Our serving stack reads adapters with `PeftModel.from_pretrained`.

    ## Example
    ```python
    torch.save(model, "out.pt")
    ```

    ## Fix
    `model.save_pretrained("out")`.

    ## References
    - the team wiki
    """

    code = "ACME001"
    name = "peft-saved-with-torch"
    summary = "PEFT model saved with torch.save instead of save_pretrained."
    severity = Severity.WARNING
    reports_at = frozenset({"torch.save"})
    needs = frozenset({"peft.get_peft_model"})

    def on_call(self, site):
        if any(value.kind is Kind.PEFT_MODEL for value in site.role(site.api, "obj")):
            self.context.report(self, site, "a PEFT model saved whole: use save_pretrained", related=())
'''

SOURCE = """\
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

model = get_peft_model(AutoModelForCausalLM.from_pretrained("gpt2"), LoraConfig(r=8))
torch.save(model, "out.pt")
torch.save(model.state_dict(), "weights.pt")
"""


def _site(tmp_path: Path, entry: str) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "acme_rules.py").write_text(RULE, encoding="utf-8")
    info = site / "acme_rules-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-rules\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[peftlint.rules]\n{entry}\n", encoding="utf-8")
    return site


def _peftlint(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, "-m", "peftlint", *args], cwd=cwd, env=environment, capture_output=True, text=True
    )


def test_a_rules_package_is_discovered_and_run(tmp_path: Path) -> None:
    site = _site(tmp_path, "acme = acme_rules:PeftSavedWithTorch")
    (tmp_path / "train.py").write_text(SOURCE, encoding="utf-8")
    result = _peftlint(site, "check", "--no-cache", "--output-format", "concise", "train.py", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "train.py:6:1: ACME001 a PEFT model saved whole: use save_pretrained" in result.stdout
    assert "train.py:7" not in result.stdout  # the state dict is not a PEFT model
    listed = _peftlint(site, "rules", cwd=tmp_path)
    assert "ACME001" in listed.stdout and "PEFT001" in listed.stdout
    explained = _peftlint(site, "explain", "ACME001", cwd=tmp_path)
    assert "Our serving stack" in explained.stdout
    selected = _peftlint(site, "check", "--no-cache", "--select", "ACME", "train.py", cwd=tmp_path)
    assert "ACME001" in selected.stdout and "PEFT" not in selected.stdout.replace("PEFT model", "")


@pytest.mark.parametrize("entry", ["broken = acme_missing:Rule", "broken = acme_rules:NoSuchRule"])
def test_a_broken_rules_package_is_reported_and_the_run_goes_on(tmp_path: Path, entry: str) -> None:
    site = _site(tmp_path, entry)
    (tmp_path / "train.py").write_text(textwrap.dedent(SOURCE), encoding="utf-8")
    result = _peftlint(site, "check", "--no-cache", "train.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rule plugin 'broken' did not load" in result.stderr
