"""``peftlint.discovery``: which files a run lints, and git's .gitignore semantics.

Every test builds its tree in tmp_path and works from there (paths are relative, as on the command
line). A ``.git`` directory marks the repository top, where the lookup of parent .gitignore files stops.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from peftlint.config import Settings
from peftlint.discovery import Discovered, _IgnoreFile, discover

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="needs POSIX symlinks")


def make(root: Path, *names: str, contents: dict[str, str] | None = None) -> None:
    """Empty files for ``names``; ``contents`` maps more relative paths to their text."""
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    for name, text in (contents or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def files(*paths: str, **settings: object) -> list[str]:
    found = discover(list(paths), Settings(**settings))  # type: ignore[arg-type]
    assert found.errors == []
    return [path.replace(os.sep, "/") for path in found.files]


def walked(*paths: str, **settings: object) -> list[str]:
    """The files of a walk, spelled without a leading ``./``."""
    return sorted(os.path.normpath(path).replace(os.sep, "/") for path in files(*paths, **settings))


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_walk_finds_only_python_files_and_skips_tool_directories(repo: Path) -> None:
    make(
        repo,
        *"""a.py notes.txt script.pyw pkg/b.py pkg/data.json
        .git/hooks/hook.py __pycache__/a.py build/b.py dist/c.py .venv/d.py venv/e.py .tox/f.py
        node_modules/g.py pkg/.ipynb_checkpoints/h.py env311/lib/site.py env311/pyvenv.cfg""".split(),
    )
    assert walked(".") == ["a.py", "pkg/b.py"]


def test_results_are_sorted_and_deduplicated(repo: Path) -> None:
    make(repo, "pkg/z.py", "pkg/a.py", "pkg/sub/m.py", "top.py")
    assert files("top.py", "pkg", "pkg/z.py", "pkg/./a.py", "pkg/", "top.py") == [
        "pkg/a.py",
        "pkg/sub/m.py",
        "pkg/z.py",
        "top.py",
    ]


def test_overlapping_paths_list_each_file_once(repo: Path) -> None:
    make(repo, "a.py", "pkg/b.py")
    assert files(".", "a.py", "./pkg", "pkg/b.py") == ["a.py", "pkg/b.py"]


def test_one_file_reached_by_relative_and_absolute_paths_is_listed_once(repo: Path) -> None:
    make(repo, "pkg/b.py")
    assert len(discover(["pkg", str(repo / "pkg")], Settings()).files) == 1


def test_explicit_files_are_kept_whatever_their_suffix_or_directory(repo: Path) -> None:
    make(repo, "build/gen.py", "tool", contents={".gitignore": "build/\n"})
    assert files("tool", "build/gen.py") == ["build/gen.py", "tool"]


def test_gitignore_patterns_follow_git(repo: Path) -> None:
    """Each expectation was checked against ``git add --dry-run`` on the same tree."""
    make(
        repo,
        *"""a.py top.py #hash.py x1.py x2.py xa.py y1.py trailing.py
        sub/top.py sub/local.py sub/keep_me.py sub/deeper/local.py sub/deeper/x1.py""".split(),
        contents={
            ".gitignore": "\n".join(
                [
                    "# a comment, not a pattern: a.py",
                    "/top.py",  # anchored: only the top-level file
                    "x[0-9].py",  # character class, at any depth
                    "!x2.py",  # negation re-includes
                    "trailing.py   ",  # trailing spaces are ignored
                    "[!a-x]1.py",  # negated class: y1.py
                    "keep_*.py",
                    r"\#hash.py",  # an escaped '#' is a pattern
                    "",
                ]
            ),
            "sub/.gitignore": "/local.py\n!keep_me.py\n",  # nested: anchored to sub/, overrides the parent
        },
    )
    expected = ["a.py", "sub/deeper/local.py", "sub/keep_me.py", "sub/top.py", "x2.py", "xa.py"]
    assert walked(".") == expected
    # walking a subdirectory still applies the .gitignore files above it
    assert walked("sub") == [p for p in expected if p.startswith("sub/")]
    assert walked("sub/deeper") == ["sub/deeper/local.py"]
    assert len(walked(".", respect_gitignore=False)) == 13


def test_double_star_and_directory_patterns(repo: Path) -> None:
    """Checked against ``git add --dry-run`` too."""
    make(
        repo,
        *"""gen_a.py pkg/gen_b.py pkg/deep/gen_c.py pkg/generated.py out/o.py pkg/out/o.py
        logs/deep/l.py logs/keep.py docs/api/x.py docs/x.py""".split(),
        contents={".gitignore": "**/gen_*.py\nout/\nlogs/**/*.py\ndocs/**/x.py\n!docs/x.py\n"},
    )
    # `a/**/b` also matches `a/b`; the negation re-includes a file whose directory is not ignored
    assert walked(".") == ["docs/x.py", "pkg/generated.py"]


def test_directory_only_pattern_does_not_match_a_file(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("out/\n/cache\n", encoding="utf-8")
    ignore = _IgnoreFile.read(str(tmp_path))
    assert ignore is not None
    out, cache = str(tmp_path / "out"), str(tmp_path / "sub" / "cache")
    assert ignore.verdict(out, is_dir=True) is True
    assert ignore.verdict(out, is_dir=False) is None
    assert ignore.verdict(str(tmp_path / "sub" / "out"), is_dir=True) is True, "no slash but the last: any depth"
    assert ignore.verdict(str(tmp_path / "cache"), is_dir=False) is True
    assert ignore.verdict(cache, is_dir=True) is None, "a leading slash anchors to the .gitignore's directory"


def test_force_exclude_applies_exclusions_to_explicit_files(repo: Path) -> None:
    make(repo, "pkg/gen_x.py", "pkg/ok.py", "build/b.py", "__pycache__/c.py", contents={".gitignore": "gen_*.py\n"})
    given = ("pkg/gen_x.py", "pkg/ok.py", "build/b.py", "__pycache__/c.py")
    assert files(*given) == ["__pycache__/c.py", "build/b.py", "pkg/gen_x.py", "pkg/ok.py"]
    assert files(*given, force_exclude=True) == ["pkg/ok.py"]
    assert files(*given, force_exclude=True, respect_gitignore=False) == ["pkg/gen_x.py", "pkg/ok.py"]


def test_force_exclude_looks_only_inside_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "build" / "project"
    make(project, ".git/HEAD", "train.py")
    monkeypatch.chdir(project)
    assert walked(".") == ["train.py"]
    assert files("train.py", force_exclude=True) == ["train.py"]


def test_explicit_gitignored_directory_is_walked(repo: Path) -> None:
    make(repo, "out/o.py", "build/b.py", contents={".gitignore": "out/\n"})
    assert files("build") == ["build/b.py"]
    assert files("out") == ["out/o.py"]


@needs_symlinks
def test_symlink_loop_terminates(repo: Path) -> None:
    make(repo, "pkg/a.py", "pkg/inner/b.py")
    os.symlink("..", repo / "pkg" / "inner" / "loop")  # pkg/inner/loop -> pkg
    os.symlink(repo, repo / "pkg" / "root")  # an absolute link back to the top
    result: list[Discovered] = []
    worker = threading.Thread(target=lambda: result.append(discover(["."], Settings())), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "discover() is still walking a symlink loop"
    assert result[0].files == ["pkg/a.py", "pkg/inner/b.py"]
    assert result[0].errors == []


@needs_symlinks
def test_dangling_symlink_is_an_error_naming_the_file(repo: Path) -> None:
    make(repo, "pkg/a.py")
    os.symlink("missing.py", repo / "pkg" / "dead.py")
    os.symlink("missing", repo / "pkg" / "dead_dir")  # not a .py name: nothing to report

    walked_result = discover(["pkg"], Settings())
    assert walked_result.files == ["pkg/a.py"]
    assert walked_result.errors == [(os.path.join("pkg", "dead.py"), "dangling symbolic link")]

    explicit = discover(["pkg/dead.py", "pkg/a.py"], Settings())
    assert explicit.files == ["pkg/a.py"]
    assert explicit.errors == [("pkg/dead.py", "dangling symbolic link")]


def test_missing_path_is_an_error_and_the_rest_is_still_found(repo: Path) -> None:
    make(repo, "a.py")
    result = discover(["nope", "a.py"], Settings())
    assert result.files == ["a.py"]
    assert result.errors == [("nope", "no such file or directory")]
