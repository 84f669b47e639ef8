"""Migrations: an empty database and a database at every earlier revision reach the models' schema,
and the statistics tally they leave equals a recount by today's code."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from registry import PROJECT_ROOT
from registry.extensions import db
from registry.stats.queries import Query, statistics
from registry.stats import tally
from registry.stats.tally import rebuild
from tests.helpers import POSTGRES_URL, create_postgres, make_app, reset_postgres

SCRIPTS = ScriptDirectory(str(PROJECT_ROOT / "migrations"))
REVISIONS = [r.revision for r in reversed(list(SCRIPTS.walk_revisions()))]


def not_the_name_index(obj, name, kind, _reflected, _compare_to) -> bool:  # type: ignore[no-untyped-def]
    return not (kind == "table" and name and name.startswith("actor_name"))


def test_migrated_schema_matches_the_models(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context(), db.engine.connect() as connection:
        # SQLite's FTS5 name index (migration 0011: a virtual table and its shadow tables) has no model.
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": not_the_name_index})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_postgresql_is_part_of_the_run_or_said_to_be_skipped() -> None:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not tested: set REGISTRY_TEST_DATABASE_URL (.ci/run does)")
    assert POSTGRES_URL.startswith("postgresql")


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of our own: a SQLite file, or a second PostgreSQL database (the
    shared test database stays at head for the other tests)."""
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        return
    url = sa.make_url(POSTGRES_URL)
    rendered = url.set(database=f"{url.database}_migrations").render_as_string(hide_password=False)
    create_postgres(rendered)
    reset_postgres(rendered)
    yield rendered


# People as any revision's actor table holds them (columns that exist since 0001).
PEOPLE = [
    # id, number, category, name, key, gender, birth, nid, phone, province, district, commune, sector, business, workers, channel, registered
    (1, "0000000013", "employee", "Sok Dara", "sokdara", "female", date(1990, 1, 25), None, "+85512345678",
     "12", "1201", "120101", "trade", None, None, "self", date(2024, 12, 16)),
    (2, "0000000024", "micro_enterprise", "Chan Sophal", "chansophal", "male", date(1960, 5, 1), "123456789",
     "+85512345679", "12", "1202", "120201", "food_service", "Noodle shop", 3, "outreach", date(2024, 12, 31)),
    (3, "0000000035", "self_employed", "Keo Mony", "keomony", "female", date(2004, 7, 7), None, "+85517222333",
     "01", "0102", "010201", "other", None, None, "outreach", date(2025, 1, 2)),
]


def _insert_people(connection: sa.Connection, people: list[tuple] | None = None) -> None:  # type: ignore[type-arg]
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    connection.execute(sa.text(
        "INSERT INTO actor (id, registration_number, category, full_name, name_key, gender, date_of_birth,"
        " national_id, phone, province_code, district_code, commune_code, sector, business_name, workers,"
        " channel, registered_on, created_at, consented_at) VALUES (:id, :number, :category, :name, :key,"
        " :gender, :birth, :nid, :phone, :province, :district, :commune, :sector, :business, :workers,"
        " :channel, :registered, :now, :now)"),
        [dict(zip(("id", "number", "category", "name", "key", "gender", "birth", "nid", "phone", "province",
                   "district", "commune", "sector", "business", "workers", "channel", "registered"), person), now=now)
         for person in (people or PEOPLE)])


def _count_as_of(revision: str, connection: sa.Connection) -> None:
    """Count the people just inserted the way `revision` itself would have (each revision that
    recounts the tally keeps a frozen `count_actors` or its own `_keys` for it)."""
    modules = [SCRIPTS.get_revision(r).module for r in reversed(REVISIONS[: REVISIONS.index(revision) + 1])]
    counter = next((m for m in modules if hasattr(m, "count_actors")), None)
    if counter is not None:  # before 0004 there is no tally
        keys = next((m._keys for m in modules if hasattr(m, "_keys")), None)
        counter.count_actors(connection, keys)


def _period(key: int) -> str:
    """The period of a tally key in today's layout."""
    slot = (key >> tally.SHIFT["period"]) & ((1 << tally.WIDTH["period"]) - 1)
    return {number: name for name, number in tally.PERIODS.items()}[slot]


