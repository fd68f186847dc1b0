"""The command line: parse options, call the library, pick a reporter, choose the exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import click

from peftlint.report import ALIASES, FORMATS
from peftlint.version import __version__

if TYPE_CHECKING:
    from peftlint.config import Settings
    from peftlint.engine import LintResult
    from peftlint.findings import Finding
    from peftlint.snippets import SourceLines
    from peftlint.verify import Verdict

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _codes(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(code.strip().upper() for value in values for code in value.split(",") if code.strip())


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(__version__, "--version", prog_name="peftlint")
@click.pass_context
def main(context: click.Context) -> None:
    """peftlint: find Hugging Face PEFT misuse that fails silently."""
    if context.invoked_subcommand is None:
        click.echo(context.get_help())


def use_color(isatty: bool, environ: Mapping[str, str]) -> bool:
    """Colour on a terminal; ``NO_COLOR`` (any non-empty value) turns it off, else ``FORCE_COLOR`` on."""
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return isatty


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", multiple=True, metavar="CODES", help="Rule codes or prefixes to enable (comma-separated).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Rule codes or prefixes to disable (comma-separated).")
@click.option(
    "--output-format",
    "--format",
    "output_format",
    type=click.Choice([*FORMATS, *ALIASES]),
    default="full",
    show_default=True,
    help="full: source snippets; concise: one line per finding (text is its old name).",
)
@click.option("--output-file", "-o", type=click.Path(dir_okay=False, writable=True), help="Write the report here.")
@click.option("--statistics", is_flag=True, help="Print the number of findings per rule instead of the findings.")
@click.option("--exit-zero", is_flag=True, help="Exit with 0 even when problems are found.")
@click.option("--report-unused-noqa", is_flag=True, help="Report suppression comments that matched nothing (PEFT100).")
@click.option("--fix", is_flag=True, help="Apply safe fixes in place.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply fixes that change behaviour beyond the finding.")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing (exit 1 if any).")
@click.option("--stdin-filename", metavar="PATH", help="The name of the file read from stdin (PATH '-').")
@click.option("--verify", is_flag=True, help="Confirm each finding on real torch/transformers/peft models.")
@click.option("--verify-model", metavar="PATH_OR_ID", help="With --verify: the model to rebuild findings on.")
@click.option("--allow-network", is_flag=True, help="With --verify: let transformers reach the Hugging Face Hub.")
@click.option(
    "--verify-small",
    is_flag=True,
    help="With --verify: rebuild well-known models (gpt2, bert...) at a tiny size of their own architecture.",
)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Read settings from this TOML file.")
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
@click.option("--exclude", multiple=True, metavar="PATTERN", help="Glob of paths to exclude (replaces the config's).")
@click.option("--extend-exclude", multiple=True, metavar="PATTERN", help="Globs to exclude, on top of the config's.")
@click.option("--max-file-size", type=click.IntRange(min=1), metavar="BYTES", help="Skip larger files, with a message.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the results cache.")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0, help="Worker processes (0: automatic).")
@click.option("--force-exclude", is_flag=True, help="Apply exclusions and .gitignore to paths given explicitly too.")
@click.option("--no-respect-gitignore", is_flag=True, help="Lint files that .gitignore ignores.")
def check(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    output_format: str,
    output_file: str | None,
    statistics: bool,
    exit_zero: bool,
    report_unused_noqa: bool,
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    stdin_filename: str | None,
    verify: bool,
    verify_model: str | None,
    allow_network: bool,
    verify_small: bool,
    config_path: str | None,
    isolated: bool,
    exclude: tuple[str, ...],
    extend_exclude: tuple[str, ...],
    max_file_size: int | None,
    no_cache: bool,
    jobs: int,
    force_exclude: bool,
    no_respect_gitignore: bool,
) -> None:
    """Lint PATHS (files or directories; default: the current directory; '-' reads stdin)."""
    from peftlint.config import ConfigError, load_settings
    from peftlint.engine import lint_paths
    from peftlint.rules import known_pattern

    for code in (*_codes(select), *_codes(ignore)):
        if not known_pattern(code):
            raise click.BadParameter(f"unknown rule code or prefix {code!r}", param_hint="--select/--ignore")
    overrides = {
        "select": _codes(select) or None,
        "ignore": _codes(ignore) or None,
        "respect_gitignore": False if no_respect_gitignore else None,
        "force_exclude": True if force_exclude else None,
        "jobs": jobs,
        "cache": False if no_cache else None,
        "exclude": exclude or None,
        "extend_exclude": extend_exclude or None,
        "report_unused_noqa": True if report_unused_noqa else None,
        "max_file_bytes": max_file_size,
    }
    try:
        settings = load_settings(config_path, isolated=isolated, cwd=os.getcwd(), overrides=overrides)
    except ConfigError as error:
        click.echo(f"peftlint: error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    cache_dir = _cache_directory(settings)
    if verify:
        from peftlint.verify import verify_available

        hint = verify_available()
        if hint is not None:
            click.echo(f"peftlint: error: --verify needs torch, transformers and peft: {hint}", err=True)
            sys.exit(EXIT_ERROR)
    if "-" in paths:
        if len(paths) != 1:
            raise click.UsageError("'-' (stdin) cannot be combined with other paths")
        _check_stdin(settings, stdin_filename or "-", output_format, fix or unsafe_fixes, unsafe_fixes, diff, exit_zero)
        return
    result = lint_paths(paths or (".",), settings, cache_dir=cache_dir)
    fixed_count = 0
    if fix or unsafe_fixes or diff:
        from peftlint.fix import plan_fixes, write

        planned, failed = plan_fixes(result.findings, unsafe=unsafe_fixes)
        for path, reason in failed:
            click.echo(f"peftlint: error: {path}: fix not applied: {reason}", err=True)
        if diff:
            click.echo("".join(fixed.diff() for fixed in planned), nl=False)
            count = sum(len(fixed.applied) for fixed in planned)
            click.echo(f"Would fix {count} problem{'s' if count != 1 else ''}.", err=True)
            sys.exit(EXIT_ERROR if failed else EXIT_FINDINGS if planned else EXIT_CLEAN)
        for fixed in planned:
            write(fixed)
        fixed_count = sum(len(fixed.applied) for fixed in planned)
        if planned:
            result = lint_paths(paths or (".",), settings, cache_dir=cache_dir)
    verdicts = _verify(result.findings, verify_model, allow_network, verify_small) if verify else None
    _report(result, output_format, output_file, statistics, fixed_count, verdicts)
    if result.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if result.findings and not exit_zero else EXIT_CLEAN)


def _cache_directory(settings: Settings) -> str:
    """Beside the configuration file when there is one (the project root), else here."""
    from peftlint.cache import CACHE_DIRECTORY

    config_file = settings.config_file
    return os.path.join(os.path.dirname(config_file), CACHE_DIRECTORY) if config_file else CACHE_DIRECTORY


def _verify(findings: Sequence[Finding], model: str | None, allow_network: bool, small: bool) -> dict[Finding, Verdict]:
    from peftlint.verify import VerifyOptions, verify_findings

    options = VerifyOptions(model=model, allow_network=allow_network, small=small, progress=sys.stderr.isatty())
    verdicts = verify_findings(findings, options)
    return dict(zip(findings, verdicts, strict=True))


def _sources(
    result: LintResult, output_format: str, statistics: bool, contents: Mapping[str, bytes] | None = None
) -> dict[str, SourceLines] | None:
    """The lines the report quotes, read by their real names (before ``printable``)."""
    from peftlint.report import QUOTING
    from peftlint.snippets import read_sources

    if statistics or ALIASES.get(output_format, output_format) not in QUOTING:
        return None
    return read_sources(result.findings, contents)


def printable_name(path: str) -> str:
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def printable(result: LintResult) -> LintResult:
    """File names that are not valid UTF-8 (held with surrogate escapes) shown with U+FFFD, so
    every report stays encodable: the files themselves were already read and fixed by their real names."""
    from dataclasses import replace

    name = printable_name

    if all(name(path) == path for path in (*result.files, *(e.path for e in result.errors))):
        return result
    findings = tuple(
        replace(
            f,
            path=name(f.path),
            related=tuple(replace(r, path=name(r.path)) for r in f.related),
            fix=None
            if f.fix is None
            else replace(f.fix, edits=tuple(replace(e, path=name(e.path)) for e in f.fix.edits)),
        )
        for f in result.findings
    )
    errors = tuple(replace(e, path=name(e.path)) for e in result.errors)
    return replace(result, findings=findings, errors=errors, files=tuple(name(p) for p in result.files))


def _report(
    result: LintResult,
    output_format: str,
    output_file: str | None,
    statistics: bool,
    fixed: int,
    verdicts: dict[Finding, Verdict] | None = None,
) -> None:
    from peftlint.report import render

    sources = _sources(result, output_format, statistics)
    result = printable(result)
    if sources:
        sources = {printable_name(path): lines for path, lines in sources.items()}
    color = output_file is None and use_color(sys.stdout.isatty(), os.environ)
    output = render(
        result, output_format, statistics=statistics, color=color, fixed=fixed, verdicts=verdicts, sources=sources
    )
    if output_file is not None:
        try:  # as ruff does, the report's directory is made when missing (CI writes into fresh ones)
            os.makedirs(os.path.dirname(os.path.abspath(output_file)), exist_ok=True)
            with open(output_file, "w", encoding="utf-8") as handle:
                handle.write(output)
        except OSError as failure:
            click.echo(f"peftlint: error: cannot write {output_file}: {failure.strerror or failure}", err=True)
            sys.exit(EXIT_ERROR)
    else:
        click.echo(output, nl=False, color=color)
    for error in result.errors:
        click.echo(f"peftlint: error: {error.path}: {error.reason}", err=True)


def _check_stdin(
    settings: Settings, filename: str, output_format: str, fix: bool, unsafe: bool, diff: bool, exit_zero: bool
) -> None:
    """For editors: lint stdin as if it were FILENAME; with --fix, print the fixed source."""
    from peftlint.engine import lint_source
    from peftlint.fix import fix_text

    data = sys.stdin.buffer.read()
    result = lint_source(data, filename, settings)
    if fix or diff:
        fixed, remaining = fix_text(data, filename, result, unsafe=unsafe, settings=settings)
        if diff:
            import difflib

            before = data.decode("utf-8", errors="replace").splitlines(keepends=True)
            after = fixed.decode("utf-8", errors="replace").splitlines(keepends=True)
            click.echo("".join(difflib.unified_diff(before, after, f"a/{filename}", f"b/{filename}")), nl=False)
            sys.exit(EXIT_FINDINGS if fixed != data else EXIT_CLEAN)
        sys.stdout.buffer.write(fixed)
        sys.stdout.flush()
        result = remaining
        output = None
    else:
        from peftlint.report import render

        sources = _sources(result, output_format, False, {filename: data})
        color = use_color(sys.stdout.isatty(), os.environ)
        output = render(result, output_format, statistics=False, color=color, fixed=0, sources=sources)
        click.echo(output, nl=False, color=color)
    for error in result.errors:
        click.echo(f"peftlint: error: {error.path}: {error.reason}", err=True)
    if result.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if result.findings and not exit_zero else EXIT_CLEAN)


@main.command()
def clean() -> None:
    """Remove the results cache (.peftlint_cache) of the current directory."""
    from peftlint.cache import CACHE_DIRECTORY
    from peftlint.cache import clean as remove

    click.echo(f"Removed {CACHE_DIRECTORY}/" if remove(CACHE_DIRECTORY) else f"No {CACHE_DIRECTORY}/ here.")


@main.command(name="rules")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_rules(output_format: str) -> None:
    """List every rule: code, name, severity, summary."""
    import json

    from peftlint.rules import all_rules

    rules = all_rules()
    if output_format == "json":
        items = [
            {"code": r.code, "name": r.name, "severity": r.severity.value, "summary": r.summary, "fix": r.fix_safety}
            for r in rules
        ]
        click.echo(json.dumps(items, indent=2))
        return
    width = max(len(r.name) for r in rules)
    for rule in rules:
        click.echo(f"{rule.code}  {rule.name:<{width}}  {rule.severity.value:<7}  {rule.summary}")


@main.command()
@click.argument("code")
def explain(code: str) -> None:
    """Print a rule's documentation: what it finds, why it is wrong, an example, the fix."""
    from peftlint.rules import rule_by_code

    rule = rule_by_code(code)
    if rule is None:
        raise click.BadParameter(f"no rule {code!r}; `peftlint rules` lists them", param_hint="CODE")
    click.echo(f"# {rule.code} {rule.name}\n\n{rule.summary}\n\n{rule.documentation()}")
