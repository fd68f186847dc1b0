#!/usr/bin/env python
"""peftlint on real code: public projects that use PEFT, every finding judged by hand.

One command from the repository root::

    python bench/realcode/run.py                          # every project in projects.json
    python bench/realcode/run.py --project trl --project peft
    python bench/realcode/run.py --peftlint "peftlint"    # another peftlint command

For each project of ``bench/realcode/projects.json`` it extracts the recorded commit's paths from
the bare mirror that ``fetch github:owner/name`` leaves in ``/work/.mirror/owner+name/repo`` into
``bench/corpus/real/<name>/`` (``git archive <commit> <paths> | tar -x``; skipped when the tree
is already there at that commit), runs ``peftlint check`` on it with JSON output, ``--no-cache
--exit-zero --isolated --select ALL,PEFT015`` (PEFT015 is off by default) and the project root as
the working directory (so paths are relative),
and writes ``bench/realcode/results.json``. Each finding is then looked up in
``bench/realcode/verdicts.json`` by a key that survives line moves: (project, path, code, the
flagged source line stripped, and the occurrence number among identical keys, in file order).

Exit status: 0 when every finding is judged true, every file peftlint could not analyse is judged
genuinely invalid, and every finding judged true is still reported; 1 when a finding is judged
false or not judged, an error is judged false (valid code peftlint failed on) or not judged, or a
finding judged true has gone missing (a lost true positive); 2 when a project could not be linted
at all (mirror or commit missing, peftlint crashed).

Nothing here imports peftlint: it runs the command, so it measures what a user gets.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = REPO / "bench" / "corpus" / "real"
STAMPS = CORPUS / ".stamps"
PROJECTS = HERE / "projects.json"
VERDICTS = HERE / "verdicts.json"
RESULTS = HERE / "results.json"

ERROR_LINE = re.compile(r"^peftlint: error: (?P<path>.+?): (?P<reason>.*)$")
NEWLINE = re.compile(r"\r\n|\r|\n")

# Runs peftlint's own ``python -m peftlint`` entry point unchanged, and only records the file counts
# of the LintResult that ``peftlint.engine.lint_paths`` returns (the JSON report does not carry
# them). If the engine moves that function, the counts come out null and the run is unaffected.
COUNTING_SHIM = r"""
import json, os, runpy, sys
_out = os.environ["PEFTLINT_REALCODE_COUNTS"]
try:
    import peftlint.engine as _engine
    _original = _engine.lint_paths
    def _lint_paths(*args, **kwargs):
        result = _original(*args, **kwargs)
        try:
            analysed = getattr(result, "files_analysed", getattr(result, "files_analysed", None))
            with open(_out, "w") as handle:
                json.dump({"files_checked": getattr(result, "files_checked", None), "files_analysed": analysed}, handle)
        except Exception:
            pass
        return result
    _engine.lint_paths = _lint_paths
except Exception:
    pass
