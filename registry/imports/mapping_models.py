"""Saved column mappings: how a source's header and coded values translate into ours."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from registry.extensions import db


class ImportMapping(db.Model):  # type: ignore[name-defined]
    """A mapping confirmed by staff and saved under a name, for one province or for everyone
    (`scope` NULL); proposed for the next file whose header has the same signature."""

    __tablename__ = "import_mapping"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    scope: Mapped[str | None] = mapped_column(String(2))  # a province code; NULL: everyone
    signature: Mapped[str] = mapped_column(String(64), index=True)  # registry.imports.mappings.header_signature
    columns: Mapped[dict[str, str]] = mapped_column(JSON)  # header cell as written -> field name or "ignore"
    values: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON)  # field -> {value's code form -> code}
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def as_json(self) -> dict[str, Any]:
        """The shape of a mapping file (`import-actors --mapping-file`)."""
        return {"name": self.name, "columns": dict(self.columns), "values": {f: dict(v) for f, v in self.values.items()}}

    __table_args__ = (
        CheckConstraint("scope IS NULL OR length(scope) = 2", name="scope"),
        CheckConstraint("length(name) >= 1", name="name"),
        # UNIQUE (scope, name), NULL scope included: two partial unique indexes, since a
        # plain unique constraint lets any number of NULL scopes through on both databases.
        Index("uq_import_mapping_scope_name", "scope", "name", unique=True,
              sqlite_where=text("scope IS NOT NULL"), postgresql_where=text("scope IS NOT NULL")),
        Index("uq_import_mapping_everyone_name", "name", unique=True,
              sqlite_where=text("scope IS NULL"), postgresql_where=text("scope IS NULL")),
    )
