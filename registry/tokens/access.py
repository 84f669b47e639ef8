"""Who calls the API with a token: the Authorization header read once per request, the token
checked (tokens.services) and the answer kept on `g` for the rest of the request.

Tokens are for the API (/api/) only. A request that carries one never reads nor sets the
session cookie (registry/sessions.py): it acts as the token, whatever cookie comes with it.
"""
from __future__ import annotations

import re

from flask import Request, g, request
from flask_limiter.util import get_remote_address

from registry import clock
from registry.extensions import db
from registry.tokens.services import TokenRefused, TokenUse, authenticate

API_PREFIX = "/api/"
# RFC 6750: "Bearer" (any case), one or more spaces, a b64token. Longer headers are not ours.
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9._~+/-]+=*)")
MAX_HEADER = 512


def carries_token(req: Request) -> bool:
    """An API request with any Authorization header, or any request with a Bearer one."""
    header = req.headers.get("Authorization")
    if header is None:
        return False
    return req.path.startswith(API_PREFIX) or header.lstrip()[:7].lower() == "bearer "


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (None: not shaped so)."""
    match = _BEARER.fullmatch(header.strip()) if len(header) <= MAX_HEADER else None
    return match.group(1) if match else None


def token_access() -> TokenUse | TokenRefused | None:
    """None: no Authorization header, or not the API (anonymous, or a staff session). A
    TokenUse: what a valid token may do. TokenRefused: why the header is not a working token
    ("malformed" when it is not `Bearer <token>` at all)."""
    if "api_token" in g:
        return g.api_token  # type: ignore[no-any-return]
    header = request.headers.get("Authorization")
    found: TokenUse | TokenRefused | None = None
    if header is not None and request.path.startswith(API_PREFIX):
        presented = bearer_token(header)
        if presented is None:
            found = TokenRefused("malformed")
        else:
            try:
                found = authenticate(db.session, presented, now=clock.now())
            except TokenRefused as refused:
                found = refused
    g.api_token = found
    return found


def current_token() -> TokenUse | None:
    """The valid token this request acts as, if any."""
    found = token_access()
    return found if isinstance(found, TokenUse) else None


def caller_key() -> str:
    """Rate limits count per token for a valid token, per address for everyone else (a
    wrong or revoked token counts against its address)."""
    found = token_access()
    return f"api-token:{found.token_id}" if isinstance(found, TokenUse) else get_remote_address()
