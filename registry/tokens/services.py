"""Making, checking and revoking API tokens. Plain functions that only flush; the views and the
CLI commit and record the events.

A token is `ier_` + a public identifier (12 hex characters, to find its row and to name it on
the page) + `_` + a secret of 32 random bytes (`secrets.token_urlsafe(32)`). Only a SHA-256
of the whole token is stored. Not argon2 as for passwords: a slow hash protects secrets people
choose, which can be guessed; 256 random bits cannot be, however fast the hash, and argon2
would cost ~50 ms and 46 MiB on *every* API request. Not keyed (HMAC with SECRET_KEY) either:
a key would add nothing against guessing and would tie every token to SECRET_KEY, which must
stay free to rotate (it signs everyone out, it must not break the ministry's DHIS2).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from registry import clock
from registry.i18n import N_
from registry.staff.models import StaffUser
from registry.tokens.models import MAX_LIFETIME_SECONDS, PREFIX, PUBLIC_ID_LENGTH, SCOPES, ApiToken

TOKEN_ROLES = ("ministry", "admin")  # who may make tokens, and whose tokens work
LIFETIME_DAYS = (30, 90, 365)  # what the page offers
MAX_LIFETIME = timedelta(seconds=MAX_LIFETIME_SECONDS)
NAME_LENGTH = 80
USED_EVERY = timedelta(seconds=60)  # last_used_at is written at most once a minute per token
_FORMAT = re.compile(rf"{PREFIX}([0-9a-f]{{{PUBLIC_ID_LENGTH}}})_[A-Za-z0-9_-]{{43}}")
_NO_TOKEN = hashlib.sha256(b"no such token").hexdigest()  # compared against when no row matches


class TokenError(ValueError):
    """A token cannot be made as asked: `message` (English, to translate), `params`, and the
    form `field` at fault."""

    def __init__(self, message: str, field: str, **params: object) -> None:
        self.message, self.field, self.params = message, field, params
        super().__init__(message % params if params else message)


class TokenRefused(Exception):
    """A presented token does not work. `reason`: "invalid" (not a token of ours, or a wrong
    secret), "revoked", "expired", or "account" (its creator is disabled or may no longer use
    tokens); `token_id` is known only once the secret matched."""

    def __init__(self, reason: str, token_id: int | None = None, creator_id: int | None = None) -> None:
        self.reason, self.token_id, self.creator_id = reason, token_id, creator_id
        super().__init__(reason)


@dataclass(frozen=True)
class TokenUse:
    """What a request made with a valid token may do: its creator's role and province limit as
    they are now, within the token's scopes."""

    token_id: int
    creator_id: int
    role: str
    province: str | None
    scopes: frozenset[str]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def public_id_of(text: str) -> str | None:
    """The public identifier in a whole token (None when `text` is not shaped like one)."""
    match = _FORMAT.fullmatch(text)
    return match.group(1) if match else None


def may_make_tokens(user: StaffUser) -> bool:
    return bool(user.active and user.role in TOKEN_ROLES)


def create_token(session: Session, creator: StaffUser, name: str, scopes: set[str] | frozenset[str], days: int,
                 *, now: datetime) -> tuple[ApiToken, str]:
    """A new token and its secret (returned once, to show; only its hash is kept)."""
    name = name.strip()
    if not 1 <= len(name) <= NAME_LENGTH:
        raise TokenError(N_("Write a name of 1 to %(max)s characters, e.g. “DHIS2 server”."), "name", max=NAME_LENGTH)
    if not scopes or not set(scopes) <= set(SCOPES):
        raise TokenError(N_("Tick at least one of the things the token may do."), "scopes")
    if "exact_counts" in scopes and "statistics" not in scopes:
        raise TokenError(N_("Exact counts are statistics: tick Statistics too."), "scopes")
    if not 1 <= days <= MAX_LIFETIME.days:
        raise TokenError(N_("Choose how long the token works: at most %(days)s days."), "days", days=MAX_LIFETIME.days)
    if not may_make_tokens(creator):
        raise TokenError(N_("Only ministry and administrator accounts make API tokens."), "name")
    if "metrics" in scopes and creator.province_code is not None:
        raise TokenError(N_("The metrics are national figures: an account limited to a province cannot make a "
                            "token for them."), "scopes")
    public_id = secrets.token_hex(PUBLIC_ID_LENGTH // 2)
    secret = f"{PREFIX}{public_id}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        name=name, public_id=public_id, token_hash=hash_token(secret),
        **{f"scope_{scope}": scope in scopes for scope in SCOPES},
        created_by_id=creator.id, created_at=now, expires_at=now + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    return token, secret


def find_token(session: Session, reference: str) -> ApiToken | None:
    """A token by its number, its identifier (`ier_…`, as the page shows it, with or without
    the ellipsis) or the whole token."""
    reference = reference.strip().rstrip("….")
    if reference.isdigit():
        return session.get(ApiToken, int(reference))
    public_id = public_id_of(reference) or reference.removeprefix(PREFIX)
    if len(public_id) != PUBLIC_ID_LENGTH:
        return None
    return session.scalar(select(ApiToken).where(ApiToken.public_id == public_id))


def revoke_token(session: Session, token: ApiToken, *, by_id: int | None, now: datetime) -> bool:
    """Stop a token for good; False when it was revoked already (nothing changes)."""
    if token.revoked_at is not None:
        return False
    token.revoked_at, token.revoked_by_id = now, by_id
    session.flush()
    return True


def tokens_for(session: Session, user: StaffUser) -> list[ApiToken]:
    """Admins see every token; others their own. Newest first."""
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if user.role != "admin":
        query = query.where(ApiToken.created_by_id == user.id)
    return list(session.scalars(query))


def may_revoke(user: StaffUser, token: ApiToken) -> bool:
    return user.role == "admin" or token.created_by_id == user.id


def status(token: ApiToken, now: datetime) -> str:
    """"revoked", "expired" or "active"."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if clock.as_utc(token.expires_at) <= now else "active"


def authenticate(session: Session, presented: str, *, now: datetime) -> TokenUse:
    """What the presented token may do now, or TokenRefused. The secret is compared in
    constant time; the reason is told only to whoever holds the right secret."""
    public_id = public_id_of(presented)
    token = session.scalar(select(ApiToken).where(ApiToken.public_id == public_id)) if public_id else None
    if not hmac.compare_digest(token.token_hash if token else _NO_TOKEN, hash_token(presented)) or token is None:
        raise TokenRefused("invalid")
    creator = token.created_by
    state = status(token, now)
    if state != "active":
        raise TokenRefused(state, token.id, creator.id)
    if not may_make_tokens(creator):
        raise TokenRefused("account", token.id, creator.id)
    return TokenUse(token.id, creator.id, creator.role, creator.province_code, frozenset(token.scopes))


def mark_used(session: Session, token_id: int, *, now: datetime) -> None:
    """Note when a token was last used (at most one write a minute per token)."""
    session.execute(update(ApiToken).where(
        ApiToken.id == token_id, or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - USED_EVERY),
    ).values(last_used_at=now))
