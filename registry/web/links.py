"""Addresses that leave the site (printed on a certificate, sent by text message): the
configured public address when there is one (REGISTRY_PUBLIC_URL), else the request's host."""
from __future__ import annotations

from typing import Any

from flask import current_app, url_for


def public_url(endpoint: str, **values: Any) -> str:
    base = current_app.config.get("PUBLIC_URL")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
