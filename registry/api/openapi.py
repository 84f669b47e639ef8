"""The API's OpenAPI 3.1 document (its schemas are JSON Schema: tests validate responses with them)."""
from __future__ import annotations

from typing import Any

from registry import areas, vocab
from registry.i18n import LOCALES

_CELL = {
    "type": "object",
    "required": ["code", "label", "count", "suppressed"],
    "additionalProperties": False,
    "properties": {
        "code": {"type": "string"},
        "label": {"type": "string"},
        "count": {"type": ["integer", "null"], "minimum": 0,
                  "description": "null when suppressed; public counts are 0 or a multiple of 5 that is at least 5"},
        "suppressed": {"type": "boolean", "description": "true for a count from 1 to 4, or one hidden with it"},
    },
}
_BREAKDOWN = {"type": "array", "items": {"$ref": "#/components/schemas/Cell"}}
_DATE_PARAM = {"in": "query", "schema": {"type": "string", "format": "date"}}


def _param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def document() -> dict[str, Any]:
    errors = {"400": _json("Error", "A parameter is wrong: `error.field` names it, `error.message` says the fix"),
              "429": _json("Error", "Too many requests")}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Informal economy registry API",
            "version": "1",
            "description": "Registrations of Cambodia's informal economy actors. Without a signed-in ministry "
                           "session, counts are protected: 1 to 4 is suppressed and others are rounded to 5.",
        },
        "paths": {
            "/api/v1/stats": {"get": {
                "summary": "Registered actors, in total and by every breakdown",
                "parameters": [
                    _param("as_of", "Registered on or before this date (default today)", {"type": "string", "format": "date"}),
                    _param("since", "Registered on or after this date (default: from the start); a period of up to 366 days also gets by_day",
                           {"type": "string", "format": "date"}),
                    _param("province", "2-digit province code"),
                    _param("district", "4-digit district code"),
                    _param("commune", "6-digit commune code"),
                    _param("category", "Category", {"type": "string", "enum": list(vocab.CATEGORIES)}),
                    _param("gender", "Gender", {"type": "string", "enum": list(vocab.GENDERS)}),
                    _param("lang", "Language of labels", {"type": "string", "enum": list(LOCALES)}),
                ],
                "responses": {"200": _json("Stats", "The statistics"),
                              "403": _json("Error", "The account is limited to another province"), **errors},
            }},
            "/api/v1/indicators": {"get": {
                "summary": "The ministry's annual indicators of a year (default: the latest)",
                "parameters": [_param("year", "Four-digit year", {"type": "string", "pattern": "^[0-9]{4}$"}),
                               _param("lang", "Language of labels", {"type": "string", "enum": list(LOCALES)})],
                "responses": {"200": _json("Indicators", "The indicators"), **errors},
            }},
            "/api/v1/dhis2/dataValueSet": {"get": {
                "summary": "New registrations of a period as a DHIS2 dataValueSet (ministry staff only)",
                "parameters": [_param("period", "DHIS2 period: YYYY or YYYYMM", {"type": "string", "pattern": "^[0-9]{4}([0-9]{2})?$"})],
                "responses": {"200": _json("DataValueSet", "Import into DHIS2 with idScheme=CODE"),
                              "401": _json("Error", "Not signed in"), "403": _json("Error", "Not ministry staff"), **errors},
            }},
            "/api/v1/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
        },
        "components": {"schemas": {
            "Cell": _CELL,
            "Stats": {
                "type": "object",
                "required": ["as_of", "since", "area", "category", "gender", "exact", "rounded_to", "total", "breakdowns"],
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
                    "rounded_to": {"type": ["integer", "null"]},
                    "total": {"type": "object", "required": ["count", "suppressed"], "additionalProperties": False,
                              "properties": {"count": {"type": ["integer", "null"], "minimum": 0},
                                             "suppressed": {"type": "boolean"}}},
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
