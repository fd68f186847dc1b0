"""The CI recipes run: action.yml's steps (as GitHub's runner would run them, inputs substituted) and the
README's GitLab job, against a small repository with a finding."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BAD = """\
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM

model = get_peft_model(AutoModelForCausalLM.from_pretrained("gpt2"), LoraConfig(r=8))
model = PeftModel.from_pretrained(model, "./lora")
"""
INPUT = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}")


def action() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def step(name: str) -> dict[str, Any]:
    (found,) = [s for s in action()["runs"]["steps"] if s.get("name") == name]
    return found


def inputs(**overrides: str) -> dict[str, str]:
    values = {name: str(spec.get("default", "")) for name, spec in action()["inputs"].items()}
    unknown = set(overrides) - set(values)
    assert not unknown, f"not inputs of the action: {unknown}"
    return {**values, **overrides}


def run_step(name: str, repo: Path, values: dict[str, str], **env: str) -> subprocess.CompletedProcess[str]:
    """As the runner does: ``${{ inputs.x }}`` in ``env`` replaced, ``bash -eo pipefail`` on the script,
    GITHUB_ACTION_PATH the action's directory; this interpreter's scripts first on PATH."""
    definition = step(name)
    assert definition["shell"] == "bash" and "${{" not in definition["run"], "inputs reach scripts through env"
    substituted = {key: INPUT.sub(lambda m: values[m.group(1)], str(value)) for key, value in definition["env"].items()}
    environment = {**os.environ, **substituted, **env, "GITHUB_ACTION_PATH": str(ROOT)}
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment["PATH"]])
    script = repo / ".step.sh"
    script.write_text(definition["run"], encoding="utf-8")
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=repo,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(BAD, encoding="utf-8")
    (tmp_path / "other.py").write_text(BAD, encoding="utf-8")
    (tmp_path / "ignored.py").write_text(BAD, encoding="utf-8")
    return tmp_path


def test_action_is_a_composite_with_documented_inputs() -> None:
    definition = action()
    assert definition["runs"]["using"] == "composite"
    assert set(definition["inputs"]) == {"paths", "args", "output-format", "sarif-file", "install", "python-version"}
    assert all(spec["description"] for spec in definition["inputs"].values())
    upload = step("Upload SARIF to code scanning")
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    assert upload["if"] == "always() && inputs.output-format == 'sarif'"
    assert step("Set up Python")["uses"].startswith("actions/setup-python@")


def test_install_step_installs_peftlint_from_the_action_itself(tmp_path: Path) -> None:
    """Run for real, as a dry run against the local environment: pip builds the action's own
    package and reports what it would install."""
    report = tmp_path / "report.json"
    pip = {"PIP_DRY_RUN": "1", "PIP_NO_INDEX": "1", "PIP_NO_DEPS": "1", "PIP_REPORT": str(report)}
    pip["PIP_NO_BUILD_ISOLATION"] = "0"  # pip's inverted spelling of --no-build-isolation
    process = run_step("Install peftlint", tmp_path, inputs(), **pip)
    assert process.returncode == 0, process.stderr
    (item,) = json.loads(report.read_text(encoding="utf-8"))["install"]
    assert item["metadata"]["name"] == "peftlint"
    assert item["download_info"]["url"] == ROOT.as_uri()


def test_annotations_by_default(repo: Path) -> None:
    process = run_step("Run peftlint", repo, inputs())
    assert process.returncode == 1, process.stderr
    lines = sorted(process.stdout.splitlines())
    assert len(lines) == 3
    assert lines[0].startswith("::error title=peftlint (PEFT001),file=ignored.py,line=5,col=9,")
    assert lines[2].startswith("::error title=peftlint (PEFT001),file=src/train.py,line=5,col=9,")


def test_sarif_with_paths_and_arguments(repo: Path) -> None:
    values = inputs(**{"output-format": "sarif", "paths": "src other.py", "args": "--exit-zero --no-cache"})
    process = run_step("Run peftlint", repo, values)
    assert (process.returncode, process.stdout) == (0, ""), process.stderr
    log = json.loads((repo / "peftlint.sarif").read_text(encoding="utf-8"))
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(log)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]]
    assert uris == ["other.py", "src/train.py"], "only the paths given, relative to the repository"


def test_sarif_without_exit_zero_fails_the_step_but_writes_the_report(repo: Path) -> None:
    process = run_step("Run peftlint", repo, inputs(**{"output-format": "sarif", "sarif-file": "out/p.sarif"}))
    assert process.returncode == 1, process.stderr  # out/ is made for it
    assert len(json.loads((repo / "out" / "p.sarif").read_text(encoding="utf-8"))["runs"][0]["results"]) == 3


def test_a_report_that_cannot_be_written_is_an_error_not_a_traceback(repo: Path) -> None:
    (repo / "taken").write_text("a file, not a directory", encoding="utf-8")
    process = run_step("Run peftlint", repo, inputs(**{"output-format": "sarif", "sarif-file": "taken/p.sarif"}))
    assert process.returncode == 2 and "Traceback" not in process.stderr
    assert process.stderr.startswith("peftlint: error: cannot write taken/p.sarif: ")


def test_a_path_with_glob_characters_is_not_expanded(repo: Path) -> None:
    process = run_step("Run peftlint", repo, inputs(paths="src/*.py"))
    assert process.returncode == 2 and "src/*.py: no such file or directory" in process.stderr


def test_an_unknown_output_format_is_an_error(repo: Path) -> None:
    process = run_step("Run peftlint", repo, inputs(**{"output-format": "xml"}))
    assert process.returncode == 2
    assert process.stdout == "::error title=peftlint::output-format is github or sarif, not 'xml'\n"


# --- the README's GitLab CI job ------------------------------------------------------------------


def readme_yaml(heading: str) -> dict[str, Any]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(heading, 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    return yaml.safe_load(block.group(1))


def test_readme_gitlab_job_publishes_a_valid_code_quality_report(repo: Path) -> None:
    (job,) = readme_yaml("### GitLab CI").values()
    reports = job["artifacts"]["reports"]
    commands = [shlex.split(line) for line in job["script"] if line.startswith("peftlint ")]
    assert commands, "the job runs peftlint"
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    for command in commands:
        process = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=120)
        assert process.returncode in (0, 1), process.stderr
    quality = json.loads((repo / reports["codequality"]).read_text(encoding="utf-8"))
    schema = json.loads((ROOT / "tests" / "data" / "gitlab-codequality.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(quality)
    assert sorted(issue["location"]["path"] for issue in quality) == ["ignored.py", "other.py", "src/train.py"]
    assert (repo / reports["junit"]).read_text(encoding="utf-8").startswith("<?xml")
