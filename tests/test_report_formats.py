"""``--format sarif`` and ``--format github``: schema-valid SARIF, exact values, stable fingerprints,
GitHub workflow-command escaping, deterministic bytes."""

from __future__ import annotations

import json
import re
import shutil
from functools import cache
from pathlib import Path

import jsonschema
import pytest

import peftlint
from peftlint import LintResult, lint_paths
from peftlint.findings import FileError, Finding, Position, Related, Severity
from peftlint.report.github import render_github
from peftlint.report.sarif import FINGERPRINT_KEY, render_sarif
from peftlint.rules import all_rules

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"
ANNOTATION = re.compile(
    r"^::(?P<level>error|warning|notice) title=peftlint \((?P<code>PEFT\d{3})\),file=(?P<file>[^,]+),"
    r"line=(?P<line>\d+),col=(?P<col>\d+),endLine=(?P<end_line>\d+),endColumn=(?P<end_col>\d+)::(?P<message>.+)$"
)
BROKEN = "from peft import PeftModel\nmodel = PeftModel.from_pretrained(\n"


@cache
def examples() -> LintResult:
    return lint_paths([str(ROOT / "examples")])


@cache
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def assert_valid(log: dict) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(log)]
    assert errors == []


def sarif(result: LintResult, root: Path | str | None = ROOT) -> dict:
    return json.loads(render_sarif(result, all_rules(), root=None if root is None else str(root)))


def by_rule(log: dict, code: str) -> list[dict]:
    return [r for r in log["runs"][0]["results"] if r["ruleId"] == code]


def test_examples_have_both_seed_bugs() -> None:
    codes = {(f.code, Path(f.path).name) for f in examples().findings}
    assert codes == {("PEFT001", "resume_lora.py"), ("PEFT002", "infer.py")}
    assert not examples().errors


def test_sarif_validates_against_the_schema() -> None:
    log = sarif(examples())
    assert_valid(log)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    assert len(run["results"]) == len(examples().findings) == 3
    assert run["invocations"] == [{"executionSuccessful": True}]


def test_sarif_driver_describes_every_rule_from_its_documentation() -> None:
    driver = sarif(examples())["runs"][0]["tool"]["driver"]
    assert driver["name"] == "peftlint"
    assert driver["version"] == peftlint.__version__
    assert driver["informationUri"].startswith("https://")
    rules = all_rules()
    assert [r["id"] for r in driver["rules"]] == sorted(rule.code for rule in rules)
    for entry, rule in zip(driver["rules"], sorted(rules, key=lambda rule: rule.code), strict=True):
        assert entry["name"] == rule.name
        assert entry["shortDescription"]["text"] == rule.summary
        assert entry["help"] == {"text": rule.documentation(), "markdown": rule.documentation()}
        assert entry["helpUri"] == f"https://github.com/peftlint/peftlint/blob/main/docs/rules/{rule.code}.md"
        level = {"error": "error", "warning": "warning", "info": "note"}[rule.severity.value]
        assert entry["defaultConfiguration"] == {"level": level}
        assert entry["properties"]["tags"]
        full = entry["fullDescription"]["text"]
        assert full and "`" not in full and "##" not in full and "\n" not in full.strip()
    peft001 = driver["rules"][0]
    assert peft001["fullDescription"]["text"].startswith(
        "Finds PeftModel.from_pretrained(model, path) (and PeftModelFor*.from_pretrained) where model"
    )
    assert "Why is this bad" not in peft001["fullDescription"]["text"]


def test_sarif_result_values_for_the_cross_file_finding() -> None:
    run = sarif(examples())["runs"][0]
    (result,) = by_rule({"runs": [run]}, "PEFT002")
    assert result["ruleId"] == "PEFT002"
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "PEFT002"
    assert result["level"] == "error"
    assert result["message"]["text"].startswith("`load_state_dict(torch.load(...))` reads `lora_model.pt`")
    assert result["locations"] == [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": "examples/infer.py", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 12, "startColumn": 1, "endLine": 12, "endColumn": 46},
            }
        }
    ]
    assert result["relatedLocations"] == [
        {
            "id": 1,
            "physicalLocation": {
                "artifactLocation": {"uri": "examples/train.py", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 24, "startColumn": 5},
            },
            "message": {"text": "the whole module is pickled here with torch.save (path `lora_model.pt`)"},
        }
    ]
    assert re.fullmatch(r"[0-9a-f]{64}", result["partialFingerprints"][FINGERPRINT_KEY])


def test_sarif_uris_default_to_the_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT / "examples")
    log = sarif(examples(), root=None)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert uris == {"infer.py", "resume_lora.py"}


def test_sarif_reports_file_errors_as_failed_execution(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text(BROKEN, encoding="utf-8")
    shutil.copy(ROOT / "examples" / "resume_lora.py", tmp_path / "resume_lora.py")
    result = lint_paths([str(tmp_path)])
    assert [e.path for e in result.errors] == [str(tmp_path / "broken.py")]
    log = sarif(result, root=tmp_path)
    assert_valid(log)
    (invocation,) = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    (notification,) = invocation["toolExecutionNotifications"]
    assert notification["level"] == "error"
    assert "broken.py" in notification["message"]["text"] and "syntax error" in notification["message"]["text"]
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "broken.py",
        "uriBaseId": "%SRCROOT%",
    }
    assert len(log["runs"][0]["results"]) == 2  # the other file is still reported


