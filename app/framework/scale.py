"""The proficiency scale's bounds and the competency-code pattern: the one place for each.

Pure: no Flask, no ORM.
"""

from __future__ import annotations

import re

#: Levels run from 0 (not yet) to MAX_LEVEL (expert).
MAX_LEVEL = 5
#: Every level on the scale, lowest first.
LEVELS = range(MAX_LEVEL + 1)

#: A competency (or group) code: upper-case letters and digits in dash-separated parts,
#: starting with a letter, e.g. ``GOV-01``. At most CODE_MAX_LENGTH characters.
CODE_PATTERN = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$"
CODE_RE = re.compile(CODE_PATTERN)
CODE_MAX_LENGTH = 16


def on_scale(level: object) -> bool:
    """Whether ``level`` is a whole number from 0 to MAX_LEVEL."""
    return isinstance(level, int) and not isinstance(level, bool) and 0 <= level <= MAX_LEVEL


def valid_code(code: str) -> bool:
    return len(code) <= CODE_MAX_LENGTH and CODE_RE.match(code) is not None
