"""Password hashing and the password policy.

Argon2id with m = 64 MiB, t = 3, p = 1: above the OWASP Password Storage Cheat Sheet's
minimum (m = 19 MiB, t = 2, p = 1). Werkzeug's default scrypt (N = 2^15) is below it.
Hashes made with weaker parameters are upgraded at the next successful log-in.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 128

HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=1)

#: Verified against when the account does not exist, so both paths cost the same.
_DUMMY_HASH = HASHER.hash("no-such-account-placeholder")

#: A short list of passwords that are always guessed first; the policy refuses them.
COMMON_PASSWORDS = frozenset(
    """
    password1234 password12345 123456789012 1234567890123 qwertyuiop12 qwertyuiopas
    iloveyou1234 letmein12345 welcome12345 administrator passwordpassword 111111111111
    000000000000 abcdefghijkl abc123456789 password123! changeme1234 trustno1trustno1
    football1234 monkey123456 dragon123456 sunshine1234 princess1234 qwerty123456
    """.split()
)


def policy_problem(password: str) -> str | None:
    """Why ``password`` breaks the policy (ASVS V2.1), or None. No composition rules."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        return "This password is too easy to guess; choose another."
    return None


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check ``password``; an account without a hash still costs one verification."""
    try:
        return HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
