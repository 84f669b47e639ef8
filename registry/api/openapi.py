"""The API's OpenAPI 3.1 document (its schemas are JSON Schema: tests validate responses with them)."""
from __future__ import annotations

from typing import Any

from registry import areas, vocab
from registry.i18n import LOCALES
from registry.stats.disclosure import MAX_DIFFERENCE, SMALL_AREA_THRESHOLD, THRESHOLD

_COUNT = {"type": ["integer", "null"], "minimum": 0,
          "description": "null when suppressed. Public counts: exact when `exact`, else within "
                         "`protection.max_difference` of the true count for each category and gender they add up"}
_CELL = {
    "type": "object",
    "required": ["code", "label", "count", "suppressed", "exact"],
    "additionalProperties": False,
    "properties": {
        "code": {"type": "string"},
        "label": {"type": "string"},
        "count": _COUNT,
        "suppressed": {"type": "boolean", "description": "public only: the published count is below "
                                                         "`protection.suppressed_below` (by_area: `by_area_suppressed_below`), "
                                                         "or the answer's total is suppressed"},
        "exact": {"type": "boolean", "description": "the true count: always for ministry staff; for the public, the "
                                                    "ministry's headline (country total and totals by category at a month end "
                                                    "where each, and its rise since the figure published for the month end "
                                                    f"before, is at least {THRESHOLD}), and values the query's own filter "
                                                    "leaves out (0)"},
    },
}
_PROTECTION = {
    "type": ["object", "null"],
    "description": "null for ministry staff (exact counts). For the public: what the figures promise",
    "required": ["suppressed_below", "by_area_suppressed_below", "max_difference"],
    "additionalProperties": False,
    "properties": {
        "suppressed_below": {"enum": [THRESHOLD, SMALL_AREA_THRESHOLD],
                             "description": f"cells of this area below this are suppressed ({THRESHOLD}; "
                                            f"{SMALL_AREA_THRESHOLD} for districts and communes)"},
        "by_area_suppressed_below": {"enum": [THRESHOLD, SMALL_AREA_THRESHOLD, None]},
        "max_difference": {"const": MAX_DIFFERENCE,
                           "description": "each count of one area, category and gender is within this of the true count; "
                                          "a figure adding several within this for each; a month's registrations "
                                          "(by_month) are the difference of two month ends; every figure adds up"},
    },
}
_LANG_DESCRIPTION = "Language of labels and messages (default: the session's choice, else Accept-Language, else Khmer)"
_BREAKDOWN = {"type": "array", "items": {"$ref": "#/components/schemas/Cell"}}
EMPTY = " An empty value is the same as leaving the parameter out."
# Every parameter may be given empty (`?year=`): the same as leaving it out.
_DATE = {"anyOf": [{"type": "string", "format": "date"}, {"const": ""}]}


def _pattern(regex: str) -> dict[str, Any]:
    """A string matching `regex`, or empty (left out)."""
    return {"type": "string", "pattern": f"^({regex})?$"}


def _param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description + EMPTY,
            "schema": schema or {"type": "string"}}


def _choice(codes: Any) -> dict[str, Any]:
    return {"type": "string", "enum": [*codes, ""]}


_LANG = _param("lang", _LANG_DESCRIPTION, _choice(LOCALES))


def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


_WWW_AUTHENTICATE = {"WWW-Authenticate": {"description": "RFC 6750: `Bearer realm=\"registry\"`, with "
                                                        "`error=\"invalid_token\"` when a token was sent and refused, "
                                                        "`error=\"insufficient_scope\", scope=\"…\"` on a 403 for a token",
                                         "schema": {"type": "string", "pattern": "^Bearer realm=\"registry\""}}}
TOKEN_FORMAT = "ier_<12 hex characters>_<43 characters of base64url>"


def _security(scope: str | None, *, anonymous: bool) -> list[dict[str, list[str]]]:
    """Who may call an operation: anyone (`{}`), a token (with the scope it needs: OpenAPI 3.1
    allows role names for non-OAuth schemes), or a signed-in staff session."""
    return ([{}] if anonymous else []) + [{"bearer": [scope] if scope else []}, {"staffSession": []}]


