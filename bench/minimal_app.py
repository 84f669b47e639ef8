"""The load test's yardstick: a minimal Flask POST (8 fields validated, one insert) on the same
database and under the same gunicorn settings as the registry (bench/load.py serves both).

No session, no CSRF, no rate limit, no template: what any Flask form that stores a row costs
on this machine. `MINIMAL_DATABASE_URL` names the database; the table is made by `create_table`.

    gunicorn -c gunicorn.conf.py --pythonpath bench 'minimal_app:create_app()'
"""
from __future__ import annotations

import os
import re
from datetime import date

import sqlalchemy as sa
from flask import Flask, request

from registry.database import configure_engine

TABLE = "minimal_registration"
CATEGORIES = {"employee", "self_employed", "micro_enterprise"}
GENDERS = {"female", "male", "other"}
SECTORS = {"trade", "food_service", "agriculture", "manufacturing", "transport", "repair", "construction", "other"}
_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_DIGITS = re.compile(r"\d+")


def create_table(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"CREATE TABLE {TABLE} (id {'INTEGER' if engine.dialect.name == 'sqlite' else 'SERIAL'} PRIMARY KEY,"
            " category TEXT NOT NULL, full_name TEXT NOT NULL, gender TEXT NOT NULL, date_of_birth DATE NOT NULL,"
            " national_id TEXT, phone TEXT NOT NULL, commune_code TEXT NOT NULL, sector TEXT NOT NULL)")


def _checked(form: dict[str, str]) -> dict[str, object] | str:
    """The eight values, or the name of the first wrong field."""
    name = " ".join(form.get("full_name", "").split())
    if not 2 <= len(name) <= 100 or not name.replace(" ", "").replace("-", "").isalpha():
        return "full_name"
    for field, allowed in (("category", CATEGORIES), ("gender", GENDERS), ("sector", SECTORS)):
        if form.get(field) not in allowed:
            return field
    match = _DMY.fullmatch(form.get("date_of_birth", "").strip())
    try:
        born = date(int(match.group(3)), int(match.group(2)), int(match.group(1))) if match else None
    except ValueError:
        born = None
    if born is None:
        return "date_of_birth"
    phone = "".join(form.get("phone", "").split())
    if not (_DIGITS.fullmatch(phone) and 9 <= len(phone) <= 10 and phone.startswith("0")):
        return "phone"
    national_id = "".join(form.get("national_id", "").split()) or None
    if national_id is not None and not (_DIGITS.fullmatch(national_id) and len(national_id) == 9):
        return "national_id"
    commune = form.get("commune", "")
    if not (_DIGITS.fullmatch(commune) and len(commune) == 6):
        return "commune"
    return {"category": form["category"], "full_name": name, "gender": form["gender"], "date_of_birth": born,
            "national_id": national_id, "phone": phone, "commune_code": commune, "sector": form["sector"]}


def create_app() -> Flask:
    app = Flask(__name__)
    engine = sa.create_engine(os.environ["MINIMAL_DATABASE_URL"])
    configure_engine(engine)  # SQLite: the registry's WAL, busy timeout and BEGIN IMMEDIATE
    insert = sa.text(f"INSERT INTO {TABLE} (category, full_name, gender, date_of_birth, national_id, phone,"
                     " commune_code, sector) VALUES (:category, :full_name, :gender, :date_of_birth, :national_id,"
                     " :phone, :commune_code, :sector)")

    sqlite = engine.dialect.name == "sqlite"

    @app.post("/minimal")
    def minimal():  # type: ignore[no-untyped-def]
        values = _checked(request.form.to_dict())
        if isinstance(values, str):
            return f"wrong field: {values}\n", 422
        if sqlite:  # stored as ISO text, as SQLAlchemy's Date does there
            values["date_of_birth"] = values["date_of_birth"].isoformat()  # type: ignore[union-attr]
        with engine.begin() as connection:
            connection.execute(insert, values)
        return "", 303, {"Location": "/minimal"}

    return app
