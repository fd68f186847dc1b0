"""Score peftlint on a held-out set (see README.md): precision and recall per rule code.

    python bench/heldout/eval.py SET_DIR [--all-codes] [--peftlint "python -m peftlint"]

Each top-level entry of SET_DIR (a .py or .ipynb file, or a directory: one project) is linted as a
run of its own. A finding matches a label with the same file and code whose lines
``line``..``end_line`` hold the finding's row (and, for a notebook, the same cell).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

RULES = {"PEFT001", "PEFT002"}
SKIPPED = {"labels.json", "README.md"}


def lint(root: Path, command: list[str]) -> tuple[list[dict], list[str]]:
    findings: list[dict] = []
    problems: list[str] = []
    for entry in sorted(root.iterdir()):
        lintable = entry.is_dir() or entry.suffix in (".py", ".ipynb")
        if entry.name in SKIPPED or entry.name.startswith(".") or not lintable:
            continue
        options = ["check", "--isolated", "--no-cache", "--output-format", "json", "--exit-zero", entry.name]
        done = subprocess.run([*command, *options], cwd=root, capture_output=True, text=True, check=False)
        if done.stderr.strip():
            problems.append(f"{entry.name}: {done.stderr.strip()[:300]}")
        try:
            findings += json.loads(done.stdout or "[]")
        except ValueError:
            problems.append(f"{entry.name}: not JSON: {done.stdout[:200]}")
    return findings, problems


def matches(label: dict, finding: dict) -> bool:
    same_cell = "cell" not in label or finding.get("cell") == label["cell"] + 1  # peftlint counts cells from 1
    row = finding["location"]["row"]
    return (
        os.path.normpath(label["file"]) == os.path.normpath(finding["filename"])
        and label["code"] == finding["code"]
        and same_cell
        and label["line"] <= row <= label.get("end_line", label["line"])
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set_dir", type=Path)
    parser.add_argument("--all-codes", action="store_true", help="score every finding, not only PEFT001/PEFT002")
    parser.add_argument("--peftlint", default=f"{sys.executable} -m peftlint", help="the command that runs peftlint")
    args = parser.parse_args()
    root = args.set_dir.resolve()
    labels = json.loads((root / "labels.json").read_text(encoding="utf-8"))
    findings, problems = lint(root, args.peftlint.split())
    if not args.all_codes:
        labels = [label for label in labels if label["code"] in RULES]
        findings = [finding for finding in findings if finding["code"] in RULES]
    found: set[int] = set()
    false: list[dict] = []
    for finding in findings:
        hit = next((i for i, label in enumerate(labels) if i not in found and matches(label, finding)), None)
        if hit is None:
            false.append(finding)
        else:
            found.add(hit)
    missed = [label for i, label in enumerate(labels) if i not in found]
    for code in sorted({label["code"] for label in labels} | {finding["code"] for finding in findings}):
        hits = sum(1 for i in found if labels[i]["code"] == code)
        wrong = sum(1 for finding in false if finding["code"] == code)
        lost = sum(1 for label in missed if label["code"] == code)
        precision = hits / (hits + wrong) if hits + wrong else 1.0
        recall = hits / (hits + lost) if hits + lost else 1.0
        print(f"{code}: TP {hits} FP {wrong} FN {lost}  precision {precision:.2f} recall {recall:.2f}")
    print(f"total: {len(found)}/{len(labels)} labels found, {len(false)} false")
    for finding in false:
        cell = f" cell {finding['cell']}" if finding.get("cell") else ""
        where = f"{finding['location']['row']}{cell}"
        print("FALSE ", finding["filename"], where, finding["code"], finding["message"][:100])
    for label in missed:
        print("MISSED", label["file"], label["line"], label["code"], label.get("why", ""))
    for problem in problems:
        print("STDERR", problem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
