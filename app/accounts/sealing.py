"""Encrypting the TOTP secrets kept in the database.

A database copy (a backup, a dump handed to support) must not be enough to make anyone's
second-factor codes. The secrets are sealed with Fernet (AES-128-CBC with HMAC-SHA256) under
a key derived from the app's SECRET_KEY with HKDF, so the key is never stored beside them.
Keys listed in SECRET_KEY_FALLBACKS still open what they sealed: rotating SECRET_KEY keeps
everyone's authenticator working as long as the old key stays a fallback.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"pmo-pathways two-factor secret"


def _fernet(secret_key: str | bytes) -> Fernet:
    material = secret_key.encode() if isinstance(secret_key, str) else secret_key
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


class Sealer:
    """Seals with the current key; opens with the current key or any fallback."""

    def __init__(self, secret_key: str | bytes, fallbacks: Iterable[str | bytes] = ()):
        self._box = MultiFernet([_fernet(secret_key), *(_fernet(k) for k in fallbacks)])

    def seal(self, text: str) -> str:
        return self._box.encrypt(text.encode()).decode("ascii")

    def open(self, sealed: str) -> str | None:
        """The text, or None when no key in use sealed it (SECRET_KEY changed without
        keeping the old one as a fallback)."""
        try:
            return self._box.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            return None
