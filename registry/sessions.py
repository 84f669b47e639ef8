"""The one session interface: Flask's signed-cookie sessions, except for two kinds of request
that have none.

- A request carrying an API token (registry/tokens/access.py) gets an empty session that is
  never saved: its cookie is not read, and no cookie is set in the answer.
- A static file's response never saves the session: nothing there changes it, and saving
  would add `Vary: Cookie` (extensions look at the session after every request), making a
  browser fetch the file again whenever the session cookie changes — at sign-in, for example.

Flask builds the cookie's signing serializer twice a request (read, write), and
itsdangerous tries the JSON serializer out each time it builds one: here it is built once
per secret key (and fallbacks) and kept.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, Request, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from registry.tokens.access import carries_token


class Sessions(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._serializers: dict[tuple[object, ...], URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer

    def open_session(self, app: Flask, incoming: Request) -> SecureCookieSession | None:
        if carries_token(incoming):
            return self.session_class()
        return super().open_session(app, incoming)

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        if carries_token(request) or request.endpoint == "static":
            return
        super().save_session(app, session, response)