sys.argv[0] = "peftlint"
runpy.run_module("peftlint", run_name="__main__", alter_sys=True)
"""


def log(message: str) -> None:
    print(f"[realcode {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_json(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def dump_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False, sort_keys=False)
        handle.write("\n")
    os.replace(tmp, path)


def git(git_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True, text=True)


# ---------------------------------------------------------------------------------------------
# The corpus: one extracted tree per project, at the recorded commit
# ---------------------------------------------------------------------------------------------


def mirror_of(mirror_root: Path, repo: str) -> Path:
    return mirror_root / repo.replace("/", "+") / "repo"


def extract(project: dict[str, Any], mirror_root: Path) -> tuple[Path | None, str]:
    """The project's tree at its commit (extracting it if needed), or None and why not."""
    name, repo, commit, paths = project["name"], project["repo"], project["commit"], project["paths"]
    mirror = mirror_of(mirror_root, repo)
    if not (mirror / "HEAD").exists():
        return None, f"mirror missing, fetch github:{repo} first"
    if git(mirror, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        head = git(mirror, "rev-parse", "HEAD").stdout.strip() or "?"
        return None, (
            f"commit {commit} is not in the mirror {mirror} (its HEAD is {head}): "
            f"fetch github:{repo} again, or record the new commit in projects.json"
        )
    dest = CORPUS / name
    stamp_path = STAMPS / f"{name}.json"
    stamp = {"repo": repo, "commit": commit, "paths": paths}
    previous = load_json(stamp_path, None)
    if dest.is_dir() and previous is not None and {k: previous.get(k) for k in stamp} == stamp:
        return dest, "present"
    STAMPS.mkdir(parents=True, exist_ok=True)
    stamp_path.unlink(missing_ok=True)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    absent = absent_blobs(mirror, commit, paths)
    pathspec = ["--", *paths, *(f":(exclude,literal){path}" for path in absent)]
    archive = subprocess.Popen(
        ["git", f"--git-dir={mirror}", "archive", "--format=tar", commit, *pathspec],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert archive.stdout is not None
    untar = subprocess.run(["tar", "-x", "-f", "-", "-C", str(dest)], stdin=archive.stdout, capture_output=True)
    archive.stdout.close()
    archive_err = archive.stderr.read().decode(errors="replace") if archive.stderr else ""
    if archive.wait() != 0 or untar.returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        return None, f"extraction failed: {archive_err.strip()} {untar.stderr.decode(errors='replace').strip()}"
    stamp["absent_from_snapshot"] = absent
    dump_json(stamp_path, stamp)
    return dest, "extracted"


def absent_blobs(mirror: Path, commit: str, paths: list[str]) -> list[str]:
    """Files of the commit whose content the snapshot lacks (fetch leaves out files of 4 MiB and
    more): git archive would stop at the first, so they are excluded and listed instead."""
    listing = subprocess.run(
        ["git", f"--git-dir={mirror}", "ls-tree", "-r", "-z", commit, "--", *paths], capture_output=True, check=True
    ).stdout.decode("utf-8", errors="surrogateescape")
    blobs: dict[str, list[str]] = {}
    for record in filter(None, listing.split("\0")):
        meta, path = record.split("\t", 1)
        _mode, kind, sha = meta.split()
        if kind == "blob":
            blobs.setdefault(sha, []).append(path)
    check = subprocess.run(
        ["git", f"--git-dir={mirror}", "cat-file", "--batch-check"],
        input="\n".join(blobs).encode() + b"\n",
        capture_output=True,
    ).stdout.decode()
    missing = [line.split()[0] for line in check.splitlines() if line.endswith(" missing")]
    return sorted(path for sha in missing for path in blobs[sha])


# ---------------------------------------------------------------------------------------------
# Running peftlint
# ---------------------------------------------------------------------------------------------


def default_command() -> list[str]:
    venv_python = REPO / ".venv" / "bin" / "python"
    return [str(venv_python if venv_python.exists() else Path(sys.executable)), "-m", "peftlint"]


def format_option(command: list[str], env: dict[str, str]) -> str:
    """``--output-format`` where the CLI has it, else ``--format``."""
    probe = subprocess.run([*command, "check", "--help"], capture_output=True, text=True, env=env, cwd=REPO)
    return "--output-format" if "--output-format" in probe.stdout else "--format"


def run_peftlint(command: list[str], env: dict[str, str], root: Path, paths: list[str], fmt: str) -> dict[str, Any]:
    # every rule, PEFT015 too (off by default: selected by its own code), so its precision is judged
    args = ["check", fmt, "json", "--no-cache", "--exit-zero", "--isolated", "--select", "ALL,PEFT015", *paths]
    with tempfile.TemporaryDirectory(prefix="peftlint-realcode-") as tmp:
        counts_file = os.path.join(tmp, "counts.json")
        run_env = dict(env, PEFTLINT_REALCODE_COUNTS=counts_file)
        # ``<python> -m peftlint`` is run as ``<python> -c SHIM``: the same module, plus the counts.
        shimmed = len(command) == 3 and command[1:] == ["-m", "peftlint"]
        argv = [command[0], "-c", COUNTING_SHIM, *args] if shimmed else [*command, *args]
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=root, capture_output=True, text=True, env=run_env)
        wall = time.perf_counter() - start
        counts = load_json(Path(counts_file), {}) if os.path.exists(counts_file) else {}
    errors, other_stderr = [], []
    for line in proc.stderr.splitlines():
        match = ERROR_LINE.match(line)
        if match:
            errors.append({"path": norm(match["path"]), "reason": match["reason"]})
        elif line.strip():
            other_stderr.append(line)
    try:
        findings = json.loads(proc.stdout)
        assert isinstance(findings, list)
    except (ValueError, AssertionError):
        findings = None
    return {
        "returncode": proc.returncode,
        "wall_time_s": round(wall, 2),
        "files_checked": counts.get("files_checked"),
        "files_analysed": counts.get("files_analysed"),
        "findings": findings,
        "errors": sorted(errors, key=lambda e: (e["path"], e["reason"])),
        "stderr_other": other_stderr[-20:],
    }


# ---------------------------------------------------------------------------------------------
# Findings, keys and verdicts
# ---------------------------------------------------------------------------------------------


def norm(path: str) -> str:
    return Path(os.path.normpath(path)).as_posix()


_sources: dict[Path, Any] = {}


def source_line(root: Path, path: str, row: int, cell: int | None) -> str:
    """The flagged line's text, stripped ('' if it cannot be read)."""
    file = root / path
    try:
        if file not in _sources:
            if cell is not None:
                with open(file, encoding="utf-8") as handle:
                    _sources[file] = json.load(handle)
            else:
                _sources[file] = NEWLINE.split(file.read_bytes().decode("utf-8", errors="replace"))
        data = _sources[file]
        if cell is not None:
            src = data["cells"][cell - 1]["source"]
            lines = NEWLINE.split("".join(src) if isinstance(src, list) else src)
        else:
            lines = data
        return lines[row - 1].strip()
    except (OSError, ValueError, LookupError, TypeError):
        return ""


def location(path: str, row: int, column: int, cell: int | None) -> str:
    return f"{path}:cell {cell}:{row}:{column}" if cell is not None else f"{path}:{row}:{column}"


def normalise_findings(project: str, root: Path, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    items = []
    for f in raw:
        loc = f.get("location") or {}
        if "cell" not in loc and f.get("cell") is not None:  # ruff's shape: the cell at the top level
            loc = {**loc, "cell": f["cell"]}
        path = norm(f["filename"])
        cell = loc.get("cell")
        related = [
            {
                "path": norm(r["filename"]),
                "line": (r.get("location") or {}).get("row"),
                "column": (r.get("location") or {}).get("column"),
                "cell": r.get("cell", (r.get("location") or {}).get("cell")),
                "message": r.get("message"),
            }
            for r in f.get("related") or []
        ]
        items.append(
            {
                "code": f["code"],
                "path": path,
                "cell": cell,
                "line": loc.get("row"),
                "column": loc.get("column"),
                "message": f.get("message"),
                "related": related,
                "line_text": source_line(root, path, loc.get("row") or 0, cell),
            }
        )
    items.sort(key=lambda i: (i["path"], i["cell"] or 0, i["line"] or 0, i["column"] or 0, i["code"]))
    seen: dict[tuple[str, str, str], int] = {}
    for item in items:
        k = (item["path"], item["code"], item["line_text"])
        seen[k] = seen.get(k, 0) + 1
        item["occurrence"] = seen[k]
        item["key"] = verdict_key(project, item)
    return items


def verdict_key(project: str, item: dict[str, Any]) -> str:
    return "|".join((project, item["path"], item["code"], item["line_text"], str(item.get("occurrence", 1))))


def load_verdicts() -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], dict[str, Any]]]:
    data = load_json(VERDICTS, {"findings": [], "errors": []})
    findings = {verdict_key(v["project"], v): v for v in data.get("findings", [])}
    errors = {(e["project"], e["path"]): e for e in data.get("errors", [])}
    return findings, errors


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def table(rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(row)]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def show(count: int | None) -> str:
    return "?" if count is None else str(count)


