"""Erasure and the import report: the rows an import did not store keep their cells, and some
of them are the person who withdrew (duplicates of their registration, repeats of their row,
rejected rows with their phone). After `flask purge` none of their values is left there,
every other person's rows are as they were, and the batches still add up."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from registry.actors import lifecycle
from registry.actors.erasure import MARKER
from registry.actors.models import Actor
from registry.extensions import db
from tests.import_files import good, write_csv
from tests.test_erasure import _everything_as_text, _insert_search

NOW = datetime(2025, 7, 20, 5, tzinfo=timezone.utc)
PERSON = {"full_name": "Chan Sophea", "phone": "012 777 888", "date_of_birth": "1991-04-02", "national_id": "123456789"}
OTHER = {"full_name": "Sok Dara", "phone": "012 345 678", "date_of_birth": "1990-01-25"}


def _import(runner, path: Path) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = runner.invoke(args=["import-actors", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def _problems(session) -> list[tuple[int, int, str, list[str]]]:  # type: ignore[no-untyped-def]
    rows = session.execute(sa.text("SELECT batch_id, row_number, outcome, cells FROM import_problem ORDER BY batch_id, row_number"))
    return [(b, r, o, c if isinstance(c, list) else json.loads(c)) for b, r, o, c in rows]


def test_purge_redacts_the_persons_rows_of_the_import_report_and_nobody_elses(app, runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app.config["ERASURE_RETENTION_DAYS"] = 0
    first = _import(runner, write_csv(tmp_path / "a.csv", [
        good(1, **PERSON),                                   # row 2: the person, stored
        good(1, **PERSON),                                   # row 3: a repeat of row 2
        good(1, **{**PERSON, "commune": "999999"}),          # row 4: rejected, the same phone
        good(2, **OTHER),                                    # row 5: somebody else, stored
        good(2, **{**OTHER, "commune": "999999"}),           # row 6: somebody else, rejected
        good(3, full_name="chan  SOPHEA", date_of_birth="02/04/1991", phone="011 999 000", commune="999999"),  # row 7:
        # rejected, their name and birth date with a phone they never had
        good(4, full_name="Chan Sophea", date_of_birth="1993-01-01", phone="011 999 001", commune="999999"),   # row 8:
        # rejected, a namesake born on another day: not theirs
    ]))
    assert (first["imported"], first["duplicates"], first["rejected"]) == (2, 1, 4)
    with app.app_context():
        person = db.session.scalar(sa.select(Actor).where(Actor.phone == "+85512777888"))
        number = person.registration_number
        lifecycle.correct(db.session, person, {"phone": "010 555 444"}, "New phone", None, now=NOW)
        db.session.commit()
    second = _import(runner, write_csv(tmp_path / "b.csv", [
        good(1, **{**PERSON, "phone": "010 555 444"}),       # row 2: a duplicate of the registration
        good(1, **{**PERSON, "phone": "010 555 444"}),       # row 3: a repeat of row 2
        good(1, **{**PERSON, "district": "0000"}),           # row 4: rejected, the old phone
        good(2, **OTHER),                                    # row 5: somebody else's duplicate
    ]))
    assert (second["imported"], second["duplicates"], second["rejected"]) == (0, 3, 1)
    with app.app_context():
        s = db.session
        searches = {"old_phone": _insert_search(s, "012777888", NOW), "other": _insert_search(s, "012 345 678", NOW)}
        lifecycle.deactivate(s, s.scalar(sa.select(Actor).where(Actor.registration_number == number)),
                             "consent_withdrawn", date(2025, 7, 1), None, now=NOW)
        s.commit()
        before = _problems(s)
        batches = s.execute(sa.text("SELECT id, rows, imported, duplicates, rejected FROM import_batch ORDER BY id")).all()

    done = runner.invoke(args=["purge", "--today", "2025-07-20"])
    assert done.exit_code == 0 and done.output.startswith("Erased 1 registrations"), done.output
    assert "and 6 import report rows" in done.output, done.output
    assert "777" not in done.output and "Chan" not in done.output

    with app.app_context():
        s = db.session
        after = _problems(s)
        assert [(b, r, o) for b, r, o, _ in after] == [(b, r, o) for b, r, o, _ in before]  # the report keeps its rows
        assert s.execute(sa.text("SELECT id, rows, imported, duplicates, rejected FROM import_batch ORDER BY id")).all() == batches
        changed = {(batch, row) for (batch, row, _, cells), (_, _, _, old) in zip(after, before) if cells != old}
        batch_a, batch_b = sorted({batch for batch, *_ in before})
        assert changed == {(batch_a, 3), (batch_a, 4), (batch_b, 2), (batch_b, 3), (batch_b, 4), (batch_a, 7)}
        for batch, row, _, cells in after:
            if (batch, row) in changed:
                assert set(cells) <= {MARKER, ""}, cells
        # Somebody else's rows are as they were.
        others = {(batch, row): cells for batch, row, _, cells in after if (batch, row) not in changed}
        assert others[(batch_a, 6)][1] == "Sok Dara" and others[(batch_b, 5)][1] == "Sok Dara"
        assert others[(batch_a, 8)][1:4] == ["Chan Sophea", "female", "1993-01-01"]  # the namesake's row stays
        s.execute(sa.text("DELETE FROM import_problem WHERE batch_id = :b AND row_number = 8"), {"b": batch_a})
        text = "\n".join(_everything_as_text(s))
        for value in ("Chan Sophea", "012 777 888", "+85512777888", "010 555 444", "+85510555444", "123456789", "1991-04-02"):
            assert value not in text, value
        assert "Sok Dara" in text and "012 345 678" in text
        details = {k: (v if isinstance(v, dict) else json.loads(v)) for k, v in
                   s.execute(sa.text("SELECT id, detail FROM event WHERE kind = 'actor_searched'")).all()}
        assert details[searches["old_phone"]]["terms"] == MARKER
        assert details[searches["other"]]["terms"] == "012 345 678"
