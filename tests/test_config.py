"""Config files: finding them, reading [tool.peftlint] / peftlint.toml, validation, CLI overrides, globs."""

from __future__ import annotations

import os
import sys
from dataclasses import FrozenInstanceError, fields
from pathlib import Path

import pytest

from peftlint.config import (
    DEFAULT_MAX_FILE_BYTES,
    ConfigError,
    Settings,
    find_config,
    is_excluded,
    load_settings,
    per_file_ignored,
)
from peftlint.rules import all_rules

ALL_CODES = frozenset(rule.code for rule in all_rules())
PEFT00_CODES = frozenset(code for code in ALL_CODES if code.startswith("PEFT00"))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load(cwd: Path, config: str | None = None, *, isolated: bool = False, **overrides: object) -> Settings:
    return load_settings(config, isolated=isolated, cwd=str(cwd), overrides=overrides)


def error(cwd: Path, config: str | None = None, **overrides: object) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(cwd, config, **overrides)
    return caught.value


def slashed(path: Path) -> str:
    return str(path).replace(os.sep, "/")


def ancestors_have_config(path: Path) -> bool:
    for directory in path.parents:
        if (directory / "peftlint.toml").is_file():
            return True
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and b"peftlint" in pyproject.read_bytes():
            return True
    return False


# --- finding the file -------------------------------------------------------------------------


def test_nearest_config_wins(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.peftlint]\nselect = ["PEFT001"]\n')
    inner = write(tmp_path / "pkg" / "pyproject.toml", '[tool.peftlint]\nselect = ["PEFT002"]\n')
    cwd = tmp_path / "pkg" / "src" / "deep"
    cwd.mkdir(parents=True)
    assert find_config(str(cwd)) == str(inner)
    settings = load(cwd)
    assert settings.select == ("PEFT002",)
    assert settings.config_file == str(inner)
    assert load(tmp_path).select == ("PEFT001",)


def test_peftlint_toml_beats_pyproject_in_the_same_directory(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.peftlint]\nselect = ["PEFT001"]\n')
    own = write(tmp_path / "peftlint.toml", 'select = ["PEFT002"]\n')
    assert find_config(str(tmp_path)) == str(own)
    assert load(tmp_path).select == ("PEFT002",)


def test_a_nearer_pyproject_beats_a_farther_peftlint_toml(tmp_path: Path) -> None:
    write(tmp_path / "peftlint.toml", 'select = ["PEFT002"]\n')
    near = write(tmp_path / "pkg" / "pyproject.toml", '[tool.peftlint]\nselect = ["PEFT001"]\n')
    assert find_config(str(tmp_path / "pkg")) == str(near)


def test_pyproject_without_a_peftlint_table_is_skipped(tmp_path: Path) -> None:
    outer = write(tmp_path / "pyproject.toml", '[tool.peftlint]\nignore = ["PEFT002"]\n')
    # mentions peftlint, but has no [tool.peftlint]: parsed and passed over
    write(tmp_path / "a" / "pyproject.toml", '[project]\nname = "x"\ndependencies = ["peftlint"]\n')
    # unrelated and not even valid TOML: never parsed
    write(tmp_path / "a" / "b" / "pyproject.toml", "[tool.black\nline-length = \n")
    cwd = tmp_path / "a" / "b"
    assert find_config(str(cwd)) == str(outer)
    assert load(cwd).ignore == ("PEFT002",)


def test_an_empty_peftlint_table_counts(tmp_path: Path) -> None:
    config = write(tmp_path / "pyproject.toml", "[tool.peftlint]\n")
    assert find_config(str(tmp_path)) == str(config)
    assert load(tmp_path) == Settings(config_file=str(config))


def test_no_config_gives_the_defaults(tmp_path: Path) -> None:
    if ancestors_have_config(tmp_path):
        pytest.skip("a config file above the temporary directory")
    assert find_config(str(tmp_path)) is None
    assert load(tmp_path) == Settings()


