"""Settings: one frozen object built from defaults, a config file and CLI options.

Configuration lives in the nearest ``peftlint.toml`` (keys at the top level) or ``pyproject.toml``
(under ``[tool.peftlint]``), found by walking up from the working directory; ``peftlint.toml`` wins
in the same directory. Keys are spelled in kebab-case, as in ruff. Globs in ``exclude``,
``extend-exclude`` and ``per-file-ignores`` are relative to the config file's directory and are
stored resolved to absolute patterns (forward slashes), so matching does not depend on the working
directory. CLI overrides replace file values (``extend_exclude`` is appended to the file's).
"""

from __future__ import annotations

import os
import posixpath
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Any

from peftlint.globs import translate

DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ("ALL",)  # every rule: peftlint's own and those of installed rule packages
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    force_exclude: bool = False
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    jobs: int = 1
    cache: bool = True
    report_unused_noqa: bool = False
    # absolute glob patterns (forward slashes), excluded in addition to ``exclude``
    extend_exclude: tuple[str, ...] = ()
    # (absolute glob pattern, codes or prefixes ignored in the files it matches)
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # the config file these settings were read from (absolute), None without one
    config_file: str | None = None


class ConfigError(Exception):
    """A config file that is missing, unreadable, not TOML, or has an unknown key or a bad value."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.key = key


# config key -> Settings field
_KEYS = {
    "select": "select",
    "ignore": "ignore",
    "exclude": "exclude",
    "extend-exclude": "extend_exclude",
    "per-file-ignores": "per_file_ignores",
    "respect-gitignore": "respect_gitignore",
    "max-file-size": "max_file_bytes",
}
_PATTERN_FIELDS = ("exclude", "extend_exclude")


def find_config(start: str) -> str | None:
    """The nearest ``peftlint.toml``, or ``pyproject.toml`` with ``[tool.peftlint]``, at or above ``start``."""
    found = _locate(start)
    return found[0] if found else None


def load_settings(
    config_path: str | None,
    *,
    isolated: bool,
    cwd: str,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults, then the config file (explicit ``config_path``, else the nearest one), then ``overrides``.

    ``overrides`` maps Settings field names to CLI values (None: not given). Patterns in
    ``exclude``/``extend_exclude``/``per_file_ignores`` overrides are relative to ``cwd`` (absolute
    paths stay absolute). Raises ConfigError for every problem with a config file.
    """
    cwd = os.path.abspath(cwd)
    settings = Settings()
    if isolated and config_path is not None:
        raise ConfigError("--config cannot be used with --isolated")
    if not isolated:
        if config_path is not None:
            path = os.path.abspath(os.path.join(cwd, config_path))
            located: tuple[str, dict[str, Any]] | None = (path, _read_explicit(path, cwd))
        else:
            located = _locate(cwd, cwd)
        if located is not None:
            path, table = located
            settings = replace(_from_table(table, path, cwd), config_file=path)
    return _apply_overrides(settings, overrides or {}, cwd)


def is_excluded(settings: Settings, path: str, is_dir: bool | None = None) -> bool:
    """Whether ``path`` (or a directory above it) matches ``exclude`` or ``extend_exclude``."""
    return matches_any((*settings.exclude, *settings.extend_exclude), path, is_dir)


def per_file_ignored(settings: Settings, path: str) -> frozenset[str]:
    """The rule codes (concrete, prefixes expanded) that ``per-file-ignores`` disables for ``path``."""
    if not settings.per_file_ignores:
        return frozenset()
    return _per_file_ignored(settings.per_file_ignores, _absolute(path), os.path.isdir(path))


def matches_any(patterns: Sequence[str], path: str, is_dir: bool | None = None) -> bool:
    """Whether an absolute glob pattern matches ``path`` or one of the directories above it."""
    if not patterns:
        return False
    absolute = _absolute(path)
    if is_dir is None:
        is_dir = os.path.isdir(path)
    return any(_pattern_matches(pattern, absolute, is_dir) for pattern in patterns)


# --- finding and reading config files ---------------------------------------------------------


