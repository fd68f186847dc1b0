"""The command line: parse options, call the library, pick a reporter, choose the exit code."""

from __future__ import annotations

import sys

import click

from peftlint import __version__

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


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", multiple=True, metavar="CODES", help="Rule codes or prefixes to enable (comma-separated).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Rule codes or prefixes to disable (comma-separated).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--exit-zero", is_flag=True, help="Exit with 0 even when problems are found.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the results cache.")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0, help="Worker processes (0: automatic).")
@click.option("--force-exclude", is_flag=True, help="Apply exclusions and .gitignore to paths given explicitly too.")
@click.option("--no-respect-gitignore", is_flag=True, help="Lint files that .gitignore ignores.")
def check(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    output_format: str,
    exit_zero: bool,
    no_cache: bool,
    jobs: int,
    force_exclude: bool,
    no_respect_gitignore: bool,
) -> None:
    """Lint PATHS (files or directories; default: the current directory)."""
    from peftlint.config import Settings
    from peftlint.engine import lint_paths
    from peftlint.report import REPORTERS
    from peftlint.rules import all_rules

    known = {rule.code for rule in all_rules()}
    for code in (*_codes(select), *_codes(ignore)):
        if code != "ALL" and not any(k.startswith(code) for k in known):
            raise click.BadParameter(f"unknown rule code or prefix {code!r}", param_hint="--select/--ignore")
    settings = Settings(
        select=_codes(select) or ("PEFT",),
        ignore=_codes(ignore),
        respect_gitignore=not no_respect_gitignore,
        force_exclude=force_exclude,
        jobs=jobs,
        cache=not no_cache,
    )
    from peftlint.cache import CACHE_DIRECTORY

    result = lint_paths(paths or (".",), settings, cache_dir=CACHE_DIRECTORY)
    if output_format == "text":
        output = REPORTERS["text"](result, color=sys.stdout.isatty())
    else:
        output = REPORTERS[output_format](result)
    click.echo(output, nl=False)
    for error in result.errors:
        click.echo(f"peftlint: error: {error.path}: {error.reason}", err=True)
    if result.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if result.findings and not exit_zero else EXIT_CLEAN)


@main.command()
def clean() -> None:
    """Remove the results cache (.peftlint_cache) of the current directory."""
    from peftlint.cache import CACHE_DIRECTORY, clean as remove

    click.echo(f"Removed {CACHE_DIRECTORY}/" if remove(CACHE_DIRECTORY) else f"No {CACHE_DIRECTORY}/ here.")
