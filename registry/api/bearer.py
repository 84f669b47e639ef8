"""API tokens at the API's door: a refused token gets a 401, a missing scope a 403 (JSON, with
RFC 6750's WWW-Authenticate), and every request made with a token goes to the event log."""
from __future__ import annotations

import re
from functools import wraps
from typing import Any, Callable, TypeVar

from flask import Response, g, jsonify, request
from flask_babel import gettext as _

from registry import clock
from registry.events.services import record
from registry.extensions import db
from registry.tokens.access import current_token, token_access
from registry.tokens.models import PREFIX
from registry.tokens.services import TokenRefused, TokenUse, mark_used

View = TypeVar("View", bound=Callable[..., Any])
REALM = 'Bearer realm="registry"'
_TOKEN_LIKE = re.compile(rf"{PREFIX}[0-9a-f]{{6}}")


def challenge(error: str | None = None, **params: str) -> str:
    """The WWW-Authenticate value (RFC 6750 §3)."""
    parts = [REALM] + ([f'error="{error}"'] if error else []) + [f'{name}="{value}"' for name, value in params.items()]
    return ", ".join(parts)


def _error(status: int, field: str, message: str, authenticate: str) -> Response:
    response = jsonify({"error": {"field": field, "message": message}})
    response.status_code = status
    response.headers["WWW-Authenticate"] = authenticate
    return response


def refusal_message(reason: str) -> str:
    if reason == "malformed":
        return _("The Authorization header must be “Bearer” and a token: Authorization: Bearer ier_…")
    if reason == "revoked":
        return _("This API token was revoked. Make a new one at /staff/tokens.")
    if reason == "expired":
        return _("This API token has expired. Make a new one at /staff/tokens.")
    if reason == "account":
        return _("The account that made this API token is disabled or may no longer use tokens. Ask an administrator.")
    return _("This is not a valid API token. Check that it was copied whole, or make a new one at /staff/tokens.")


def check_token() -> Response | None:
    """Before every API view: a token in the address is refused (400: addresses are logged,
    by proxies and servers); a header that is not a working token ends the request (401)."""
    for name, value in request.args.items(multi=True):
        if _TOKEN_LIKE.search(value):
            response = jsonify({"error": {"field": name[:40], "message": _(
                "An API token goes in the Authorization header, never in the address: addresses are written to "
                "logs. Revoke this token at /staff/tokens, make a new one and send it as Authorization: Bearer …")}})
            response.status_code = 400
            return response
    found = token_access()
    if isinstance(found, TokenRefused):
        return _error(401, "Authorization", refusal_message(found.reason), challenge("invalid_token"))
    return None


def needs_scope(scope: str) -> Callable[[View], View]:
    """A view a token may call only with `scope` (sessions and anonymous callers are unaffected)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = current_token()
            if token is not None and scope not in token.scopes:
                return _error(403, "scope", _("This API token may not do this: it lacks the “%(scope)s” scope. "
                                             "Make a token with it at /staff/tokens.", scope=scope),
                              challenge("insufficient_scope", scope=scope))
            return view(*args, **kwargs)

        wrapper.token_scope = scope  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def record_token_use(response: Response) -> Response:
    """After every API view: a request made with a token is one event (token, path, status;
    no query, no token), committed with the token's last use. If it cannot be stored, the
    answer is not given (the error handler answers 500)."""
    found = token_access()
    if g.get("token_use_recorded") or not isinstance(found, (TokenUse, TokenRefused)) or found.token_id is None:
        return response
    g.token_use_recorded = True
    now = clock.now()
    detail: dict[str, Any] = {"endpoint": request.path, "status": response.status_code}
    if isinstance(found, TokenRefused):
        detail["reason"] = found.reason
    else:
        mark_used(db.session, found.token_id, now=now)
    record(db.session, "api_token_used" if isinstance(found, TokenUse) else "api_token_refused", now=now,
           by_id=found.creator_id, ip=request.remote_addr, subject=f"api_token {found.token_id}", detail=detail)
    db.session.commit()
    return response