def test_find_config_accepts_a_file_as_start(tmp_path: Path) -> None:
    config = write(tmp_path / "peftlint.toml", "")
    script = write(tmp_path / "train.py", "")
    assert find_config(str(script)) == str(config)


def test_isolated_ignores_config_files(tmp_path: Path) -> None:
    write(tmp_path / "peftlint.toml", 'select = ["PEFT002"]\nnot-a-key = 1\n')
    assert load(tmp_path, isolated=True) == Settings()
    assert load(tmp_path, isolated=True, ignore=("PEFT001",)).ignore == ("PEFT001",)


def test_isolated_and_config_conflict(tmp_path: Path) -> None:
    write(tmp_path / "peftlint.toml", "")
    with pytest.raises(ConfigError, match="--config cannot be used with --isolated"):
        load(tmp_path, "peftlint.toml", isolated=True)


# --- an explicit --config ---------------------------------------------------------------------


def test_explicit_config_path_relative_to_cwd(tmp_path: Path) -> None:
    write(tmp_path / "peftlint.toml", 'select = ["PEFT001"]\n')
    explicit = write(tmp_path / "ci" / "strict.toml", 'select = ["PEFT002"]\nexclude = ["gen"]\n')
    settings = load(tmp_path, "ci/strict.toml")
    assert settings.select == ("PEFT002",)
    assert settings.config_file == str(explicit)
    # patterns are relative to the config file's directory, not to cwd
    assert settings.exclude == (slashed(tmp_path / "ci") + "/**/gen",)


def test_explicit_pyproject_reads_its_table(tmp_path: Path) -> None:
    write(tmp_path / "other" / "pyproject.toml", '[tool.peftlint]\nignore = ["PEFT001"]\n')
    assert load(tmp_path, "other/pyproject.toml").ignore == ("PEFT001",)


def test_explicit_pyproject_without_table_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    assert str(error(tmp_path, "pyproject.toml")) == "pyproject.toml: no [tool.peftlint] table"


def test_explicit_config_missing(tmp_path: Path) -> None:
    failure = error(tmp_path, "nope.toml")
    assert str(failure) == "nope.toml: config file not found"
    assert failure.file == str(tmp_path / "nope.toml")


def test_explicit_config_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    assert str(error(tmp_path, "conf")) == "conf: config file is a directory"


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="needs POSIX permissions, not root")
def test_explicit_config_unreadable(tmp_path: Path) -> None:
    config = write(tmp_path / "peftlint.toml", "")
    config.chmod(0)
    try:
        assert str(error(tmp_path, "peftlint.toml")) == "peftlint.toml: cannot read config file: Permission denied"
    finally:
        config.chmod(0o644)


def test_config_unreadable_on_the_walk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import peftlint.config as config_module

    write(tmp_path / "peftlint.toml", "")

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(config_module, "open", refuse, raising=False)
    failure = error(tmp_path)
    assert str(failure) == "peftlint.toml: cannot read config file: Permission denied"
    assert failure.file == str(tmp_path / "peftlint.toml")


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "peftlint.toml", 'select = ["PEFT001"]\n\nignore = [PEFT002]\n')
    message = str(error(tmp_path, "peftlint.toml"))
    assert message.startswith("peftlint.toml: invalid TOML: ")
    assert "line 3" in message


def test_invalid_toml_found_by_the_walk(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.peftlint]\nselect = \n")
    cwd = tmp_path / "sub"
    cwd.mkdir()
    message = str(error(cwd))
    assert message.startswith(f"..{os.sep}pyproject.toml: invalid TOML: ")
    assert "line 2" in message


def test_toml_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "peftlint.toml").write_bytes(b'select = ["\xff"]\n')
    assert str(error(tmp_path)).startswith("peftlint.toml: invalid TOML: not UTF-8")


# --- CLI overrides ----------------------------------------------------------------------------


