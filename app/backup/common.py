"""What both engines share: the error, a summary of a database, where a backup goes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


class BackupError(Exception):
    """A backup or restore that cannot be done, with a message for the operator."""


@dataclass(frozen=True)
class Summary:
    """What a database (or a backup of one) holds, to say what a restore replaces."""

    tables: int
    #: rows in a few tables that tell one database from another (None: not counted)
    people: int | None
    revision: str | None
    size: int | None = None
    taken_at: datetime | None = None

    def describe(self) -> str:
        parts = [f"{self.tables} tables"]
        if self.people is not None:
            parts.append(f"{self.people:,} people")
        parts.append(f"schema revision {self.revision or 'none'}")
        if self.size is not None:
            parts.append(f"{self.size / 1_048_576:,.1f} MB")
        if self.taken_at is not None:
            parts.append(f"taken {self.taken_at:%Y-%m-%d %H:%M}")
        return ", ".join(parts)


def destination(path: Path, suffix: str, now: datetime) -> Path:
    """Where a backup goes: ``path`` itself, or a dated file inside it when it is a folder
    (``pmo-pathways-20261130-0200.<suffix>``), so that a cron line can name the folder."""
    if path.is_dir():
        return path / f"pmo-pathways-{now:%Y%m%d-%H%M%S}{suffix}"
    return path


def partial_name(final: Path) -> Path:
    """The file a backup is written to before it is complete; renamed into place at the end,
    so that a backup interrupted half-way never carries the final name."""
    return final.with_name(f".{final.name}.partial-{os.getpid()}")
