"""How responses travel: static files under a fingerprinted address, cached for a year, and
compression that cannot be turned into a BREACH oracle.

**Static files.** Every file under `static/` is served at `/static/<version>/<path>`, where
`version` is a digest of the whole folder: changing any file (a stylesheet, a font) changes
every address, so a browser may keep each file for a year without asking again
(`immutable`). One digest for the folder, not one per file, keeps relative addresses inside
the stylesheets (`url(../fonts/…)`) right. An address from before the last change, or one
without a version, is redirected to the current one.

**Compression** (Flask-Compress: zstd, brotli or gzip, after what the browser accepts).
BREACH recovers a secret from the compressed size of responses that hold the secret next to
text the attacker chooses, by making the victim's browser send many requests *with the
victim's cookies*. So a dynamic response is compressed only when its request carried no
credentials at all — no cookie and no Authorization header: such a response cannot hold
anything that belongs to a visitor (no session, no CSRF token an attacker could reuse, no
exact counts, no personal data), only what anyone receives. Static files carry no secret and
are always compressed. Measured: a worker's first visit to the Khmer form (no cookie yet) is
compressed whole; every later page of a session is sent as it is (≈ 11 KB of HTML, the
static files already cached).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, Request, Response, abort, redirect, request, url_for
from werkzeug.security import safe_join

from registry.extensions import compress

STATIC_MAX_AGE = 365 * 24 * 3600  # a year: the address changes whenever the content does
STATIC_PREFIX = "/static"


def fingerprint(folder: Path) -> str:
    """A digest of every file's path and bytes under `folder` (12 hex digits)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def static_url_path(folder: Path) -> str:
    """The app's static address for `folder`'s current content (given to Flask(...))."""
    return f"{STATIC_PREFIX}/{fingerprint(folder)}"


def carries_credentials(incoming: Request) -> bool:
    """Whether the request could make the response hold something of one visitor's:
    any cookie (the session, the CSRF token) or an Authorization header."""
    return bool(incoming.cookies) or "Authorization" in incoming.headers


def deliver(response: Response) -> Response:
    """After every request: long caching for static files, compression where it is safe."""
    if request.endpoint == "static":
        if response.status_code in (200, 206, 304):  # a 304 renews the copy's freshness too
            response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE}, immutable"
        if response.status_code != 200:  # 304, or 206 for a range: sent as they are
            return response
        # Read the (small) file and close it now: compressed whole, with a length
        # (compressing the file's stream would leave the file open).
        opened = response.response
        response.direct_passthrough = False
        response.set_data(b"".join(opened))
        getattr(opened, "close", lambda: None)()
        return compress.after_request(response)
    if carries_credentials(request):
        return response
    return compress.after_request(response)


COMPRESSION = {
    "COMPRESS_REGISTER": False,  # deliver() decides, response by response
    "COMPRESS_ALGORITHM": ["zstd", "br", "gzip"],
    "COMPRESS_ALGORITHM_STREAMING": ["zstd", "br", "gzip"],
    "COMPRESS_MIMETYPES": ["text/html", "text/css", "text/javascript", "application/javascript",
                           "application/json", "image/svg+xml", "text/csv", "text/plain"],
}


def register_delivery(app: Flask) -> None:
    app.config.update(COMPRESSION)
    compress.init_app(app)
    folder = Path(app.static_folder or "")

    @app.get(f"{STATIC_PREFIX}/<path:path>")
    def stale_static(path: str):  # type: ignore[no-untyped-def]
        """`/static/<old version>/<file>` or `/static/<file>`: the file's current address."""
        version, _, rest = path.partition("/")
        for candidate in (rest, path):
            target = safe_join(str(folder), candidate) if candidate else None
            if target and Path(target).is_file():
                return redirect(url_for("static", filename=candidate), 308)
        abort(404)

    app.after_request(deliver)