def test_cli_overrides_beat_file_values(tmp_path: Path) -> None:
    write(
        tmp_path / "peftlint.toml",
        'select = ["PEFT001"]\nignore = ["PEFT002"]\nrespect-gitignore = false\nmax-file-size = 100\n',
    )
    settings = load(tmp_path, select=("PEFT002",), respect_gitignore=True, max_file_bytes=5, jobs=3, cache=False)
    assert settings.select == ("PEFT002",)
    assert settings.ignore == ("PEFT002",)  # not given on the command line: the file's value
    assert settings.respect_gitignore is True
    assert (settings.max_file_bytes, settings.jobs, settings.cache) == (5, 3, False)


def test_none_means_not_given(tmp_path: Path) -> None:
    write(tmp_path / "peftlint.toml", 'select = ["PEFT001"]\nrespect-gitignore = false\n')
    settings = load(tmp_path, select=None, ignore=None, respect_gitignore=None, exclude=None, per_file_ignores=None)
    assert settings.select == ("PEFT001",)
    assert settings.respect_gitignore is False


def test_cli_patterns_are_relative_to_cwd(tmp_path: Path) -> None:
    write(tmp_path / "peftlint.toml", 'exclude = ["gen"]\nextend-exclude = ["old/"]\n')
    cwd = tmp_path / "sub"
    cwd.mkdir()
    root, here = slashed(tmp_path), slashed(cwd)
    settings = load(cwd, extend_exclude=["tmp/*"])
    assert settings.exclude == (root + "/**/gen",)
    assert settings.extend_exclude == (root + "/**/old/", here + "/tmp/*")  # appended
    replaced = load(cwd, exclude=["scratch"], per_file_ignores={"tests/*": ("PEFT001",)})
    assert replaced.exclude == (here + "/**/scratch",)
    assert replaced.per_file_ignores == ((here + "/tests/*", ("PEFT001",)),)


def test_cli_absolute_pattern_stays_absolute(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    settings = load(tmp_path / "x", isolated=True, exclude=[str(target)])
    assert settings.exclude == (slashed(target),)


def test_unknown_override_field_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="selct"):
        load(tmp_path, isolated=True, selct=("PEFT001",))


def test_list_overrides_become_tuples(tmp_path: Path) -> None:
    settings = load(tmp_path, isolated=True, select=["PEFT001"], ignore=["PEFT002"])
    assert settings.select == ("PEFT001",) and settings.ignore == ("PEFT002",)
    hash(settings)


# --- validation -------------------------------------------------------------------------------


def test_unknown_key_in_pyproject_with_suggestion(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.peftlint]\nselct = ["PEFT001"]\n')
    failure = error(tmp_path)
    assert str(failure) == "pyproject.toml: [tool.peftlint] unknown key 'selct' (did you mean 'select'?)"
    assert (failure.file, failure.key) == (str(tmp_path / "pyproject.toml"), "selct")


@pytest.mark.parametrize(
    ("key", "right"),
    [
        ("per_file_ignores", "per-file-ignores"),
        ("respect_gitignore", "respect-gitignore"),
        ("extend_exclude", "extend-exclude"),
        ("max_file_size", "max-file-size"),
        ("Ignore", "ignore"),
        ("exlude", "exclude"),
    ],
)
def test_unknown_key_names_the_kebab_case_spelling(tmp_path: Path, key: str, right: str) -> None:
    write(tmp_path / "peftlint.toml", f"{key} = []\n")
    assert str(error(tmp_path)) == f"peftlint.toml: unknown key {key!r} (did you mean {right!r}?)"


def test_unknown_key_without_a_close_match_lists_the_keys(tmp_path: Path) -> None:
    write(tmp_path / "peftlint.toml", "line-length = 120\n")
    message = str(error(tmp_path))
    assert message.startswith("peftlint.toml: unknown key 'line-length' (known keys: select, ignore, exclude,")


def test_tool_header_in_peftlint_toml(tmp_path: Path) -> None:
    write(tmp_path / "peftlint.toml", '[tool.peftlint]\nselect = ["PEFT001"]\n')
    assert str(error(tmp_path)) == (
        "peftlint.toml: unknown key 'tool' (keys go at the top level of this file, without a [tool.peftlint] header)"
    )


