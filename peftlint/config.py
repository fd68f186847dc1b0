"""Settings: one frozen object built from defaults and CLI options."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ("PEFT",)
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    force_exclude: bool = False
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    jobs: int = 1
    cache: bool = True
