"""Score peftlint on a held-out set: python eval.py setN [--peftlint CMD] [--all-codes]

setN/labels.json: [{"file": "rel/path.py", "line": 12, "end_line": 13 (optional), "code": "PEFT001"}, ...]
Each top-level entry of setN (a file, or a directory = one project) is linted as its own run.
A finding matches a label with the same file and code whose [line, end_line] holds the finding's row.
"""
import json, subprocess, sys, os
from pathlib import Path

def main():
    args = sys.argv[1:]
    cmd = "peftlint"
    if "--peftlint" in args:
        i = args.index("--peftlint"); cmd = args[i + 1]; del args[i:i + 2]
    codes = None if "--all-codes" in args else {"PEFT001", "PEFT002"}
    args = [a for a in args if a != "--all-codes"]
    root = Path(args[0]).resolve()
    labels = json.loads((root / "labels.json").read_text())
    if codes is not None:
        labels = [l for l in labels if l["code"] in codes]
    findings = []
    errors = []
    for entry in sorted(root.iterdir()):
        if entry.name in ("labels.json", "README.md") or entry.name.startswith("."):
            continue
        if not (entry.is_dir() or entry.suffix in (".py", ".ipynb")):
            continue
        r = subprocess.run(cmd.split() + ["check", "--isolated", "--no-cache", "--output-format", "json", "--exit-zero", entry.name],
                           cwd=root, capture_output=True, text=True)
        if r.stderr.strip():
            errors.append((entry.name, r.stderr.strip()[:300]))
        try:
            out = json.loads(r.stdout or "[]")
        except ValueError:
            errors.append((entry.name, "bad json: " + r.stdout[:200])); continue
        for f in out:
            if codes is None or f["code"] in codes:
                findings.append((os.path.normpath(f["filename"]), f["location"]["row"], f["code"], f["message"][:100], f.get("cell")))
    used = set()
    tp = {}; fp = []; fn = []
    for fi, (file, row, code, msg, cell) in enumerate(findings):
        hit = None
        for li, l in enumerate(labels):
            if li in used: continue
            same_cell = "cell" not in l or cell == l["cell"] + 1  # peftlint counts cells from 1, labels from 0
            if os.path.normpath(l["file"]) == file and l["code"] == code and same_cell and l["line"] <= row <= l.get("end_line", l["line"]):
                hit = li; break
        if hit is None:
            fp.append((file, row, code, msg if cell is None else f"cell {cell}: {msg}"))
        else:
            used.add(hit); tp[code] = tp.get(code, 0) + 1
    for li, l in enumerate(labels):
        if li not in used:
            fn.append((l["file"], l["line"], l["code"], l.get("why", "")))
    allcodes = sorted({l["code"] for l in labels} | {f[2] for f in findings})
    for c in allcodes:
        t = tp.get(c, 0); p = sum(1 for f in fp if f[2] == c); n = sum(1 for f in fn if f[2] == c)
        prec = t / (t + p) if t + p else 1.0; rec = t / (t + n) if t + n else 1.0
        print(f"{c}: TP {t} FP {p} FN {n}  precision {prec:.2f} recall {rec:.2f}")
    print(f"total: {sum(tp.values())}/{len(labels)} labels found, {len(fp)} false")
    for f in fp: print("FALSE ", *f)
    for f in fn: print("MISSED", *f)
    for e in errors: print("STDERR", *e)

if __name__ == "__main__":
    main()