def test_peftlint_table_that_is_not_a_table(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool]\npeftlint = 3\n")
    assert str(error(tmp_path)) == "pyproject.toml: [tool.peftlint] must be a table, got 3"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("select = 3", "'select' must be a list of rule codes, got 3"),
        ('select = "PEFT001"', "'select' must be a list of rule codes, got 'PEFT001'"),
        ('ignore = ["PEFT001", 2]', "'ignore' must be a list of rule codes, got item 2"),
        ("exclude = 'build'", "'exclude' must be a list of glob patterns, got 'build'"),
        ("extend-exclude = [1]", "'extend-exclude' must be a list of glob patterns, got item 1"),
        ('exclude = [""]', "'exclude': empty pattern: ''"),
        ('extend-exclude = ["!keep.py"]', "'extend-exclude': negated patterns are not supported: '!keep.py'"),
        (
            'per-file-ignores = ["tests/*"]',
            "'per-file-ignores' must be a table of glob = [rule codes], got ['tests/*']",
        ),
        (
            'per-file-ignores = {"tests/*" = "PEFT001"}',
            "'per-file-ignores'.\"tests/*\" must be a list of rule codes, got 'PEFT001'",
        ),
        ('respect-gitignore = "yes"', "'respect-gitignore' must be true or false, got 'yes'"),
        ("respect-gitignore = 1", "'respect-gitignore' must be true or false, got 1"),
        ("max-file-size = 0", "'max-file-size' must be a positive integer (bytes), got 0"),
        ("max-file-size = -5", "'max-file-size' must be a positive integer (bytes), got -5"),
        ('max-file-size = "1MB"', "'max-file-size' must be a positive integer (bytes), got '1MB'"),
        ("max-file-size = 1.5", "'max-file-size' must be a positive integer (bytes), got 1.5"),
        ("max-file-size = true", "'max-file-size' must be a positive integer (bytes), got True"),
    ],
)
def test_wrong_types(tmp_path: Path, line: str, message: str) -> None:
    write(tmp_path / "peftlint.toml", line + "\n")
    failure = error(tmp_path)
    assert str(failure) == f"peftlint.toml: {message}"
    assert failure.key == line.split(" =")[0]


def test_wrong_type_in_pyproject_names_the_table(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.peftlint]\nselect = 3\n")
    assert str(error(tmp_path)) == "pyproject.toml: [tool.peftlint] 'select' must be a list of rule codes, got 3"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('select = ["PEFT999"]', "'select' has unknown rule code or prefix 'PEFT999'"),
        ('ignore = ["PEFT09"]', "'ignore' has unknown rule code or prefix 'PEFT09'"),
        ('ignore = ["E501"]', "'ignore' has unknown rule code or prefix 'E501'"),
        ('ignore = [""]', "'ignore' has unknown rule code or prefix ''"),
        (
            'per-file-ignores = {"tests/*" = ["PEFT099"]}',
            "'per-file-ignores'.\"tests/*\" has unknown rule code or prefix 'PEFT099'",
        ),
        (
            "[per-file-ignores]\nconftest_py = ['X1']",
            "'per-file-ignores'.conftest_py has unknown rule code or prefix 'X1'",
        ),
    ],
)
def test_unknown_rule_codes(tmp_path: Path, line: str, message: str) -> None:
    write(tmp_path / "peftlint.toml", line + "\n")
    failure = error(tmp_path)
    assert str(failure).startswith(f"peftlint.toml: {message} (")
    assert failure.key in ("select", "ignore", "per-file-ignores")


def test_unknown_rule_code_suggests_a_close_one(tmp_path: Path) -> None:
    write(tmp_path / "peftlint.toml", 'select = ["PEFT0001"]\n')
    assert str(error(tmp_path)) == (
        "peftlint.toml: 'select' has unknown rule code or prefix 'PEFT0001' (did you mean 'PEFT001'?)"
    )


