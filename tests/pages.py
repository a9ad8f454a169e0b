"""Pages compared as the user sees them: what differs on every answer blanked.

A refusal must not tell a hidden record from a missing one, so tests compare the two pages
whole; only the CSRF token (one per session and form) and the incident reference an error
page quotes (one per answer, app/__init__.py) may differ.
"""

from __future__ import annotations

import re

_VOLATILE = [
    re.compile(r'name="csrf_token"[^>]*value="[^"]*"'),
    re.compile(r'value="[^"]*"[^>]*name="csrf_token"'),
    re.compile(r'data-testid="incident">[0-9a-f]+<'),
]


def normalised(text: str) -> str:
    """A page with what differs on every request (CSRF tokens, incident ids) blanked."""
    for pattern in _VOLATILE:
        text = pattern.sub("", text)
    return text
