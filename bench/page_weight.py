"""What a worker's phone downloads: the Khmer form on a first visit, then the next page.

    .venv/bin/python bench/page_weight.py

Serves the app (SQLite in a temporary folder) and opens /register in real Chromium as a
360-px phone asking for Khmer, then /status in the same browser. Prints every response with
its bytes on the wire (headers + encoded body, as Chromium counts them), the totals against
the issue's budgets (50 KB first visit, 15 KB next page) and the same first visit without
compression (the "raw" figure: Accept-Encoding: identity), so the ratio says what
compression and caching buy. tests/test_page_weight.py asserts the budgets with the same
measurement.
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-only")

from werkzeug.serving import make_server  # noqa: E402

FIRST_VISIT_BUDGET = 50_000
NEXT_PAGE_BUDGET = 15_000


def visit(browser, base: str, paths: list[str], *, compressed: bool = True) -> list[list[tuple[str, int]]]:  # type: ignore[no-untyped-def]
    """Open `paths` one after another in one fresh phone-sized context; per path, the
    responses that came over the network: (url, header bytes + encoded body bytes)."""
    headers = {} if compressed else {"Accept-Encoding": "identity"}
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="km-KH",
                                  extra_http_headers=headers)
    page = context.new_page()
    pages: list[list[tuple[str, int]]] = []

    def finished(request) -> None:  # type: ignore[no-untyped-def]
        sizes = request.sizes()
        pages[-1].append((request.url.removeprefix(base), sizes["responseHeadersSize"] + sizes["responseBodySize"]))

    page.on("requestfinished", finished)
    for path in paths:
        pages.append([])
        page.goto(base + path, wait_until="networkidle")
        page.evaluate("document.fonts.ready.then(() => true)")
    context.close()
    return pages


def serve(app):  # type: ignore[no-untyped-def]
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_port}"


def main() -> None:
    from flask_migrate import upgrade
    from playwright.sync_api import sync_playwright

    from registry import create_app

    logging.disable(logging.INFO)  # migrations and the server's request lines
    folder = Path(tempfile.mkdtemp())
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite'}"}, instance_path=str(folder))
    with app.app_context():
        upgrade()
    httpd, base = serve(app)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            first, following = visit(browser, base, ["/register", "/status"])
            (raw_first,) = visit(browser, base, ["/register"], compressed=False)
            browser.close()
    finally:
        httpd.shutdown()
        shutil.rmtree(folder, ignore_errors=True)
    for title, responses, budget in (("first visit /register", first, FIRST_VISIT_BUDGET),
                                     ("next page /status", following, NEXT_PAGE_BUDGET)):
        print(f"{title}:")
        for url, size in responses:
            print(f"  {size:>7,} B  {url}")
        total = sum(size for _, size in responses)
        print(f"  {total:>7,} B  total ({total / budget:.0%} of the {budget // 1000} KB budget)")
    raw = sum(size for _, size in raw_first)
    print(f"first visit without compression: {raw:,} B; compressed and fingerprinted: "
          f"{sum(s for _, s in first):,} B (ratio {sum(s for _, s in first) / raw:.2f})")


if __name__ == "__main__":
    main()
