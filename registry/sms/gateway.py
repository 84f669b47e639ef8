"""A gateway reached over HTTPS: one JSON POST per message, a bearer token, a short timeout,
and a retry on a server error or a dropped connection (never on a 4xx: the request itself is
wrong). Configured by REGISTRY_SMS_HTTP_URL, _TOKEN, REGISTRY_SMS_SENDER, _HTTP_TIMEOUT,
_HTTP_RETRIES. Body: {"to": "+855…", "from": sender, "text": "…"}.

Errors are logged with the gateway's status and the masked phone, never the phone or the text.
"""
from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from registry.sms import SmsNotSent, masked_phone

log = logging.getLogger("registry.sms")
BACKOFF_SECONDS = 0.3  # before the first retry; doubled for each one after


def send(config: Mapping[str, Any], phone: str, text: str) -> None:
    url, token = config.get("SMS_HTTP_URL"), config.get("SMS_HTTP_TOKEN")
    if not url or not token:
        raise SmsNotSent("the http SMS backend needs REGISTRY_SMS_HTTP_URL and REGISTRY_SMS_HTTP_TOKEN")
    body = json.dumps({"to": phone, "from": config.get("SMS_SENDER", ""), "text": text}, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=utf-8",
        "Accept": "application/json"})
    attempts = 1 + max(0, int(config.get("SMS_HTTP_RETRIES", 2)))
    timeout = float(config.get("SMS_HTTP_TIMEOUT", 3))
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - URL from configuration
                response.read(4096)
                return
        except urllib.error.HTTPError as error:
            reason = f"gateway answered {error.code}"
            if error.code < 500:
                log.warning("SMS to %s refused: %s (not retried)", masked_phone(phone), reason)
                raise SmsNotSent(reason) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = f"gateway unreachable ({type(getattr(error, 'reason', error)).__name__})"
        log.warning("SMS to %s, attempt %d of %d: %s", masked_phone(phone), attempt, attempts, reason)
        if attempt < attempts:
            time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
    raise SmsNotSent(reason)