def test_codes_prefixes_all_and_case(tmp_path: Path) -> None:
    write(
        tmp_path / "peftlint.toml",
        'select = ["all"]\nignore = ["peft00", "PEFT002", "PEFT002"]\nper-file-ignores = {"x.py" = ["peft"]}\n',
    )
    settings = load(tmp_path)
    assert settings.select == ("ALL",)
    assert settings.ignore == ("PEFT00", "PEFT002")
    assert settings.per_file_ignores[0][1] == ("PEFT",)


def test_every_key_maps_to_its_field(tmp_path: Path) -> None:
    config = write(
        tmp_path / "peftlint.toml",
        """
select = ["PEFT"]
ignore = ["PEFT002"]
exclude = ["generated/"]
extend-exclude = ["legacy/*.py"]
respect-gitignore = false
max-file-size = 2048

[per-file-ignores]
"tests/*" = ["PEFT001"]
"conftest.py" = ["PEFT001", "PEFT002"]
""",
    )
    root = slashed(tmp_path)
    assert load(tmp_path) == Settings(
        select=("PEFT",),
        ignore=("PEFT002",),
        exclude=(root + "/**/generated/",),
        extend_exclude=(root + "/legacy/*.py",),
        respect_gitignore=False,
        max_file_bytes=2048,
        per_file_ignores=((root + "/tests/*", ("PEFT001",)), (root + "/**/conftest.py", ("PEFT001", "PEFT002"))),
        config_file=str(config),
    )


# --- paths relative to the config file ------------------------------------------------------------


def test_paths_are_relative_to_the_config_dir_not_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[tool.peftlint]\nexclude = ["./gen/", "/top.py", "../shared/*"]\n'
        'per-file-ignores = {"tests/*" = ["PEFT001"]}\n',
    )
    cwd = tmp_path / "pkg" / "deep"
    cwd.mkdir(parents=True)
    root = slashed(tmp_path)
    settings = load(cwd)
    assert settings.exclude == (root + "/gen/", root + "/top.py", slashed(tmp_path.parent) + "/shared/*")
    assert settings == load(tmp_path)  # the same wherever it is loaded from

    # and matching does not depend on the process working directory either
    write(tmp_path / "tests" / "test_a.py", "")
    (tmp_path / "gen").mkdir()
    for where in (tmp_path, cwd, tmp_path / "tests"):
        monkeypatch.chdir(where)
        assert per_file_ignored(settings, str(tmp_path / "tests" / "test_a.py")) == {"PEFT001"}
        assert is_excluded(settings, str(tmp_path / "gen"))
        assert is_excluded(settings, str(tmp_path / "top.py"))
        assert not is_excluded(settings, str(tmp_path / "pkg" / "top.py"))
    monkeypatch.chdir(tmp_path / "tests")
    assert per_file_ignored(settings, "test_a.py") == {"PEFT001"}
    assert per_file_ignored(settings, "../pkg/test_a.py") == frozenset()


def test_config_dir_with_glob_characters(tmp_path: Path) -> None:
    project = tmp_path / "proj[1]*"
    write(project / "peftlint.toml", 'per-file-ignores = {"tests/*" = ["PEFT001"], "c?.py" = ["PEFT002"]}\n')
    settings = load(project)
    assert per_file_ignored(settings, str(project / "tests" / "a.py")) == {"PEFT001"}
    assert per_file_ignored(settings, str(project / "sub" / "c1.py")) == {"PEFT002"}
    assert per_file_ignored(settings, str(tmp_path / "proj1x" / "tests" / "a.py")) == frozenset()


# --- per-file-ignores and exclude matching ----------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Settings]:
    write(
        tmp_path / "peftlint.toml",
        """
exclude = ["build", "notebooks/"]
extend-exclude = ["**/generated_*.py"]

[per-file-ignores]
"tests/*" = ["PEFT001"]
"conftest.py" = ["PEFT002"]
"scripts/**/run_*.py" = ["PEFT00"]
"docs/" = ["ALL"]
"/setup.py" = ["PEFT002"]
""",
    )
    return tmp_path, load(tmp_path)


