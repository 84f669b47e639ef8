"""Text messages to people (the registration receipt), behind one small interface:
`send(phone, text)` through the backend the configuration names (REGISTRY_SMS_BACKEND):

- `console` (default): logs the message with the phone and any registration number masked;
- `http`: a gateway that takes a JSON POST with a bearer token (sms/gateway.py).

A backend raises SmsNotSent when the message did not go; it never logs a phone in clear.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_NUMBER = re.compile(r"\b\d{4}-?\d{4}-?(\d{2})\b")  # a registration number, written or not with hyphens


class SmsNotSent(RuntimeError):
    """The message did not go (the reason says why, without the phone)."""


def masked_phone(phone: str) -> str:
    """+85512345678 -> +855•••••678: enough to tell messages apart in a log, no more."""
    return phone[:4] + "•" * max(0, len(phone) - 7) + phone[-3:] if len(phone) > 7 else "•" * len(phone)


def masked_text(text: str) -> str:
    """The text with every registration number but its last two digits masked."""
    return _NUMBER.sub(lambda match: "••••-••••-" + match.group(1), text)


def segments(text: str) -> int:
    """SMS segments `text` takes: GSM-7 when it can (160, or 153 a part), else UCS-2 (70, or 67
    a part) — Khmer is always UCS-2; counted in UTF-16 code units."""
    units = len(text.encode("utf-16-le")) // 2
    if text.isascii():
        return 1 if units <= 160 else -(-units // 153)
    return 1 if units <= 70 else -(-units // 67)


def check_configuration(config: Mapping[str, Any]) -> None:
    """Refuse to start with a backend that cannot send: an unknown name, or a gateway without
    its address and token, or without REGISTRY_PUBLIC_URL (a link sent by SMS must never be
    built from a request's Host header, which the sender of the request chooses)."""
    kind = config.get("SMS_BACKEND", "console")
    if kind not in ("console", "http"):
        raise ValueError(f"REGISTRY_SMS_BACKEND={kind!r}: use console or http")
    if kind == "http":
        missing = [name for name, key in (("REGISTRY_SMS_HTTP_URL", "SMS_HTTP_URL"), ("REGISTRY_SMS_HTTP_TOKEN", "SMS_HTTP_TOKEN"),
                                          ("REGISTRY_PUBLIC_URL", "PUBLIC_URL")) if not config.get(key)]
        if missing:
            raise ValueError(f"REGISTRY_SMS_BACKEND=http needs {', '.join(missing)}")


def send(config: Mapping[str, Any], phone: str, text: str) -> None:
    """Send `text` to `phone` (E.164, as stored) with the configured backend."""
    kind = config.get("SMS_BACKEND", "console")
    if kind == "console":
        from registry.sms.console import send as console_send

        console_send(phone, text)
    elif kind == "http":
        from registry.sms.gateway import send as http_send

        http_send(config, phone, text)
    else:
        raise SmsNotSent(f"unknown SMS backend {kind!r}: use console or http (REGISTRY_SMS_BACKEND)")
