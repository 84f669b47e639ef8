"""The database does not answer: a 503 that says so, never a stack trace (issue 14).

Pages get a short page in the reader's language, the API its JSON error, both with
Retry-After. Only failures of *reaching* the database count
(`registry.database.database_unavailable`): a genuine programming error (a missing table,
bad SQL, a broken constraint) is raised on to the 500 handler and logged whole, as before.
Recovery needs nothing here: the pool tests each connection before use
(`registry.database.engine_options`), so the first request after the database returns is
served.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _

from registry.database import database_unavailable
from registry.extensions import db

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 60  # what the page says: "in a minute"


def describe(error: BaseException) -> str:
    """The exception's kind and code for the log: no address, user, password or SQL."""
    original = getattr(error, "orig", None) or error
    code = getattr(original, "sqlstate", None) or getattr(original, "sqlite_errorname", None)
    return type(original).__name__ + (f" {code}" if code else "")


def register_outage_handler(app: Flask) -> None:
    """503 for a database out of reach, on every path; anything else goes on to the 500 handler."""

    @app.errorhandler(sa.exc.DBAPIError)
    @app.errorhandler(sa.exc.TimeoutError)
    def database_out_of_reach(error: sa.exc.SQLAlchemyError):  # type: ignore[no-untyped-def]
        if not database_unavailable(error):
            raise error
        return unavailable(error)


def unavailable(error: BaseException):  # type: ignore[no-untyped-def]
    """The 503 itself: the session rolled back, the page rendered without the database."""
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:  # the connection is already gone: nothing to undo
        pass
    # Who is asking cannot be read now: the rest of the request treats the caller as
    # anonymous — the page shows no staff bar (never a stale one), and the API's after-request
    # record of a token's use (registry.api.bearer) finds no token to record.
    g._login_user = current_app.login_manager.anonymous_user()  # type: ignore[attr-defined]
    g.api_token = None
    log.warning("database unavailable: %s (%s %s)", describe(error), request.method, request.endpoint)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    message = _("The service is briefly unavailable. Nothing was saved. Please try again in a minute.")
    if request.path.startswith("/api/"):  # the shape of registry.api_error (the app layer, above this one)
        return jsonify({"error": {"field": "database", "message": message}}), 503, headers
    return render_template("error.html", title=_("Service briefly unavailable"), message=message), 503, headers