@pytest.mark.parametrize(
    ("relative", "codes"),
    [
        ("tests/test_x.py", {"PEFT001"}),
        ("tests/unit/test_x.py", {"PEFT001"}),  # "tests/*" matches tests/unit, and so what lies below
        ("pkg/tests/test_x.py", set()),  # anchored at the config dir
        ("conftest.py", {"PEFT002"}),
        ("pkg/sub/conftest.py", {"PEFT002"}),  # a bare name matches at any depth
        ("tests/conftest.py", {"PEFT001", "PEFT002"}),  # patterns add up
        ("scripts/run_a.py", PEFT00_CODES),  # "**/" matches no directory too; prefix PEFT00 expanded
        ("scripts/x/y/run_b.py", PEFT00_CODES),
        ("scripts/x/walk_b.py", set()),
        ("docs/conf.py", ALL_CODES),  # "docs/": a directory, and what lies below
        ("setup.py", {"PEFT002"}),
        ("pkg/setup.py", set()),  # "/setup.py" anchored
        ("train.py", set()),
    ],
)
def test_per_file_ignored(project: tuple[Path, Settings], relative: str, codes: set[str]) -> None:
    root, settings = project
    assert per_file_ignored(settings, str(root / relative)) == frozenset(codes)


def test_directory_only_pattern_does_not_match_a_file(project: tuple[Path, Settings]) -> None:
    root, settings = project
    write(root / "docs", "a file named docs\n")
    assert per_file_ignored(settings, str(root / "docs")) == frozenset()


def test_per_file_ignored_without_patterns_is_empty(tmp_path: Path) -> None:
    assert per_file_ignored(Settings(), str(tmp_path / "tests" / "a.py")) == frozenset()


@pytest.mark.parametrize(
    ("relative", "is_dir", "excluded"),
    [
        ("build", True, True),
        ("build/lib/x.py", False, True),
        ("pkg/build/x.py", False, True),
        ("builder/x.py", False, False),
        ("notebooks", True, True),
        ("notebooks", False, False),  # "notebooks/" names a directory
        ("notebooks/a.py", False, True),
        ("pkg/generated_pb2.py", False, True),
        ("generated_pb2.py", False, True),
        ("pkg/model.py", False, False),
    ],
)
def test_is_excluded(project: tuple[Path, Settings], relative: str, is_dir: bool, excluded: bool) -> None:
    root, settings = project
    assert is_excluded(settings, str(root / relative), is_dir) is excluded


def test_is_excluded_asks_the_filesystem_when_not_told(project: tuple[Path, Settings]) -> None:
    root, settings = project
    (root / "notebooks").mkdir()
    assert is_excluded(settings, str(root / "notebooks"))
    assert not is_excluded(Settings(), str(root / "build"))


# --- the Settings object ----------------------------------------------------------------------


def test_defaults_are_unchanged() -> None:
    settings = Settings()
    assert settings.select == ("ALL",)  # every installed rule, third-party rule packages included
    assert (settings.ignore, settings.exclude) == ((), ())
    assert settings.respect_gitignore is True and settings.force_exclude is False
    assert settings.max_file_bytes == DEFAULT_MAX_FILE_BYTES == 10 * 1024 * 1024
    assert (settings.jobs, settings.cache) == (1, True)
    assert (settings.extend_exclude, settings.per_file_ignores, settings.config_file) == ((), (), None)


def test_loaded_settings_are_frozen_and_hashable(project: tuple[Path, Settings]) -> None:
    root, settings = project
    assert hash(settings) == hash(load(root))
    assert settings == load(root)
    assert {settings: 1}[load(root)] == 1
    for field in fields(Settings):
        value = getattr(settings, field.name)
        assert not isinstance(value, (list, dict, set)), field.name
    with pytest.raises(FrozenInstanceError):
        settings.select = ("PEFT001",)  # type: ignore[misc]
    assert hash(settings) != hash(Settings())
