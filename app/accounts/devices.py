"""Known devices: a browser where an account has logged in successfully before.

After a successful log-in the browser gets a long-lived, signed cookie naming a random
device id and the accounts that logged in there. A log-in to one of those accounts from
that browser is throttled on its own counter, apart from everyone else's attempts on the
same email address: an attacker hammering an administrator's address from elsewhere slows
only themselves, and the administrator still gets in from their usual machine. The cookie
proves nothing by itself (the password, and the code when two-step log-in is on, are
still needed) and can only be made with the app's secret key.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "pmo_device"
#: The cookie's name when served over HTTPS (the prefix makes browsers insist on Secure,
#: Path=/ and no Domain).
SECURE_COOKIE = "__Host-pmo_device"
_SALT = "pmo-known-device"
#: Accounts remembered per browser (a shared desk computer); the oldest drop off.
MAX_ACCOUNTS = 5


@dataclass(frozen=True)
class Device:
    id: str
    user_ids: tuple[int, ...] = ()

    def knows(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.user_ids


def _serializer(secret_key: str, fallbacks: Iterable[str]) -> URLSafeTimedSerializer:
    # itsdangerous signs with the last key and accepts any of them.
    return URLSafeTimedSerializer([*fallbacks, secret_key], salt=_SALT)


def read(
    value: str | None, *, secret_key: str, fallbacks: Iterable[str] = (), max_age: timedelta
) -> Device | None:
    """The device a cookie names, or None if it is missing, forged or too old."""
    if not value:
        return None
    try:
        data = _serializer(secret_key, fallbacks).loads(value, max_age=int(max_age.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("d"), str):
        return None
    users = data.get("u")
    if not isinstance(users, list) or not all(isinstance(u, int) for u in users):
        return None
    return Device(data["d"], tuple(users))


def remember(device: Device | None, user_id: int, *, secret_key: str) -> str:
    """The cookie value for this browser once ``user_id`` has logged in on it."""
    device = device or Device(secrets.token_urlsafe(16))
    users = [u for u in device.user_ids if u != user_id][-(MAX_ACCOUNTS - 1) :] + [user_id]
    return str(_serializer(secret_key, ()).dumps({"d": device.id, "u": users}))