def _locate(start: str, cwd: str | None = None) -> tuple[str, dict[str, Any]] | None:
    directory = os.path.abspath(start)
    if not os.path.isdir(directory):
        directory = os.path.dirname(directory)
    cwd = cwd or directory
    while True:
        candidate = os.path.join(directory, "peftlint.toml")
        if os.path.isfile(candidate):
            return candidate, _read_toml(candidate, cwd)
        candidate = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(candidate):
            table = _pyproject_table(candidate, cwd, required=False)
            if table is not None:
                return candidate, table
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _read_explicit(path: str, cwd: str) -> dict[str, Any]:
    if not os.path.exists(path):
        raise ConfigError(f"{_display(path, cwd)}: config file not found", file=path)
    if os.path.isdir(path):
        raise ConfigError(f"{_display(path, cwd)}: config file is a directory", file=path)
    if os.path.basename(path) == "pyproject.toml":
        table = _pyproject_table(path, cwd, required=True)
        assert table is not None
        return table
    return _read_toml(path, cwd)


def _pyproject_table(path: str, cwd: str, *, required: bool) -> dict[str, Any] | None:
    if not required and b"peftlint" not in _read_bytes(path, cwd):
        return None  # cheap: an unrelated (even broken) pyproject.toml is not parsed
    document = _read_toml(path, cwd)
    tool = document.get("tool")
    if not isinstance(tool, dict) or "peftlint" not in tool:
        if required:
            raise ConfigError(f"{_display(path, cwd)}: no [tool.peftlint] table", file=path)
        return None
    table = tool["peftlint"]
    if not isinstance(table, dict):
        raise ConfigError(f"{_display(path, cwd)}: [tool.peftlint] must be a table, got {table!r}", file=path)
    return table


