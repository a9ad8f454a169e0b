"""C3: the keys each JSON answer of the app may carry (an allow-list), and the keys no JSON
answer ever carries. test_mass_assignment.py posts the JSON-answering forms; the GET crawl
in test_csrf_sweep.py checks every JSON it meets, so a new JSON route fails until its keys
are reviewed here."""

from __future__ import annotations

import json
import re
from typing import Any

#: endpoint -> the keys its JSON may have (nested documents: the top level).
JSON_KEYS: dict[str, set[str]] = {
    "assessment.autosave": {"ok", "revision", "message", "closed", "stale"},
    "staff_import.mapping_json": {"kind", "columns", "value_maps"},
    "privacy.my_data_download": {
        "format",
        "format_version",
        "generated_at",
        "person_id",
        "kinds",
        "data",
        "files_in_zip_download",
    },
}
#: Parts of a key that never appear anywhere in a JSON answer, however deep (a recovery
#: code's dates may be sent, never the code or its hash; "code" alone is a certificate's
#: public verification code).
NEVER_SENT = re.compile(r"hash|secret|^password$|^token$|totp|otp_")


def keys_anywhere(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_anywhere(v)}
    return set()


def assert_json_allowed(endpoint: str, body: bytes) -> dict:
    assert endpoint in JSON_KEYS, f"{endpoint} answers JSON: add its keys to JSON_KEYS"
    document = json.loads(body)
    assert isinstance(document, dict)
    assert set(document) <= JSON_KEYS[endpoint], (endpoint, set(document) - JSON_KEYS[endpoint])
    secret = {k for k in keys_anywhere(document) if NEVER_SENT.search(k.lower())}
    assert not secret, (endpoint, secret)
    assert "$argon2" not in body.decode(), f"{endpoint} sends a password hash"
    return document
