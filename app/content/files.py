"""Reading content files: YAML with the line of every key path, for error messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator


@dataclass(frozen=True)
class ContentError:
    file: str
    path: str  # key path, e.g. roles[3].p3_level
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '(top)'}: {self.message}"


class ContentInvalid(Exception):
    def __init__(self, errors: list[ContentError]):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


def _lines(node, path: str, out: dict[str, int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = f"{path}.{key.value}" if path else str(key.value)
            out[child] = key.start_mark.line + 1
            _lines(value, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, f"{path}[{i}]", out)


@dataclass
class ContentFile:
    """A parsed file plus the line of each key path."""

    name: str
    data: object
    lines: dict[str, int]

    def error(self, path: str, message: str) -> ContentError:
        """An error at ``path``, with the line of the nearest key that exists in the file."""
        probe = path
        while probe and probe not in self.lines:
            shorter = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", probe)
            probe = "" if shorter == probe else shorter
        return ContentError(self.name, path, self.lines.get(probe), message)


def read_yaml(path: Path, display_name: str | None = None) -> ContentFile:
    name = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = ContentError(name, "", None, f"cannot read the file: {exc}")
        raise ContentInvalid([problem]) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise ContentInvalid([ContentError(name, "", line, f"not valid YAML: {exc}")]) from exc
    lines: dict[str, int] = {}
    if node is not None:
        _lines(node, "", lines)
    return ContentFile(name, data, lines)


def schema_errors(content: ContentFile, schema: dict) -> list[ContentError]:
    """Structural errors, each with the key path and line it concerns."""
    errors = []
    for err in sorted(
        Draft202012Validator(schema).iter_errors(content.data),
        key=lambda e: list(map(str, e.absolute_path)),
    ):
        path = ""
        for part in err.absolute_path:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        errors.append(content.error(path, err.message))
    return errors