def test_fingerprints_survive_code_moving_down(tmp_path: Path) -> None:
    source = (ROOT / "examples" / "resume_lora.py").read_text(encoding="utf-8")
    target = tmp_path / "resume_lora.py"

    def results(text: str) -> list[dict]:
        target.write_text(text, encoding="utf-8")
        return sarif(lint_paths([str(target)]), root=tmp_path)["runs"][0]["results"]

    before, after = results(source), results("# a new first line\n" + source)
    assert len(before) == len(after) == 2
    lines = [[r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in rs] for rs in (before, after)]
    assert lines[1] == [line + 1 for line in lines[0]]
    prints = [[r["partialFingerprints"][FINGERPRINT_KEY] for r in rs] for rs in (before, after)]
    assert prints[0] == prints[1]
    assert len(set(prints[0])) == 2  # distinct findings, distinct fingerprints


def test_identical_findings_get_distinct_fingerprints() -> None:
    finding = Finding("PEFT001", "n", "same message", "a.py", Position(1, 1), Position(1, 5))
    twin = Finding("PEFT001", "n", "same message", "a.py", Position(9, 1), Position(9, 5))
    log = sarif(LintResult((finding, twin), (), 1, 1), root=".")
    prints = {r["partialFingerprints"][FINGERPRINT_KEY] for r in log["runs"][0]["results"]}
    assert len(prints) == 2


def test_notebook_findings_keep_valid_regions_and_name_the_cell() -> None:
    finding = Finding(
        "PEFT001",
        "adapter-loaded-onto-peft-model",
        "nested adapter",
        "nb.ipynb",
        Position(2, 9, cell=5),
        Position(2, 40, cell=5),
        related=(Related("nb.ipynb", Position(1, 9, cell=3), "wrapped here"),),
    )
    log = sarif(LintResult((finding,), (), 1, 1), root=".")
    assert_valid(log)
    (result,) = log["runs"][0]["results"]
    (location,) = result["locations"]
    assert location["physicalLocation"]["region"] == {"startLine": 2, "startColumn": 9, "endLine": 2, "endColumn": 40}
    assert location["properties"] == {"cell": 5}
    assert result["relatedLocations"][0]["properties"] == {"cell": 3}
    (line,) = render_github(LintResult((finding,), (), 1, 1), root=".").splitlines()
    assert line == (
        "::error title=peftlint (PEFT001),file=nb.ipynb::"
        "cell 5:2:9: nested adapter (see nb.ipynb:cell 3:1:9: wrapped here)"
    )


def test_severity_levels() -> None:
    findings = tuple(
        Finding("PEFT001", "n", severity.value, "a.py", Position(i, 1), Position(i, 2), severity=severity)
        for i, severity in enumerate(Severity, start=1)
    )
    result = LintResult(findings, (), 1, 1)
    assert [r["level"] for r in sarif(result, root=".")["runs"][0]["results"]] == ["error", "warning", "note"]
    assert [line.split(" ", 1)[0] for line in render_github(result, root=".").splitlines()] == [
        "::error",
        "::warning",
        "::notice",
    ]


def test_github_lines_parse_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = examples()
    lines = render_github(result).splitlines()
    assert len(lines) == len(result.findings)
    for line, finding in zip(lines, result.findings, strict=True):
        match = ANNOTATION.match(line)
        assert match, line
        assert match["level"] == "error" and match["code"] == finding.code
        assert match["file"] == Path(finding.path).relative_to(ROOT).as_posix()
        position = (finding.start.line, finding.start.column, finding.end.line, finding.end.column)
        assert tuple(int(match[k]) for k in ("line", "col", "end_line", "end_col")) == position
    infer = next(line for line in lines if "PEFT002" in line)
    assert infer.startswith(
        "::error title=peftlint (PEFT002),file=examples/infer.py,line=12,col=1,endLine=12,endColumn=46::"
    )
    assert infer.endswith(
        " (see examples/train.py:24:5: the whole module is pickled here with torch.save (path `lora_model.pt`))"
    )


def test_github_escaping() -> None:
    finding = Finding(
        "PEFT002",
        "pickled-module-loaded-as-state-dict",
        "100% broken, really: yes\r\nsecond line",
        "odd,dir:x%/f.py",
        Position(3, 2),
        Position(4, 7),
        related=(Related("odd,dir:x%/g.py", Position(1, 1), "saved: here, 50%"),),
    )
    error = FileError("bad,1:%.py", "syntax error at line 2: '(' was never closed\nnext")
    out = render_github(LintResult((finding,), (error,), 2, 1), root=".")
    assert out == (
        "::error title=peftlint (PEFT002),file=odd%2Cdir%3Ax%25/f.py,line=3,col=2,endLine=4,endColumn=7::"
        "100%25 broken, really: yes%0D%0Asecond line (see odd,dir:x%25/g.py:1:1: saved: here, 50%25)\n"
        "::error file=bad%2C1%3A%25.py,title=peftlint::could not analyse: syntax error at line 2: '(' was never "
        "closed%0Anext\n"
    )
    assert len(out.splitlines()) == 2


def test_github_no_findings_is_empty() -> None:
    assert render_github(LintResult((), (), 3, 3)) == ""


def test_output_is_deterministic(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text(BROKEN, encoding="utf-8")
    first = lint_paths([str(ROOT / "examples"), str(tmp_path)])
    second = lint_paths([str(ROOT / "examples"), str(tmp_path)])
    assert render_sarif(first, all_rules(), str(ROOT)) == render_sarif(second, all_rules(), str(ROOT))
    assert render_sarif(first, all_rules(), str(ROOT)).endswith("}\n")
    assert render_github(first, str(ROOT)) == render_github(second, str(ROOT))
    # Rule order does not depend on the order the caller passes them in.
    assert render_sarif(first, tuple(reversed(all_rules())), str(ROOT)) == render_sarif(first, all_rules(), str(ROOT))
