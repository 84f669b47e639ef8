"""Passwords: argon2id hashes, the rules a new password must meet, temporary passwords.

Hashes are argon2id with OWASP's first recommended setting (46 MiB, 1 pass, 1 lane: about
50 ms here). werkzeug scrypt hashes from before are still verified, and `needs_rehash` says
when a stored hash should be replaced (scrypt, or argon2 with other parameters) at sign-in.
"""
from __future__ import annotations

import gzip
import secrets
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash

from registry.i18n import N_

MIN_LENGTH = 12
MAX_LENGTH = 256  # long passphrases are welcome; this only bounds the work of hashing
# Lowercased passwords of 12+ characters from the SecLists top 1,000,000 (licence beside it).
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt.gz")
TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread

hasher = PasswordHasher(time_cost=1, memory_cost=47104, parallelism=1)


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """True when `password` matches `stored` (argon2id, or a werkzeug hash from before)."""
    if stored.startswith("$argon2"):
        try:
            return hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    return check_password_hash(stored, password)


def needs_rehash(stored: str) -> bool:
    return not stored.startswith("$argon2") or hasher.check_needs_rehash(stored)


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(24))


def waste_a_verification(password: str) -> None:
    """The cost of one verification, for an unknown e-mail address (no timing difference)."""
    verify_password(_dummy_hash(), password)


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as fh:
        return frozenset(line.rstrip("\n") for line in fh)


def password_problem(password: str, email: str) -> tuple[str, dict[str, object]] | None:
    """Why `password` may not be used by the account `email` (a message to translate and its
    values), or None. The same rules for a new account, a change and a reset."""
    if len(password) < MIN_LENGTH:
        return N_("Use at least %(count)s characters."), {"count": MIN_LENGTH}
    if len(password) > MAX_LENGTH:
        return N_("Use at most %(count)s characters."), {"count": MAX_LENGTH}
    lowered = password.lower()
    if len(set(lowered)) <= 2 or _is_repetition(lowered):
        return N_("This password is a repeated pattern. Choose a longer phrase that is hard to guess."), {}
    local_part = email.lower().partition("@")[0]
    if email and (email.lower() in lowered or (len(local_part) >= 4 and local_part in lowered)):
        return N_("The password must not contain your e-mail address."), {}
    if lowered in common_passwords() or lowered.strip() in common_passwords():
        return N_("This password is one of the most common passwords. Choose another."), {}
    return None


def _is_repetition(text: str) -> bool:
    """`abcabcabcabc`, `121212121212`: a short unit said again and again."""
    return any(len(text) % size == 0 and text == text[:size] * (len(text) // size) for size in range(1, len(text) // 2 + 1))


def temporary_password() -> str:
    """A random one-time password an admin hands over (four groups of four, about 79 bits)."""
    return "-".join("".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(4)) for _ in range(4))
