"""The "prove it is you" check, written once, with its limits in one place.

A worker proves who they are with their registration number, phone and date of birth
(status look-up; self-service updates later); a worker who lost their number gets it back
with their phone, date of birth and name. A wrong answer never says which part was wrong.

Limits count per registration number, per phone and per national ID *across all clients*
(the shared rate-limit store: Redis when several processes serve), so nobody can try
dates of birth against one number from many addresses. The public form's duplicate answer
is limited the same way: it is the one place that says whether someone is registered.
Counter keys are keyed hashes, so the store never holds a phone or an ID in clear.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import date
from typing import Sequence
from weakref import WeakKeyDictionary

from flask import current_app
from limits import parse_many
from limits.storage import RedisSentinelStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter
from redis.commands.core import Script
from sqlalchemy import select, text, union_all
from sqlalchemy.orm import Session

from registry import vocab
from registry.actors.models import Actor
from registry.extensions import limiter

# What one value may be named in, from any client, before the answer is "too many tries".
LIMITS: dict[str, str] = {
    "number": "10 per hour;20 per day",  # status look-ups naming one registration number
    "phone": "10 per hour;30 per day",  # look-ups and recoveries naming one phone
    "registration_phone": "30 per day",  # registrations naming one phone (a family or a shop may share one)
    "registration_national_id": "5 per day",  # registrations naming one national ID
    "change_request": "5 per day",  # self-service change requests sent for one registration
}


class TooManyAttempts(Exception):
    """This value was named too often; the answer is withheld (HTTP 429)."""


def spend(kind: str, value: str) -> None:
    """Count one attempt naming `value`; raise TooManyAttempts past LIMITS[kind]."""
    spend_each([(kind, value)])


def spend_each(named: Sequence[tuple[str, str]]) -> None:
    """spend(kind, value) for each pair in order, in one round trip to Redis instead of one
    per limit: the first value past a limit raises TooManyAttempts and those after it are
    not counted, as with spend() called one after another."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    secret = current_app.config["SECRET_KEY"].encode()
    groups = [(kind, hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32], parse_many(LIMITS[kind]))
              for kind, value in named]
    strategy = limiter.limiter
    if isinstance(strategy, FixedWindowRateLimiter) and type(strategy.storage) in (RedisStorage, RedisSentinelStorage):
        refused = _counted(strategy.storage, [(n, item.key_for("proof", kind, key), item.get_expiry(), item.amount)
                                             for n, (kind, key, items) in enumerate(groups, 1) for item in items])
        if refused:
            raise TooManyAttempts(groups[refused - 1][0])
        return
    for kind, key, items in groups:  # another store or strategy: through the strategy, one limit at a time
        if not all([strategy.hit(item, "proof", kind, key) for item in items]):
            raise TooManyAttempts(kind)


# The fixed window of limits' own script (incr_expire.lua) for several counters at once, in
# groups: the first group with a counter past its limit is returned, the groups after it
# are not counted (0: none refused).
_COUNT = """
local refused = 0
for i, key in ipairs(KEYS) do
    local group = tonumber(ARGV[3 * i - 2])
    if refused ~= 0 and group ~= refused then break end
    local current = redis.call("incrby", key, 1)
    if current == 1 then redis.call("expire", key, ARGV[3 * i - 1]) end
    if refused == 0 and current > tonumber(ARGV[3 * i]) then refused = group end
end
return refused
"""
_scripts: WeakKeyDictionary[RedisStorage, Script] = WeakKeyDictionary()


def _counted(storage: RedisStorage, counters: Sequence[tuple[int, str, int, int]]) -> int:
    """Count (group, key, expiry, limit) counters on `storage` in one EVALSHA (the keys as
    limits names them, under its prefix); the first group refused, else 0."""
    script = _scripts.get(storage)
    if script is None:
        script = _scripts[storage] = storage.get_connection().register_script(_COUNT)
    return int(script(keys=[storage.prefixed_key(key) for _, key, _, _ in counters],
                      args=[value for group, _, expiry, amount in counters for value in (group, expiry, amount)]))


def prove(session: Session, number: str, phone: str, date_of_birth: date) -> Actor | None:
    """The registration only if number, phone and date of birth all match; None otherwise.

    A number merged into another registration resolves to the surviving one (the person
    proved who they are with the merged record's details; the survivor is the same person)."""
    spend_each([("number", number), ("phone", phone)])
    actor = session.scalars(select(Actor).where(
        Actor.registration_number == number, Actor.phone == phone, Actor.date_of_birth == date_of_birth)).first()
    return survivor(session, actor) if actor is not None else None


def survivor(session: Session, actor: Actor) -> Actor:
    """The registration `actor` was merged into (followed to the end), or `actor` itself."""
    seen = {actor.id}
    while actor.status == "merged" and actor.merged_into_id is not None and actor.merged_into_id not in seen:
        seen.add(actor.merged_into_id)
        actor = session.get(Actor, actor.merged_into_id)  # type: ignore[assignment]
    return actor


def recover(session: Session, phone: str, date_of_birth: date, name_key: str) -> list[Actor]:
    """Every registration (one per category at most) of the person with that phone, date of
    birth and name; an empty list when any of them is wrong."""
    spend("phone", phone)
    # One half per partial identity index (each needs its condition spelled out to be used).
    halves = [
        select(Actor.id).where(Actor.category.in_(vocab.CATEGORIES.stored_codes), Actor.phone == phone,
                               Actor.date_of_birth == date_of_birth, Actor.name_key == name_key, with_or_without,
                               text("actor.status = 'active'"))  # literal: SQLite's partial indexes need it
        for with_or_without in (Actor.national_id.is_(None), Actor.national_id.is_not(None))
    ]
    ids = list(session.scalars(union_all(*halves)))
    if not ids:
        return []
    return list(session.scalars(select(Actor).where(Actor.id.in_(ids)).order_by(Actor.registration_number)))


def limit_registration(phone: str, national_id: str | None) -> None:
    """Count a registration attempt: the answer may say the person is already registered."""
    spend_each([("registration_phone", phone), *([("registration_national_id", national_id)] if national_id else [])])