def checkout_state() -> dict[str, Any]:
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", "peftlint"], capture_output=True, text=True
    )
    return {"commit": head.stdout.strip() or None, "peftlint_dir_modified": bool(dirty.stdout.strip())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", action="append", help="only this project (repeatable)")
    parser.add_argument("--peftlint", help="peftlint command (default: this checkout's .venv python -m peftlint)")
    parser.add_argument("--mirror-root", help="where fetch leaves mirrors (default: projects.json's mirror_root)")
    options = parser.parse_args()

    catalog = load_json(PROJECTS, None)
    projects = catalog["projects"]
    if options.project:
        unknown = set(options.project) - {p["name"] for p in projects}
        if unknown:
            parser.error(f"unknown project(s): {', '.join(sorted(unknown))}")
        projects = [p for p in projects if p["name"] in options.project]
    mirror_root = Path(options.mirror_root or os.environ.get("PEFTLINT_MIRROR_ROOT") or catalog["mirror_root"])

    env = dict(os.environ)
    if options.peftlint:
        command = shlex.split(options.peftlint)
        # The command runs in each project's root: a relative program path is taken from here.
        if command and os.sep in command[0]:
            command[0] = os.path.abspath(command[0])
    else:
        command = default_command()
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    try:
        fmt = format_option(command, env)
    except OSError as exc:
        print(f"cannot run the peftlint command {' '.join(command)!r}: {exc}", file=sys.stderr)
        return 2
    verdicts, error_notes = load_verdicts()
    state = checkout_state()

    previous = {p["name"]: p for p in load_json(RESULTS, {}).get("projects", [])} if options.project else {}
    results: dict[str, dict[str, Any]] = {}
    failed_projects: list[str] = []
    for project in projects:
        name = project["name"]
        root, status = extract(project, mirror_root)
        entry: dict[str, Any] = {
            "name": name,
            "repo": project["repo"],
            "commit": project["commit"],
            "paths": project["paths"],
            "status": status,
            "peftlint_command": " ".join(shlex.quote(c) for c in command),
            "peftlint_checkout": state,
        }
        if root is None:
            log(f"{name}: {status}")
            failed_projects.append(name)
            results[name] = entry
            continue
        absent = load_json(STAMPS / f"{name}.json", {}).get("absent_from_snapshot", [])
        entry["absent_from_snapshot"] = {
            "lintable": [a for a in absent if a.endswith((".py", ".ipynb"))],
            "other_files": sum(1 for a in absent if not a.endswith((".py", ".ipynb"))),
        }
        log(f"{name}: tree {status}; linting {' '.join(project['paths'])}")
        run = run_peftlint(command, env, root, project["paths"], fmt)
        if run["findings"] is None:
            entry["status"] = f"peftlint failed (exit {run['returncode']})"
            entry["stderr"] = run["stderr_other"]
            log(f"{name}: {entry['status']}: {' | '.join(run['stderr_other'][-3:])}")
            failed_projects.append(name)
            results[name] = entry
            continue
        findings = normalise_findings(name, root, run["findings"])
        for item in findings:
            v = verdicts.get(item["key"])
            item["verdict"] = v["verdict"] if v else None
        for error in run["errors"]:
            note = error_notes.get((name, error["path"]))
            error["verdict"] = note["verdict"] if note else None
        entry.update(
            files_checked=run["files_checked"],
            files_analysed=run["files_analysed"],
            wall_time_s=run["wall_time_s"],
            peftlint_exit=run["returncode"],
            findings=findings,
            errors=run["errors"],
        )
        if run["stderr_other"]:
            entry["stderr"] = run["stderr_other"]
        results[name] = entry

    merged = dict(previous)
    merged.update(results)
    order = [p["name"] for p in catalog["projects"]]
    out = {"format_option": fmt, "projects": [merged[n] for n in order if n in merged]}
    dump_json(RESULTS, out)

    # ---- the table ----
    ran = [results[p["name"]] for p in projects if "findings" in results[p["name"]]]
    if not ran:
        for name in failed_projects:
            print(f"NOT RUN: {name}: {results[name]['status']}")
        return 2

    def error_counts(e: dict[str, Any]) -> list[int]:
        verdicts_ = [err["verdict"] for err in e["errors"]]
        return [len(verdicts_), verdicts_.count("genuine"), verdicts_.count("false"), sum(v is None for v in verdicts_)]

    rows = [["project", "files", "analysed", "errors", "genuine", "false", "not judged", "time s"]]
    for e in ran:
        rows.append(
            [
                e["name"],
                show(e["files_checked"]),
                show(e["files_analysed"]),
                *map(str, error_counts(e)),
                f"{e['wall_time_s']:.2f}",
            ]
        )
    total_time = sum(e["wall_time_s"] for e in ran)
    rows.append(
        [
            "total",
            str(sum(e["files_checked"] or 0 for e in ran)),
            str(sum(e["files_analysed"] or 0 for e in ran)),
            *(str(sum(error_counts(e)[i] for e in ran)) for i in range(4)),
            f"{total_time:.2f}",
        ]
    )
    print(table(rows, {1, 2, 3, 4, 5, 6, 7}))
    print()
    rows = [["project", "rule", "findings", "true", "false", "not judged"]]
    totals = [0, 0, 0, 0]
    for e in ran:
        by_rule: dict[str, list[int]] = {}
        for f in e["findings"]:
            counts = by_rule.setdefault(f["code"], [0, 0, 0, 0])
            counts[0] += 1
            counts[{"true": 1, "false": 2}.get(f["verdict"] or "", 3)] += 1
        if not by_rule:
            rows.append([e["name"], "-", "0", "0", "0", "0"])
        for code in sorted(by_rule):
            c = by_rule[code]
            rows.append([e["name"], code, *map(str, c)])
            totals = [a + b for a, b in zip(totals, c, strict=True)]
    rows.append(["total", "", *map(str, totals)])
    print(table(rows, {2, 3, 4, 5}))

    problems = 0
    ran_names = {e["name"] for e in ran}
    current = {f["key"] for e in ran for f in e["findings"]}
    sections: list[tuple[str, list[str]]] = [
        ("FALSE FINDINGS (judged false)", []),
        ("FINDINGS NOT JUDGED", []),
        ("MISSING (judged true, no longer reported)", []),
        ("FALSE ERRORS (valid code peftlint could not analyse)", []),
        ("ERRORS NOT JUDGED", []),
    ]
    fixed: list[str] = []
    for e in ran:
        for f in e["findings"]:
            where = (
                f"{e['name']}: {location(f['path'], f['line'], f['column'], f['cell'])}: {f['code']}  {f['line_text']}"
            )
            if f["verdict"] == "false":
                sections[0][1].append(where)
            elif f["verdict"] != "true":
                sections[1][1].append(where)
        for err in e["errors"]:
            if err["verdict"] != "genuine":
                sections[3 if err["verdict"] == "false" else 4][1].append(
                    f"{e['name']}: {err['path']}: {err['reason']}"
                )
    for key, v in sorted(verdicts.items()):
        if v["project"] in ran_names and key not in current:
            text = f"{v['project']}: {v['path']}: {v['code']}  {v['line_text']}"
            (sections[2][1] if v["verdict"] == "true" else fixed).append(text)
    for title, lines in sections:
        if lines:
            problems += len(lines)
            print(f"\n{title}: {len(lines)}")
            for line in lines:
                print(f"  {line}")
    if fixed:
        print(f"\nno longer reported, judged false before (fixed): {len(fixed)}")
        for line in fixed:
            print(f"  {line}")
    for name in failed_projects:
        print(f"\nNOT RUN: {name}: {results[name]['status']}")
    print(f"\npeftlint time over {len(ran)} project(s): {total_time:.1f} s; results in {RESULTS.relative_to(REPO)}")
    if failed_projects:
        return 2
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
