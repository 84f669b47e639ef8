"""Who sees what of the statistics: least privilege in one place."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import current_app
from flask_login import current_user

from registry import clock
from registry.extensions import db
from registry.stats.disclosure import Answer
from registry.stats.present import exact_answer
from registry.stats.public import current_release, last_month_end, public_answer, public_query
from registry.stats.queries import Query, statistics
from registry.tokens.access import current_token

EXACT_ROLES = ("ministry", "admin")


@dataclass(frozen=True)
class Scope:
    exact: bool  # exact counts (signed-in ministry or admin staff); otherwise public protection
    province: str | None  # a province-limited account sees only this province
    signed_in: bool = False

    def allows(self, area: str) -> bool:
        return self.province is None or area.startswith(self.province)

    def default_area(self) -> str:
        return self.province or ""


PUBLIC = Scope(False, None)  # what anyone may see (the public page shows it to staff too)


def current_scope() -> Scope:
    """A token acts as its creator now (ministry or admin, checked with the token): exact counts
    with its `exact_counts` scope, within the creator's province limit."""
    token = current_token()
    if token is not None:
        return Scope("exact_counts" in token.scopes, token.province, True)
    if current_user.is_authenticated and current_user.role in EXACT_ROLES:
        return Scope(True, current_user.province_code, True)
    return Scope(False, None, bool(current_user.is_authenticated))


def export_scope() -> Scope:
    """Who may take the DHIS2 export (exact counts): ministry staff signed in, or a token with
    the `dhis2` scope, within the creator's province limit."""
    token = current_token()
    if token is not None:
        return Scope("dhis2" in token.scopes, token.province, True)
    return current_scope()


def answer(scope: Scope, query: Query) -> Answer:
    """Exact statistics for ministry staff; the public release's for everyone else, whose
    query goes through `public_query` first (whole months only: QueryError otherwise)."""
    if scope.exact:
        return exact_answer(statistics(db.session, query))
    query = public_query(query, clock.today())
    cache = current_app.extensions.setdefault("registry.public_release", {})
    key = hashlib.sha256(current_app.config["DISCLOSURE_KEY"].encode()).digest()
    release = current_release(db.session, last_month_end(clock.today()), key, cache)
    return public_answer(release, query)