def document(session_cookie: str = "session") -> dict[str, Any]:
    """The document. Errors, here and on unknown paths under /api/, are `Error` bodies in
    the reader's language (`lang`, else Accept-Language, else Khmer). `session_cookie`: the
    name of the staff session's cookie (`__Host-session` with secure cookies)."""
    errors = {"400": _json("Error", "A parameter is wrong (or holds an API token: tokens go in the Authorization "
                                    "header only): `error.field` names it, `error.message` says the fix"),
              "404": _json("Error", "Not found (every unknown path under /api/ answers so)"),
              "405": _json("Error", "Method not allowed: the `Allow` header lists the methods that are",
                           ) | {"headers": {"Allow": {"description": "The methods allowed", "schema": {"type": "string"}}}},
              "429": _json("Error", "Too many requests") | {"headers": {"Retry-After": {
                  "description": "Seconds to wait before trying again", "schema": {"type": "string", "pattern": "^[0-9]+$"}}}},
              "401": _json("Error", "The Authorization header is not a working API token (malformed, unknown, revoked, "
                                    "expired, or its account is disabled or may no longer use tokens)") | {"headers": _WWW_AUTHENTICATE}}
    scope_403 = "An API token without the scope this needs (`error.field` is `scope`; the message names it)"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Informal economy registry API",
            "version": "1",
            "description": "Registrations of Cambodia's informal economy actors. Every error is a JSON `Error` "
                           "in the reader's language (`lang`, else Accept-Language, else Khmer); an empty parameter is "
                           "the same as one left out. Without a signed-in ministry "
                           "session, statistics are published as of month ends only and protected: every figure adds "
                           "up from one perturbed table, small figures are suppressed, and the ministry's headline "
                           "(country total and totals by category) is exact (see `protection` and `exact`). "
                           "Programs send an API token (`Authorization: Bearer …`, made by ministry staff at /staff/tokens): "
                           "it acts as the account that made it, as that account is now, within its scopes (`statistics`; "
                           "`exact_counts`: the exact figures ministry staff see; `dhis2`), and is rate-limited on its own. "
                           "Every request made with a token is recorded in the event log.",
        },
        "paths": {
            "/api/v1/stats": {"get": {
                "summary": "Registered actors active on a date (registered by then and not deactivated), in total and by every breakdown",
                "parameters": [
                    _param("as_of", "Active on this date: registered on or before it and not deactivated by then (a correction, an "
                                    "error or duplicate deactivation and a merge revise earlier dates). by_month and by_day count "
                                    "new registrations (and reactivations) only. Ministry staff: any date (default today). "
                                    "Public: a month's last day (else 400); a month not yet over, or none, gives the last "
                                    "month end that is (the answer's as_of says which). Before 2000: 400.", _DATE),
                    _param("since", "Ministry staff only (public: 400): the net change of the active count from this date; a period of up "
                                    "to 366 days also gets by_day. Before 2000 or after as_of: 400.", _DATE),
                    _param("province", "2-digit province code (an unknown code: 400)", _pattern("[0-9]{2}")),
                    _param("district", "4-digit district code, inside the province if one is given (else 400)",
                           _pattern("[0-9]{4}")),
                    _param("commune", "6-digit commune code, inside the district if one is given (else 400)",
                           _pattern("[0-9]{6}")),
                    _param("category", "Category", _choice(vocab.CATEGORIES)),
                    _param("gender", "Gender", _choice(vocab.GENDERS)),
                    _LANG,
                ],
                "security": _security("statistics", anonymous=True),
                "responses": {"200": _json("Stats", "The statistics (public: by_month lists the months of as_of's year; "
                                                    "no by_day)"),
                              "403": _json("Error", "The account (or the token's account) is limited to another province "
                                                    "(`error.field`: `province`); or: " + scope_403) | {
                                  "headers": _WWW_AUTHENTICATE}, **errors},
            }},
            "/api/v1/indicators": {"get": {
                "summary": "The ministry's annual indicators of a year (default: the latest)",
                "parameters": [_param("year", "Four-digit year", _pattern("[0-9]{4}")), _LANG],
                "security": _security("statistics", anonymous=True),
                "responses": {"200": _json("Indicators", "The indicators"),
                              "403": _json("Error", scope_403) | {"headers": _WWW_AUTHENTICATE}, **errors},
            }},
            "/api/v1/dhis2/dataValueSet": {"get": {
                "summary": "New registrations (IE_REG_*), exits (IE_EXIT_*) of a period and the people active at its end"
                           " (IE_ACTIVE_*), by category, as a DHIS2 dataValueSet (ministry staff, or a token with `dhis2`)",
                "parameters": [_param("period", "DHIS2 period: YYYY (a year) or YYYYMM (a month, 01-12), years 2000-2100 "
                                                "(others: 400); default this year",
                                      _pattern("[0-9]{4}(0[1-9]|1[0-2])?")), _LANG],
                "security": _security("dhis2", anonymous=False),
                "responses": {"200": _json("DataValueSet", "Import into DHIS2 with idScheme=CODE"),
                              **errors,
                              "401": _json("Error", "No API token and not signed in, or a token that does not work"
                                           ) | {"headers": _WWW_AUTHENTICATE},
                              "403": _json("Error", "Signed in but not ministry staff; or: " + scope_403) | {
                                  "headers": _WWW_AUTHENTICATE}},
            }},
            "/api/v1/openapi.json": {"get": {"summary": "This document", "security": _security(None, anonymous=True),
                                             "responses": {
                "200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}},
                **{code: errors[code] for code in ("400", "401", "405", "429")}}}},
        },
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": TOKEN_FORMAT,
                       "description": "An API token, made (shown once) by ministry or admin staff at /staff/tokens, "
                                     "sent as `Authorization: Bearer " + TOKEN_FORMAT + "` (never in the address). It "
                                     "acts as its creator now (role, province limit, enabled) within its scopes, "
                                     "until it expires (at most a year) or is revoked. Scopes: `statistics` "
                                     "(stats and indicators), `exact_counts` (exact stats, with `statistics`), `dhis2`."},
            "staffSession": {"type": "apiKey", "in": "cookie", "name": session_cookie,
                             "description": "A signed-in staff session (a browser; ministry and admin staff get exact counts)"},
        }, "schemas": {
            "Cell": _CELL,
            "Stats": {
                "type": "object",
                "required": ["as_of", "since", "area", "category", "gender", "exact", "protection", "total", "breakdowns"],
                "additionalProperties": False,
                "properties": {
                    "as_of": {"type": "string", "format": "date"},
                    "since": {"type": ["string", "null"], "format": "date"},
                    "area": {"type": "object", "required": ["code", "level", "name"], "additionalProperties": False,
                             "properties": {"code": {"type": "string", "pattern": "^([0-9]{2}){0,3}$"},
                                            "level": {"enum": list(areas.LEVELS)}, "name": {"type": "string"}}},
                    "category": {"enum": [*vocab.CATEGORIES, None]},
                    "gender": {"enum": [*vocab.GENDERS, None]},
                    "exact": {"type": "boolean", "description": "true: exact counts for signed-in ministry staff"},
                    "protection": _PROTECTION,
                    "total": {"type": "object", "required": ["count", "suppressed", "exact"], "additionalProperties": False,
                              "properties": {"count": _COUNT, "suppressed": {"type": "boolean"}, "exact": {"type": "boolean"}}},
                    "breakdowns": {
                        "type": "object",
                        "required": ["by_category", "by_gender", "by_month"],
                        "additionalProperties": False,
                        "properties": {name: _BREAKDOWN for name in
                                       ("by_category", "by_gender", "by_sector", "by_channel", "by_age_band", "by_area", "by_month", "by_day")},
                    },
                },
            },
            "Indicator": {
                "type": "object",
                "required": ["code", "label", "value", "unit", "year", "source"],
                "properties": {
                    "code": {"type": "string"}, "label": {"type": "string"}, "value": {"type": "number"},
                    "unit": {"type": "string"}, "year": {"type": "integer"}, "source": {"type": "string"},
                    "section": {"type": "string"}, "derived": {"type": "boolean"},
                    "derivation": {"type": ["string", "null"]}, "previous_value": {"type": ["number", "null"]},
                },
            },
            "Indicators": {"type": "array", "items": {"$ref": "#/components/schemas/Indicator"}},
            "DataValueSet": {
                "type": "object",
                "required": ["dataSet", "period", "dataValues"],
                "properties": {
                    "dataSet": {"type": "string"}, "idScheme": {"const": "CODE"}, "period": {"type": "string"},
                    "completeDate": {"type": "string", "format": "date"},
                    "dataValues": {"type": "array", "items": {
                        "type": "object",
                        "required": ["dataElement", "categoryOptionCombo", "orgUnit", "period", "value"],
                        "properties": {k: {"type": "string"} for k in ("dataElement", "categoryOptionCombo", "orgUnit", "period", "value")},
                    }},
                },
            },
            "Error": {
                "type": "object", "required": ["error"],
                "properties": {"error": {"type": "object", "required": ["field", "message"],
                                         "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
            },
        }},
    }