def _tally() -> list[tuple[int, int]]:
    return sorted(map(tuple, db.session.execute(sa.text("SELECT key, n FROM actor_tally")).all()))  # type: ignore[arg-type]


@pytest.mark.parametrize("start", [None, *REVISIONS[:-1]], ids=lambda r: f"from {r or 'empty'}")
def test_upgrading_from_every_revision_keeps_the_people_and_counts_them(scratch_url: str, start: str | None) -> None:
    app = make_app(scratch_url)
    with app.app_context():
        if start is not None:
            upgrade(revision=start)
            with db.engine.begin() as connection:
                _insert_people(connection)
                _count_as_of(start, connection)  # the database as that revision leaves it
        upgrade()
        migrated = _tally()
        assert rebuild(db.session) == (len(PEOPLE) if start else 0)
        db.session.commit()
        assert _tally() == migrated  # what the migrations counted is what today's code counts
        if start is None:
            return
        stats = statistics(db.session, Query(as_of=date(2024, 12, 31)))
        assert stats.breakdowns["by_category"] == {"employee": 1, "micro_enterprise": 1, "self_employed": 0}
        assert statistics(db.session, Query(as_of=date(2025, 1, 31))).total == 3


def test_downgrading_past_the_slot_layout_and_back_gives_the_same_counts(scratch_url: str) -> None:
    app = make_app(scratch_url)
    with app.app_context():
        upgrade(revision="0004_tally_and_indicators")
        with db.engine.begin() as connection:
            _insert_people(connection)
            _count_as_of("0004_tally_and_indicators", connection)
        upgrade()
        at_head = _tally()
        db.session.remove()
        downgrade(revision="0004_tally_and_indicators")
        old_layout = _tally()
        assert sum(n for _key, n in old_layout) == sum(n for key, n in at_head if _period(key) != "y")
        assert old_layout != at_head
        db.session.remove()
        upgrade()
        assert _tally() == at_head


def _widened(key: int) -> int:
    """A key of 0010-0024's layout (period 1 bit at 53, dimension and level above it) in
    0025's (the period 2 bits: dimension and level one bit higher)."""
    return (key & ((1 << 54) - 1)) | ((key >> 54) << 55)


SEGMENTS = [  # id, actor, start, end, commune, category, sector, in-flow, out-flow
    (1, 1, date(2024, 12, 16), date(2025, 3, 10), "120101", "employee", "trade", "arrived", "left"),
    (2, 2, date(2024, 12, 31), date(2025, 2, 1), "120201", "micro_enterprise", "food_service", "arrived", "moved_out"),
    (3, 2, date(2025, 2, 1), None, "010201", "micro_enterprise", "food_service", "moved_in", None),
]


def test_the_year_rows_revision_counts_every_timeline_and_its_downgrade_keeps_the_days_and_months(scratch_url: str) -> None:
    """0025_tally_years recounts the people's timelines (a person who left, one who moved to
    another province) as today's rebuild does, with a year row beside each day and month;
    its downgrade recounts the same days and months in the narrower layout."""
    app = make_app(scratch_url)
    with app.app_context():
        upgrade(revision="0024_roman_key")
        with db.engine.begin() as connection:
            _insert_people(connection)
            connection.execute(sa.text("UPDATE actor SET status = 'deactivated', status_reason = 'left',"
                                       " status_effective = :day WHERE id = 1"), {"day": date(2025, 3, 10)})
            connection.execute(sa.text(
                "INSERT INTO actor_segment (id, actor_id, start, end_on, commune_code, category, sector, in_flow, out_flow)"
                " VALUES (:id, :actor, :start, :end, :commune, :category, :sector, :in_flow, :out_flow)"),
                [dict(zip(("id", "actor", "start", "end", "commune", "category", "sector", "in_flow", "out_flow"), s))
                 for s in SEGMENTS])
        upgrade()
        migrated = _tally()
        assert {_period(key) for key, _n in migrated} == {"d", "m", "y"}
        assert rebuild(db.session) == 3
        db.session.commit()
        assert _tally() == migrated
        before_the_exit = statistics(db.session, Query(as_of=date(2025, 2, 28)))
        assert before_the_exit.total == 3 and before_the_exit.breakdowns["by_area"]["01"] == 2
        after_it = statistics(db.session, Query(as_of=date(2025, 12, 31)))
        assert after_it.total == 2 and after_it.breakdowns["by_area"] == {**after_it.breakdowns["by_area"], "01": 2, "12": 0}
        db.session.remove()
        downgrade(revision="0024_roman_key")
        assert sorted((_widened(key), n) for key, n in _tally()) == [(key, n) for key, n in migrated if _period(key) != "y"]
        db.session.remove()
        upgrade()
        assert _tally() == migrated


