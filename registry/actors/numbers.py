"""Registration numbers: a 9-digit serial and a Damm check digit.

The Damm check digit catches every single mistyped digit and every swap of two
neighbouring digits, the two commonest errors when a number is read out over a phone.
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import text
from sqlalchemy.orm import Session

from registry.i18n import ascii_digits

SERIAL_DIGITS = 9
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def damm_digit(digits: str, interim: int = 0) -> str:
    for char in digits:
        interim = _DAMM[interim][ord(char) - 48]
    return str(interim)


@lru_cache(maxsize=8)
def _check_digits_after(prefix: str) -> tuple[str, ...]:
    """Check digit of prefix + each of 000..999 (serials come in runs: prefixes repeat)."""
    state = int(damm_digit(prefix))
    return tuple(damm_digit(f"{last:03d}", state) for last in range(1000))


def registration_number(serial: int) -> str:
    body = f"{serial:0{SERIAL_DIGITS}d}"
    if len(body) != SERIAL_DIGITS:
        raise OverflowError("registration serial exhausted")
    return body + _check_digits_after(body[:6])[serial % 1000]


def normalise_number(typed: str) -> str | None:
    """The number as stored, from what a person typed; None if it cannot be one of ours."""
    digits = "".join(ascii_digits(typed).split()).replace("-", "")
    if not (digits.isascii() and digits.isdigit() and len(digits) == SERIAL_DIGITS + 1):
        return None
    return digits if damm_digit(digits) == "0" else None


def format_number(number: str) -> str:
    """Grouped for reading aloud: 0000-0012-34."""
    return f"{number[:4]}-{number[4:8]}-{number[8:]}"


def allocate_ids(session: Session, count: int) -> list[int]:
    """Reserve `count` new actor ids inside the current transaction."""
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text("SELECT nextval('actor_id_seq') FROM generate_series(1, :n)"), {"n": count}
        )
        return [row[0] for row in rows]
    # SQLite: write transactions begin IMMEDIATE, so this counter row is ours until commit.
    last = session.execute(
        text("UPDATE id_counter SET next_value = next_value + :n WHERE name = 'actor' RETURNING next_value"),
        {"n": count},
    ).scalar_one()
    return list(range(last - count, last))
