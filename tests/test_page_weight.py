"""What a worker's phone downloads, measured in real Chromium (bytes on the wire, as the
browser counts them): the Khmer form on a first visit from a phone without a Khmer font, then
the next page, with the cache the first visit filled. bench/page_weight.py prints the same
measurement file by file."""
from __future__ import annotations

import pytest

from bench.page_weight import FIRST_VISIT_BUDGET, NEXT_PAGE_BUDGET, visit
from tests.test_browser import CHROMIUM, browser, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed")


def test_the_khmer_form_is_light_on_a_first_visit_and_the_next_page_lighter(browser, server) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    first, following = visit(browser, server, ["/register", "/status"])
    fetched = [url for url, _size in first]
    assert any(url.endswith(".woff2") for url in fetched), "the machine has a Khmer font: the font was not fetched"
    assert sum(size for _, size in first) <= FIRST_VISIT_BUDGET, first
    # The next page: its HTML only; every static file comes from the browser's cache unasked.
    assert [url for url, size in following if size > 0] == ["/status"], following
    assert sum(size for _, size in following) <= NEXT_PAGE_BUDGET, following


def test_compression_is_never_applied_to_a_response_that_may_hold_a_visitors_secret(client) -> None:  # type: ignore[no-untyped-def]
    """BREACH: a response sent to a request carrying a cookie (the session, its CSRF token)
    or an Authorization header is never compressed; a request without them gets only what
    anyone gets, and that is compressed. Static files always are."""
    accept = {"Accept-Encoding": "gzip, br, zstd"}
    anonymous = client.get("/register", headers=accept)
    assert anonymous.headers.get("Content-Encoding") in {"gzip", "br", "zstd"}
    assert "Set-Cookie" in anonymous.headers  # the session with the form's CSRF token starts here
    assert "Accept-Encoding" in anonymous.headers["Vary"]
    with_session = client.get("/register", headers=accept)  # the test client sends the cookie back
    assert "Content-Encoding" not in with_session.headers
    assert 'name="csrf_token"' in with_session.get_data(as_text=True)
    client.delete_cookie("session")
    bearer = client.get("/api/v1/stats", headers={**accept, "Authorization": "Bearer x"})
    assert "Content-Encoding" not in bearer.headers
    stylesheet = client.get(static_url(client, "css/app.css"), headers=accept)
    assert stylesheet.status_code == 200 and stylesheet.headers.get("Content-Encoding") in {"gzip", "br", "zstd"}


def static_url(client, filename: str) -> str:  # type: ignore[no-untyped-def]
    from flask import url_for

    with client.application.test_request_context():
        return url_for("static", filename=filename)


def test_static_files_have_fingerprinted_addresses_kept_for_a_year(client) -> None:  # type: ignore[no-untyped-def]
    url = static_url(client, "css/app.css")
    assert url.startswith("/static/") and url.count("/") == 4  # /static/<version>/css/app.css
    page = client.get("/register").get_data(as_text=True)
    assert url in page
    response = client.get(url)
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Cookie" not in response.headers.get("Vary", ""), "the file would be fetched again when the cookie changes"
    assert "Set-Cookie" not in response.headers
    # An address from before the last change (or without a version) leads to the current file.
    for old in ("/static/css/app.css", "/static/0123456789ab/css/app.css"):
        moved = client.get(old)
        assert moved.status_code == 308 and moved.headers["Location"].endswith(url), old
    assert client.get("/static/0123456789ab/css/missing.css").status_code == 404
    assert client.get("/static/0123456789ab/../registry/config.py").status_code == 404


def test_the_version_changes_when_any_static_file_changes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from registry.web.delivery import fingerprint

    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "a.css").write_text("body{}")
    (tmp_path / "fonts.woff2").write_bytes(b"\x00\x01")
    before = fingerprint(tmp_path)
    (tmp_path / "fonts.woff2").write_bytes(b"\x00\x02")
    assert fingerprint(tmp_path) != before
    (tmp_path / "fonts.woff2").write_bytes(b"\x00\x01")
    assert fingerprint(tmp_path) == before


def test_a_revalidated_or_partial_static_file_keeps_its_year(client) -> None:  # type: ignore[no-untyped-def]
    url = static_url(client, "css/app.css")
    with client.get(url, headers={"Accept-Encoding": "br"}) as first:
        etag = first.headers["ETag"]
    with client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": etag}) as again:
        assert again.status_code == 304
        assert again.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    with client.get(url, headers={"Range": "bytes=0-9"}) as part:
        assert part.status_code == 206 and len(part.data) == 10 and "Content-Encoding" not in part.headers