def test_names_with_invisible_characters_are_recomputed_and_conflicts_reported(scratch_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    app = make_app(scratch_url)
    first, hidden, alone = PEOPLE[0], list(PEOPLE[0]), list(PEOPLE[2])
    hidden[0:5] = [4, "0000000046", "employee", "So\u034fk Dara", "so\u034fkdara"]  # the same person as the first
    alone[0:5] = [5, "0000000057", "self_employed", "កែ\u200bវ មុន្នី", "កែ\u200bវមុន្នី"]
    with app.app_context():
        upgrade(revision="0006_event_log")
        with db.engine.begin() as connection:
            _insert_people(connection, [first, tuple(hidden), tuple(alone)])
        capsys.readouterr()
        upgrade()  # alembic logs to standard error
        names = dict(db.session.execute(sa.text("SELECT registration_number, name_key FROM actor")).all())
    assert names["0000000057"] == "កែវមុន្នី"  # cleaned
    assert names["0000000046"] == "so\u034fkdara"  # left for the duplicate review…
    assert "registration 0000000046 is the same person as 0000000013" in capsys.readouterr().err  # …and reported


def test_lifecycle_revision_counts_everyone_active_and_refuses_to_downgrade_past_a_deactivation(scratch_url: str) -> None:
    """0010_actor_lifecycle: every existing registration is active and counted in the
    four-flow layout; the identity indexes cover active registrations only; a downgrade
    with a deactivated registration is refused (0009 could not hold it), without one it
    returns to the one-flow layout."""
    app = make_app(scratch_url)
    with app.app_context():
        upgrade(revision="0009_api_tokens")
        with db.engine.begin() as connection:
            _insert_people(connection)
            _count_as_of("0009_api_tokens", connection)
        before = _tally()
        db.session.remove()
        upgrade(revision="0010_actor_lifecycle")
        assert db.session.execute(sa.text("SELECT DISTINCT status FROM actor")).scalars().all() == ["active"]
        assert statistics(db.session, Query(as_of=date(2025, 1, 31))).total == 3
        assert _tally() != before  # the same counts under wider keys
        db.session.remove()
        with db.engine.begin() as connection:
            connection.execute(sa.text("UPDATE actor SET status = 'deactivated', status_reason = 'error' WHERE id = 1"))
            # The same person registers again: allowed, the earlier registration is not active.
            again = dict(zip(("id", "number"), (4, "0000000046")))
            connection.execute(sa.text(
                "INSERT INTO actor (id, registration_number, category, full_name, name_key, gender, date_of_birth,"
                " national_id, phone, province_code, district_code, commune_code, sector, channel, registered_on,"
                " created_at, consented_at) SELECT :id, :number, category, full_name, name_key, gender, date_of_birth,"
                " national_id, phone, province_code, district_code, commune_code, sector, channel, registered_on,"
                " created_at, consented_at FROM actor WHERE id = 1"), again)
            with pytest.raises(sa.exc.IntegrityError):  # but not twice while active
                with connection.begin_nested():
                    connection.execute(sa.text(
                        "INSERT INTO actor (id, registration_number, category, full_name, name_key, gender, date_of_birth,"
                        " national_id, phone, province_code, district_code, commune_code, sector, channel, registered_on,"
                        " created_at, consented_at) SELECT 5, '0000000057', category, full_name, name_key, gender,"
                        " date_of_birth, national_id, phone, province_code, district_code, commune_code, sector, channel,"
                        " registered_on, created_at, consented_at FROM actor WHERE id = 4"))
        with pytest.raises(SystemExit):  # Flask-Migrate logs the migration's RuntimeError and exits 1
            downgrade(revision="0009_api_tokens")
        assert db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == "0010_actor_lifecycle"
        db.session.remove()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM actor WHERE id = 4"))
            connection.execute(sa.text("UPDATE actor SET status = 'active', status_reason = NULL WHERE id = 1"))
        downgrade(revision="0009_api_tokens")
        assert _tally() == before


def test_khmer_name_keys_are_recomputed_and_the_same_person_goes_to_the_duplicate_queue(scratch_url: str) -> None:
    app = make_app(scratch_url)
    first, again, other_order, alone = list(PEOPLE[2]), list(PEOPLE[2]), list(PEOPLE[2]), list(PEOPLE[0])
    # As the earlier rule stored them: the key kept the marks in the order they were typed.
    first[0:5] = [4, "0000000046", "self_employed", "ស្រី មុំ", "ស្រីមុំ"]
    again[0:5] = [5, "0000000057", "self_employed", "ស\u17b8\u17d2រ មុំ", "ស\u17b8\u17d2រមុំ"]  # renders the same
    other_order[0:5] = [6, "0000000068", "self_employed", "ម\u17c6\u17bb ស្រី", "ម\u17c6\u17bbស្រី"]  # another name order
    alone[0:5] = [7, "0000000079", "employee", "ប\u17b6\u17d2រក់ ដារ៉ា", "ប\u17b6\u17d2រក់ដារ៉ា"]
    with app.app_context():
        upgrade(revision="0015_duplicates")
        with db.engine.begin() as connection:
            _insert_people(connection, [tuple(first), tuple(again), tuple(other_order), tuple(alone)])
            if connection.dialect.name == "sqlite":  # the name index, as the app writes it with each batch
                connection.execute(sa.text("INSERT INTO actor_name(rowid, name_key) SELECT id, name_key FROM actor"))
        upgrade()
        keys = dict(db.session.execute(sa.text("SELECT id, name_key FROM actor")).all())
        pairs = db.session.execute(sa.text(
            "SELECT first_actor_id, second_actor_id, score, reasons, status, source, province_code FROM duplicate_pair")).all()
    assert keys[7] == "ប្រាក់ដារ៉ា"  # recomputed: the canonical order
    assert keys[6] == "មុំស្រី"
    assert keys[4] == "ស្រីមុំ" and keys[5] == "ស\u17b8\u17d2រមុំ"  # the later one keeps its key: the unique index holds…
    assert [tuple(p) for p in pairs] == [(4, 5, 100, "renormalised", "pending", "migration", "01")]  # …and staff decide


def test_romanised_keys_are_stored_for_the_registrations_already_there(scratch_url: str) -> None:
    """0024: every stored name gets the key the validation core gives a new one (the
    duplicate look-up probes it), erased records none; the way back drops the column."""
    from registry.actors.romanise import roman_key

    app = make_app(scratch_url)
    erased = list(PEOPLE[1])
    erased[3:5] = ["[erased]", "[erased]"]
    khmer = list(PEOPLE[2])
    khmer[0:5] = [4, "0000000046", "self_employed", "សុខ ដារ៉ា", "សុខដារ៉ា"]
    with app.app_context():
        upgrade(revision="0023_metrics_scope")
        with db.engine.begin() as connection:
            _insert_people(connection, [PEOPLE[0], tuple(erased), tuple(khmer)])
        upgrade()
        keys = dict(db.session.execute(sa.text("SELECT id, roman_key FROM actor")).all())
        db.session.remove()
        downgrade(revision="0023_metrics_scope")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("actor")}
        db.session.remove()
        upgrade()
    assert keys == {1: roman_key("Sok Dara"), 2: "", 4: roman_key("សុខ ដារ៉ា")}
    assert keys[1] == keys[4] != ""  # one key across scripts: what the look-up finds the pair by
    assert "roman_key" not in columns
