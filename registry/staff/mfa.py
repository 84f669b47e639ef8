"""TOTP (RFC 6238: 6 digits, 30-second steps, SHA-1, as every authenticator app reads it) and
one-time recovery codes. Plain functions of plain data; the services store the results."""
from __future__ import annotations

import hmac
import secrets
from datetime import datetime

import pyotp

from registry.i18n import ascii_digits

ISSUER = "MISTI informal economy registry"
STEP_SECONDS = 30
DRIFT_STEPS = 1  # a code of the step before or after is accepted (phone clocks drift)
RECOVERY_CODES = 8
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # 31 letters and digits, none to misread


def new_secret() -> str:
    return pyotp.random_base32()  # 32 characters: 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// address the QR code holds."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def clean_code(text: str) -> str:
    """What was typed, as digits only (Khmer digits and spaces allowed)."""
    return "".join(ascii_digits(text).split())


def matching_step(secret: str, code: str, at: datetime, last_step: int | None) -> int | None:
    """The time step `code` belongs to (within the drift, after `last_step`), or None."""
    code = clean_code(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(at.timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Codes of ten characters (about 50 bits each), shown as `xxxxx-xxxxx`."""
    return ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10)) for _ in range(RECOVERY_CODES)]


def shown(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def clean_recovery_code(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())
