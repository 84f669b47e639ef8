"""The certificate_verification table: one random verification id per registration (what a
certificate's QR code names, never the registration number) and the key its latest
certificate was shown or printed with (how many papers a retired key would void)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.actors.models import ActorId
from registry.extensions import db

ID_BYTES = 12  # 96 random bits: unguessable, and never the same twice among billions
ID_LENGTH = 16  # those bytes in base64url


class CertificateVerification(db.Model):  # type: ignore[name-defined]
    """Made the first time a certificate is shown or printed; kept for the registration's life."""

    __tablename__ = "certificate_verification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int] = mapped_column(ActorId, ForeignKey("actor.id"), unique=True)
    verification_id: Mapped[str] = mapped_column(String(ID_LENGTH), unique=True)
    key_id: Mapped[int] = mapped_column(SmallInteger)  # of the latest certificate shown or printed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"length(verification_id) = {ID_LENGTH}", name="verification_id"),
        CheckConstraint("key_id >= 1 AND key_id <= 255", name="key_id"),
    )
