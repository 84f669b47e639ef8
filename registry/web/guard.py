"""Refusing control characters in what a request carries, before any view or database sees it.

A NUL byte makes PostgreSQL refuse a text parameter (a 500 if it got that far); CR/LF in a
query parameter such as `next=` is a header-splitting attempt; none of them comes from
anyone typing into a form. Tab, CR and LF stay allowed in form values (multi-line notes).
"""
from __future__ import annotations

import re

from flask import Request

_IN_FORM_VALUES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ANYWHERE_ELSE = re.compile(r"[\x00-\x1f\x7f]")  # query parameters, names, file names: no line breaks either


def field_with_control_characters(request: Request) -> str | None:
    """The first parameter, form field or uploaded file name holding a control character
    (its name, made printable), or None."""
    for name, value in request.args.items(multi=True):
        if _ANYWHERE_ELSE.search(name) or _ANYWHERE_ELSE.search(value):
            return _printable(name)
    if request.method in ("POST", "PUT", "PATCH"):
        for name, value in request.form.items(multi=True):
            if _ANYWHERE_ELSE.search(name) or _IN_FORM_VALUES.search(value):
                return _printable(name)
        for name, upload in request.files.items(multi=True):
            if _ANYWHERE_ELSE.search(name) or _ANYWHERE_ELSE.search(upload.filename or ""):
                return _printable(name)
    return None


def _printable(name: str) -> str:
    return _ANYWHERE_ELSE.sub("?", name)[:40] or "?"
