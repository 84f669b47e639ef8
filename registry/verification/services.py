"""The verification id behind a certificate's QR code, and the public answer to a check:
valid, deactivated or merged, the category and the registration date — nothing personal."""
from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.actors.models import Actor
from registry.actors.proof import survivor
from registry.database import is_unique_violation
from registry.verification.keys import KeyRing, NotValid
from registry.verification.models import ID_BYTES, CertificateVerification


@dataclass(frozen=True)
class Answer:
    """What anyone may learn from a certificate: never a name, phone, ID, birth date or area."""

    state: str  # valid | deactivated | merged
    category: str
    registered_on: date
    survivor_active: bool | None = None  # merged: whether the registration it joined is active


def _row(session: Session, actor_id: int) -> CertificateVerification | None:
    return session.scalars(select(CertificateVerification).where(CertificateVerification.actor_id == actor_id)).first()


def issue(session: Session, actor: Actor, ring: KeyRing, *, now: datetime) -> str:
    """The token for `actor`'s certificate, under the current key: its verification id is made
    the first time (flush only; a concurrent first certificate's row wins and is used)."""
    row = _row(session, actor.id)
    if row is None:
        made = CertificateVerification(actor_id=actor.id, key_id=ring.current, created_at=now,
                                       verification_id=base64.urlsafe_b64encode(secrets.token_bytes(ID_BYTES)).decode())
        try:
            with session.begin_nested():
                session.add(made)
        except IntegrityError as error:
            if not is_unique_violation(error):
                raise
            made = _row(session, actor.id)  # type: ignore[assignment]
        row = made
    if row.key_id != ring.current:  # printed again after a rotation: the new paper uses the new key
        row.key_id = ring.current
        session.flush()
    return ring.token(row.verification_id)


def answer_for(session: Session, actor: Actor) -> Answer:
    """The public answer about the registration a certificate was made for."""
    state = {"active": "valid", "merged": "merged"}.get(actor.status, "deactivated")
    survivor_active = survivor(session, actor).status == "active" if state == "merged" else None
    return Answer(state, actor.category, actor.registered_on, survivor_active)


def check(session: Session, ring: KeyRing, token: str) -> Answer:
    """The answer for a token; NotValid or Retired (keys.KeyRing.read) before any look-up, and
    NotValid for a genuine token whose registration is gone."""
    verification_id, _key_id = ring.read(token)
    actor = session.scalars(select(Actor).join(CertificateVerification, CertificateVerification.actor_id == Actor.id)
                            .where(CertificateVerification.verification_id == verification_id)).first()
    if actor is None:
        raise NotValid(token)
    return answer_for(session, actor)


def key_usage(session: Session) -> dict[int, int]:
    """Registrations whose latest certificate uses each key id (what retiring a key would void)."""
    rows = session.execute(select(CertificateVerification.key_id, func.count()).group_by(CertificateVerification.key_id))
    return {key_id: count for key_id, count in rows}
