"""JSON API v1: public statistics (protected), indicators, DHIS2 export, OpenAPI document.

A parameter given empty (`?year=`) is the same as one left out; its errors (every status,
unknown paths too) are JSON bodies made by the app's error handlers (registry/__init__.py).
Callers: anyone, signed-in staff (session cookie), or a program with an API token
(`Authorization: Bearer`, api/bearer.py), rate-limited per token."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request
from flask_babel import gettext as _

from registry import clock
from registry.api.bearer import check_token, needs_scope, record_token_use
from registry.events.views import record_refusal
from registry.extensions import db, limiter
from registry.i18n import N_, current_locale
from registry.indicators import services as indicators
from registry.stats.dhis2 import data_value_set, parse_period
from registry.stats.present import as_json
from registry.stats.queries import QueryError, make_query
from registry.stats.scope import answer, current_scope, export_scope
from registry.tokens.access import caller_key, current_token

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(check_token)
bp.after_request(record_token_use)
AREA_PARAMS = ("province", "district", "commune")
READ_LIMIT = "120 per minute"  # per address; per token for a program with one
EXPORT_LIMIT = "60 per minute"


def error(field: str, message: str, status: int = 400) -> tuple[Response, int]:
    return jsonify({"error": {"field": field, "message": message}}), status


def _date(name: str) -> date | None:
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise QueryError(name, N_("“%(value)s” is not a date. Write YYYY-MM-DD."), value=text[:20]) from None


def requested_area() -> str:
    """The most specific of province/district/commune; each must lie inside the one above."""
    area = ""
    for name in AREA_PARAMS:
        code = (request.args.get(name) or "").strip()
        if not code:
            continue
        if area and not code.startswith(area):
            raise QueryError(name, N_("%(value)s is not inside %(parent)s. Check both codes."), value=code[:12], parent=area)
        if len(code) != 2 * (AREA_PARAMS.index(name) + 1) or not (code.isascii() and code.isdigit()):
            raise QueryError(name, N_("“%(value)s” does not have the digits of a %(level)s code (2, 4 or 6)."), value=code[:12], level=name)
        area = code
    return area



@bp.get("/stats")
@limiter.limit(READ_LIMIT, key_func=caller_key)
@needs_scope("statistics")
def stats() -> Any:
    """Staff: exact counts over any period. Everyone else: whole months, protected
    (registry.stats.disclosure); `since` or an as_of that is not a month end is a 400."""
    scope = current_scope()
    try:
        area = requested_area() or scope.default_area()
        query = make_query(area=area, category=request.args.get("category"), gender=request.args.get("gender"),
                           since=_date("since"), as_of=_date("as_of"))
        if not scope.allows(query.area):
            if current_token() is None:  # a token's request is recorded as its use, with the 403
                record_refusal()
            return error("province", _("Your account sees province %(province)s only.", province=scope.province), 403)
        if scope.exact and query.as_of and query.as_of > clock.today():
            query = replace(query, as_of=clock.today())  # nobody is registered in the future
        result = answer(scope, query)
    except QueryError as problem:
        return error(problem.field, _(problem.message, **problem.params))
    return jsonify(as_json(result, locale=current_locale()))


@bp.get("/indicators")
@limiter.limit(READ_LIMIT, key_func=caller_key)
@needs_scope("statistics")
def indicator_list() -> Any:
    text = (request.args.get("year") or "").strip()
    years = indicators.years(db.session)
    if text:
        if not (text.isascii() and text.isdigit() and len(text) == 4):
            return error("year", _("“%(value)s” is not a year. Write four digits, e.g. 2024.", value=text[:10]))
        year = int(text)
    elif years:
        year = years[0]
    else:
        return jsonify([])
    lang = current_locale()
    return jsonify([
        {
            "code": i.code, "label": i.label(lang), "value": i.value, "unit": i.unit, "year": i.year,
            "source": i.source, "section": i.section, "derived": i.derived, "derivation": i.derivation,
            "previous_value": previous.value if previous else None,
        }
        for i, previous in indicators.for_year(db.session, year)
    ])


@bp.get("/dhis2/dataValueSet")
@limiter.limit(EXPORT_LIMIT, key_func=caller_key)
@needs_scope("dhis2")
def dhis2() -> Any:
    scope = export_scope()
    if not scope.exact:
        abort(403 if scope.signed_in else 401)
    try:
        first, last, period = parse_period(request.args.get("period") or str(clock.today().year))
    except QueryError as problem:
        return error(problem.field, _(problem.message, **problem.params))
    return jsonify(data_value_set(db.session, first, last, period, province=scope.province))


@bp.get("/openapi.json")
@limiter.limit(READ_LIMIT, key_func=caller_key)
def openapi() -> Any:
    from registry.api.openapi import document

    return jsonify(document(current_app.config["SESSION_COOKIE_NAME"]))
