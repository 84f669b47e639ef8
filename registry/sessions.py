"""The one session interface: Flask's signed-cookie sessions, except for two kinds of request
that have none.

- A request carrying an API token (registry/tokens/access.py) gets an empty session that is
  never saved: its cookie is not read, and no cookie is set in the answer.
- A static file's response never saves the session: nothing there changes it, and saving
  would add `Vary: Cookie` (extensions look at the session after every request), making a
  browser fetch the file again whenever the session cookie changes — at sign-in, for example.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, Request, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from registry.tokens.access import carries_token


class Sessions(SecureCookieSessionInterface):
    def open_session(self, app: Flask, incoming: Request) -> SecureCookieSession | None:
        if carries_token(incoming):
            return self.session_class()
        return super().open_session(app, incoming)

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        if carries_token(request) or request.endpoint == "static":
            return
        super().save_session(app, session, response)
