"""The public statistics and API: small counts never shown, not even by subtraction; the
API answers as its OpenAPI document says; signed-in ministry staff get exact counts."""
from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from registry.stats.disclosure import protect_group, public
from tests.helpers import make_user, sign_in
from tests.import_files import good, write_csv
from tests.test_stats import known_rows


def schema_validator(client: Any, name: str) -> jsonschema.Draft202012Validator:
    document = client.get("/api/v1/openapi.json").get_json()
    return jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": document["components"]})


@pytest.fixture
def loaded(app, runner, tmp_path: Path):  # type: ignore[no-untyped-def]
    # The known dataset plus a tiny commune (3 people) and a province with 7.
    rows = known_rows() + [good(3000 + i, province="08", district="0801", commune="080101") for i in range(3)]
    rows += [good(4000 + i, province="17", district="1701", commune="170101", category="employee") for i in range(7)]
    assert runner.invoke(args=["import-actors", str(write_csv(tmp_path / "k.csv", rows))]).exit_code == 0
    assert runner.invoke(args=["load-indicators"]).exit_code == 0
    return app


def counts_in(payload: dict[str, Any]) -> list[int | None]:
    cells = [payload["total"], *(c for cells in payload["breakdowns"].values() for c in cells)]
    return [c["count"] for c in cells]


PUBLIC_QUERIES = ["", "?province=12", "?province=08", "?province=17&category=employee", "?province=12&gender=female",
                  "?district=1201", "?commune=080101", "?as_of=2024-12-01", "?as_of=2024-12-02", "?since=2024-12-01",
                  "?province=12&category=employee&gender=male&as_of=2024-12-10"]


def test_public_api_never_shows_a_small_count_alone_or_by_subtraction(loaded) -> None:  # type: ignore[no-untyped-def]
    client = loaded.test_client()
    validator = schema_validator(client, "Stats")
    published: list[int] = []
    for query in PUBLIC_QUERIES:
        response = client.get("/api/v1/stats" + query)
        assert response.status_code == 200, query
        payload = response.get_json()
        validator.validate(payload)
        assert payload["exact"] is False
        for count in counts_in(payload):
            assert count is None or count == 0 or count >= 5
        for cell in (c for cells in payload["breakdowns"].values() for c in cells):
            assert (cell["count"] is None) == cell["suppressed"]
        # within one answer: the total minus the visible cells never reveals a hidden cell
        for name, cells in payload["breakdowns"].items():
            hidden = [c for c in cells if c["suppressed"]]
            if len(hidden) == 1:  # only when nothing else is there to hide with it, and then the total is hidden too
                assert payload["total"]["suppressed"], name
                assert all(c["count"] == 0 for c in cells if not c["suppressed"]), name
        published += [c for c in counts_in(payload) if c]
    # across answers: any difference of two published counts is 0 or at least 5
    assert published
    for a, b in itertools.combinations(set(published), 2):
        assert abs(a - b) >= 5


def test_the_tiny_commune_is_suppressed_with_a_complement(loaded) -> None:  # type: ignore[no-untyped-def]
    payload = loaded.test_client().get("/api/v1/stats?province=08").get_json()
    assert payload["total"] == {"count": None, "suppressed": True}
    assert all(c["suppressed"] for c in payload["breakdowns"]["by_category"] if c["code"] == "self_employed")


def test_disclosure_rules() -> None:
    assert [public(n).count for n in range(0, 14)] == [0, None, None, None, None, 5, 5, 5, 10, 10, 10, 10, 10, 15]
    shown = protect_group({"a": 3, "b": 9, "c": 40, "d": 0})
    assert shown["a"].suppressed and shown["b"].suppressed and not shown["c"].suppressed
    assert shown["d"].count == 0


def test_ministry_staff_get_exact_counts_and_a_province_account_its_province(loaded) -> None:  # type: ignore[no-untyped-def]
    make_user(loaded, "minister@example.org", "ministry")
    make_user(loaded, "kampot@example.org", "ministry", province="07")
    client = loaded.test_client()
    sign_in(client, "minister@example.org")
    payload = client.get("/api/v1/stats?province=08").get_json()
    schema_validator(client, "Stats").validate(payload)
    assert payload["exact"] is True and payload["total"]["count"] == 3
    limited = loaded.test_client()
    sign_in(limited, "kampot@example.org")
    assert limited.get("/api/v1/stats").get_json()["area"]["code"] == "07"
    refused = limited.get("/api/v1/stats?province=12")
    assert refused.status_code == 403
    schema_validator(limited, "Error").validate(refused.get_json())


@pytest.mark.parametrize("query, field", [
    ("?as_of=31/12/2024", "as_of"), ("?province=99", "area"), ("?province=12&district=0102", "district"),
    ("?category=worker", "category"), ("?gender=x", "gender"), ("?since=2024-12-31&as_of=2024-12-01", "since"),
    ("?district=12", "district"),
])
def test_bad_parameters_get_400_naming_the_field(loaded, query: str, field: str) -> None:  # type: ignore[no-untyped-def]
    client = loaded.test_client()
    response = client.get("/api/v1/stats" + query + "&lang=en")
    assert response.status_code == 400
    schema_validator(client, "Error").validate(response.get_json())
    assert response.get_json()["error"]["field"] == field


def test_indicators_api_lists_the_seed_figures(loaded) -> None:  # type: ignore[no-untyped-def]
    client = loaded.test_client()
    payload = client.get("/api/v1/indicators?year=2024&lang=en").get_json()
    schema_validator(client, "Indicators").validate(payload)
    values = {i["code"]: i["value"] for i in payload}
    assert values["IE_ACTORS_TOTAL"] == 1185 and values["IND_JOBS"] == 1160181 and values["WAT_CONNECTIONS"] == 1440913
    assert client.get("/api/v1/indicators?year=20x4").status_code == 400


def test_dhis2_data_value_set_for_staff_only(loaded) -> None:  # type: ignore[no-untyped-def]
    client = loaded.test_client()
    assert client.get("/api/v1/dhis2/dataValueSet?period=2024").status_code == 401
    make_user(loaded, "out@example.org", "outreach")
    sign_in(client, "out@example.org")
    assert client.get("/api/v1/dhis2/dataValueSet?period=2024").status_code == 403
    make_user(loaded, "m@example.org", "ministry")
    staff = loaded.test_client()
    sign_in(staff, "m@example.org")
    payload = staff.get("/api/v1/dhis2/dataValueSet?period=202412").get_json()
    schema_validator(staff, "DataValueSet").validate(payload)
    province_17 = [v for v in payload["dataValues"] if v["orgUnit"] == "17"]
    assert province_17 == [{"dataElement": "IE_REG_EMPLOYEE", "categoryOptionCombo": "IE_SEX_FEMALE",
                            "orgUnit": "17", "period": "202412", "value": "7"}]
    assert {v["orgUnit"] for v in payload["dataValues"]} >= {"12", "1201", "01", "0102"}
    assert staff.get("/api/v1/dhis2/dataValueSet?period=2024-12").status_code == 400


def test_public_page_shows_no_small_count(loaded) -> None:  # type: ignore[no-untyped-def]
    client = loaded.test_client()
    for query in ("?year=2024", "?year=2024&area=08", "?year=2024&area=0801"):
        html = client.get("/stats" + query + "&lang=en").get_data(as_text=True)
        cells = re.findall(r'<td class="num">([^<]*)</td>', html)
        assert cells
        for text in cells:
            assert text == "&lt;5" or int(text.replace(",", "")) == 0 or int(text.replace(",", "")) >= 5
