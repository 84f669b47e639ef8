"""The api_token table: a token's name, public identifier, the hash of its secret (never the
secret), its scopes, who made it, when it expires and whether it was revoked."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.extensions import db
from registry.i18n import N_

PREFIX = "ier_"  # "informal economy registry": a token is recognisable wherever it is pasted by mistake
PUBLIC_ID_LENGTH = 12  # hex characters: 48 random bits, shown on the page and used to find the row
MAX_LIFETIME_SECONDS = 365 * 86400  # a token lives one year at most (the database refuses longer)
# What a token may do, each a boolean column `scope_<name>`; the names are those the API says.
SCOPES = ("statistics", "exact_counts", "dhis2", "metrics")
SCOPE_LABELS = {
    "statistics": N_("Statistics (/api/v1/stats and /api/v1/indicators)"),
    "exact_counts": N_("Exact counts (with statistics: the figures your account sees on the dashboard)"),
    "dhis2": N_("DHIS2 export (/api/v1/dhis2/dataValueSet)"),
    "metrics": N_("Operations metrics for Prometheus (/metrics: national figures, so not for accounts limited to a province)"),
}


class ApiToken(db.Model):  # type: ignore[name-defined]
    """A bearer token for the JSON API. It acts as its creator as the account is *now* (role,
    province limit, enabled), within its scopes, until it expires or is revoked."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))  # what its creator calls it, e.g. "DHIS2 server"
    public_id: Mapped[str] = mapped_column(String(PUBLIC_ID_LENGTH), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the whole token, hex
    scope_statistics: Mapped[bool] = mapped_column(Boolean)  # /api/v1/stats and /indicators
    scope_exact_counts: Mapped[bool] = mapped_column(Boolean)  # exact counts there (with statistics)
    scope_dhis2: Mapped[bool] = mapped_column(Boolean)  # the DHIS2 dataValueSet export
    scope_metrics: Mapped[bool] = mapped_column(Boolean)  # /metrics (registry.operations.views)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))  # none: from the command line
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    created_by = relationship("StaffUser", foreign_keys=[created_by_id], lazy="joined")

    __table_args__ = (
        CheckConstraint("length(name) >= 1 AND length(name) <= 80", name="name"),
        CheckConstraint(f"length(public_id) = {PUBLIC_ID_LENGTH}", name="public_id"),
        CheckConstraint("length(token_hash) = 64", name="token_hash"),
        CheckConstraint(" OR ".join(f"scope_{scope}" for scope in SCOPES), name="some_scope"),
        CheckConstraint("scope_statistics OR NOT scope_exact_counts", name="exact_counts_with_statistics"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        # At most a year. Date arithmetic differs: each database gets its own spelling.
        CheckConstraint(f"expires_at <= created_at + interval '{MAX_LIFETIME_SECONDS // 3600} hours'",
                        name="lifetime").ddl_if(dialect="postgresql"),
        CheckConstraint("CAST(strftime('%s', expires_at) AS INTEGER) - CAST(strftime('%s', created_at) AS INTEGER)"
                        f" <= {MAX_LIFETIME_SECONDS}", name="lifetime").ddl_if(dialect="sqlite"),
        CheckConstraint("revoked_by_id IS NULL OR revoked_at IS NOT NULL", name="revoked_by_when_revoked"),
        CheckConstraint("revoked_at IS NULL OR revoked_at >= created_at", name="revoked_after_creation"),
        Index("ix_api_token_created_by_id", "created_by_id"),
    )

    @property
    def identifier(self) -> str:
        """What people see and name it by: the token's first part (the secret is not in it)."""
        return f"{PREFIX}{self.public_id}"

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(scope for scope in SCOPES if getattr(self, f"scope_{scope}"))
