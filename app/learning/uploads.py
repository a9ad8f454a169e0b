"""Uploaded copies of external certificates: checked, stored and found again.

A file is accepted by what it is, never by what it claims: its type is read from its first
bytes (``filetype``), and only PDF, PNG, JPEG and WEBP are kept. The name and content type
the browser sent are ignored (the original name is kept for display only). The size is
counted while the stream is read, so a file over the limit is refused without ever being
held whole or written. Accepted files are stored in the configured upload folder, which
lies outside the web root, under a random name; they are served only by the guarded
download view.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import filetype  # type: ignore[import-untyped]

from app.errors import DomainError

#: The largest copy accepted.
MAX_BYTES = 5 * 1024 * 1024
MAX_TEXT = "5 MB"
CHUNK = 64 * 1024

#: What a copy may be: content type -> the extension it is stored under.
ALLOWED = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
}
ALLOWED_TEXT = "a PDF, or a PNG, JPEG or WEBP image"
#: A stored name: 32 random hex characters and one of the allowed extensions.
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(pdf|png|jpg|webp)$")


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed the checks, still in memory."""

    data: bytes
    content_type: str
    extension: str
    original_name: str


@dataclass(frozen=True)
class StoredFile:
    name: str  # the random name under the upload folder
    content_type: str
    size: int
    original_name: str


def _read_limited(stream: BinaryIO, limit: int, field: str) -> bytes:
    """The whole stream, or a DomainError as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise DomainError(
                f"The file is larger than {MAX_TEXT}. Upload a smaller copy (a scan at a "
                "lower resolution, or a PDF saved for screen).",
                field=field,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def display_name(name: str | None) -> str:
    """The browser's file name, kept only to show the learner which file they sent: the
    last path segment, control characters dropped, at most 255 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    return "".join(ch for ch in base if ch.isprintable()).strip()[:255]


def check_upload(
    stream: BinaryIO, original_name: str | None = None, *, field: str = "file"
) -> CheckedFile:
    """Read and check an upload: at most MAX_BYTES, not empty, and by its content one of
    the ALLOWED types. Raises DomainError (at ``field``) otherwise; nothing is written."""
    data = _read_limited(stream, MAX_BYTES, field)
    if not data:
        raise DomainError("The file is empty. Choose the certificate's file again.", field=field)
    kind = filetype.guess(data[:8192])
    if kind is None or kind.mime not in ALLOWED:
        raise DomainError(
            f"This file is not {ALLOWED_TEXT} (its content was checked, whatever its name "
            "says). Save the certificate as a PDF or take a photo of it.",
            field=field,
        )
    return CheckedFile(
        data=data,
        content_type=kind.mime,
        extension=ALLOWED[kind.mime],
        original_name=display_name(original_name),
    )


def save(folder: str | Path, checked: CheckedFile) -> StoredFile:
    """Write a checked file into ``folder`` under a new random name (never overwriting)."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"{secrets.token_hex(16)}.{checked.extension}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(root / name, flags, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(checked.data)
    return StoredFile(
        name=name,
        content_type=checked.content_type,
        size=len(checked.data),
        original_name=checked.original_name,
    )


def stored_path(folder: str | Path, name: str | None) -> Path | None:
    """Where a stored file lies, or None when ``name`` is not a name this module gives (so
    no stored name can point outside the folder) or the file is gone."""
    if not name or not STORED_NAME.fullmatch(name):
        return None
    path = Path(folder) / name
    return path if path.is_file() else None


def remove(folder: str | Path, name: str | None) -> None:
    """Delete a stored file (when the record that named it was not saved after all)."""
    path = stored_path(folder, name)
    if path is not None:
        path.unlink(missing_ok=True)