def _read_bytes(path: str, cwd: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError(f"{_display(path, cwd)}: cannot read config file: {reason}", file=path) from error


def _read_toml(path: str, cwd: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib

    data = _read_bytes(path, cwd)
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(f"{_display(path, cwd)}: invalid TOML: not UTF-8 ({error.reason})", file=path) from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{_display(path, cwd)}: invalid TOML: {error}", file=path) from error


def _display(path: str, cwd: str) -> str:
    try:
        return os.path.relpath(path, cwd)
    except ValueError:  # another drive on Windows
        return path


# --- validating values ------------------------------------------------------------------------


def _from_table(table: Mapping[str, Any], path: str, cwd: str) -> Settings:
    where = _display(path, cwd) + ":" + (" [tool.peftlint]" if os.path.basename(path) == "pyproject.toml" else "")
    base = _slashed(os.path.dirname(path))
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _KEYS:
            raise ConfigError(f"{where} unknown key {key!r}{_suggest(key, path)}", file=path, key=key)
        name = _KEYS[key]

        def fail(problem: str, key: str = key) -> ConfigError:
            return ConfigError(f"{where} {problem}", file=path, key=key)

        if name in ("select", "ignore"):
            values[name] = _codes(value, f"{key!r}", fail)
        elif name in _PATTERN_FIELDS:
            patterns = _strings(value, f"{key!r}", "a list of glob patterns", fail)
            values[name] = tuple(_resolve(pattern, base, f"{key!r}", fail) for pattern in patterns)
        elif name == "per_file_ignores":
            if not isinstance(value, dict):
                raise fail(f"{key!r} must be a table of glob = [rule codes], got {value!r}")
            values[name] = tuple(
                (
                    _resolve(pattern, base, f"{key!r}", fail),
                    _codes(codes, f"{key!r}.{_toml_key(pattern)}", fail),
                )
                for pattern, codes in value.items()
            )
        elif name == "respect_gitignore":
            if not isinstance(value, bool):
                raise fail(f"{key!r} must be true or false, got {value!r}")
            values[name] = value
        elif name == "max_file_bytes":
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise fail(f"{key!r} must be a positive integer (bytes), got {value!r}")
            values[name] = value
    return Settings(**values)


def _suggest(key: str, path: str) -> str:
    if key == "tool" and os.path.basename(path) != "pyproject.toml":
        return " (keys go at the top level of this file, without a [tool.peftlint] header)"
    kebab = key.replace("_", "-").lower()
    if kebab in _KEYS:
        return f" (did you mean {kebab!r}?)"
    import difflib

    close = difflib.get_close_matches(kebab, list(_KEYS), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(_KEYS)})"


def _strings(value: Any, name: str, what: str, fail: Any) -> list[str]:
    if not isinstance(value, list):
        raise fail(f"{name} must be {what}, got {value!r}")
    for item in value:
        if not isinstance(item, str):
            raise fail(f"{name} must be {what}, got item {item!r}")
    return value


def _codes(value: Any, name: str, fail: Any) -> tuple[str, ...]:
    from peftlint.rules import all_rules, known_pattern

    known = [rule.code for rule in all_rules()]
    codes = []
    for item in _strings(value, name, "a list of rule codes", fail):
        code = item.strip().upper()
        if not known_pattern(code):
            import difflib

            close = difflib.get_close_matches(code, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
            raise fail(f"{name} has unknown rule code or prefix {item!r}{hint}")
        codes.append(code)
    return tuple(dict.fromkeys(codes))


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- CLI overrides ----------------------------------------------------------------------------


def _apply_overrides(settings: Settings, overrides: Mapping[str, Any], cwd: str) -> Settings:
    names = {f.name for f in fields(Settings)}
    changes: dict[str, Any] = {}
    base = _slashed(cwd)

    def fail(problem: str) -> ConfigError:
        return ConfigError(f"command line: {problem}")

    for name, value in overrides.items():
        if name not in names:
            raise ValueError(f"unknown Settings field {name!r} in overrides")
        if value is None:
            continue
        if name in _PATTERN_FIELDS:
            resolved = tuple(_resolve(p, base, f"--{name.replace('_', '-')}", fail, cli=True) for p in value)
            changes[name] = (*settings.extend_exclude, *resolved) if name == "extend_exclude" else resolved
        elif name == "per_file_ignores":
            pairs = value.items() if isinstance(value, Mapping) else value
            changes[name] = tuple(
                (_resolve(pattern, base, "--per-file-ignores", fail, cli=True), tuple(codes))
                for pattern, codes in pairs
            )
        elif isinstance(value, (list, set, frozenset)):
            changes[name] = tuple(value)
        else:
            changes[name] = value
    return replace(settings, **changes) if changes else settings


# --- glob patterns ----------------------------------------------------------------------------


def _slashed(path: str) -> str:
    return os.path.abspath(path).replace(os.sep, "/")


def _absolute(path: str) -> str:
    return os.path.normpath(os.path.abspath(path)).replace(os.sep, "/")


def _escape(literal: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", literal)


def _resolve(pattern: str, base: str, name: str, fail: Any, *, cli: bool = False) -> str:
    """A gitignore-style pattern relative to ``base`` -> an absolute glob pattern.

    ``tests/*`` and ``/conftest.py`` are anchored at ``base``; a bare name such as ``conftest.py``
    matches at any depth below it; a trailing ``/`` matches directories only. On the command line an
    absolute path is taken as it is.
    """
    original = pattern
    if os.sep == "\\":
        pattern = pattern.replace("\\", "/")
    if not pattern.strip() or pattern.startswith("!"):
        what = "negated patterns are not supported" if pattern.startswith("!") else "empty pattern"
        raise fail(f"{name}: {what}: {original!r}")
    directory_only = pattern.endswith("/")
    body = pattern.rstrip("/")
    suffix = "/" if directory_only else ""
    if cli and os.path.isabs(original):
        return posixpath.normpath(body or "/") + suffix
    anchored = "/" in body  # "./gen" too: anchored, as written
    while body.startswith("./"):
        body = body[2:]
    root = _escape(base).rstrip("/")
    if body in ("", "."):
        return (root or "/") + suffix
    if anchored:
        return posixpath.normpath(root + "/" + body.lstrip("/")) + suffix
    return root + "/**/" + body + suffix


def _pattern_matches(pattern: str, absolute: str, is_dir: bool) -> bool:
    regex, directory_only = _compile(pattern)
    match = regex.match(absolute)
    if match is None:
        return False
    # a matched directory covers everything below it; "build/" names only a directory
    return is_dir or not directory_only or match.group("below") is not None


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> tuple[re.Pattern[str], bool]:
    directory_only = pattern.endswith("/") and pattern != "/"
    body = pattern.rstrip("/") if directory_only else pattern
    return re.compile(f"^{translate(body)}(?P<below>/.*)?$"), directory_only


@lru_cache(maxsize=4096)
def _per_file_ignored(
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...], absolute: str, is_dir: bool
) -> frozenset[str]:
    from peftlint.rules import all_rules, code_matches

    known = [rule.code for rule in all_rules()]
    ignored: set[str] = set()
    for pattern, codes in per_file_ignores:
        if _pattern_matches(pattern, absolute, is_dir):
            for code in codes:
                ignored.update(k for k in known if code_matches(code, k))
    return frozenset(ignored)
