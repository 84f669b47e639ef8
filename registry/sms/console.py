"""The default backend: the message goes to the log, the phone and any number masked (a
development machine, or a deployment without a gateway yet)."""
from __future__ import annotations

import logging

from registry.sms import masked_phone, masked_text, segments

log = logging.getLogger("registry.sms")


def send(phone: str, text: str) -> None:
    log.info("SMS (console) to %s, %d segment(s): %s", masked_phone(phone), segments(text), masked_text(text))
