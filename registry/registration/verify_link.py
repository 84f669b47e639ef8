"""The verify link a certificate carries (its QR code and its text), made once per registration."""
from __future__ import annotations

from flask import current_app
from markupsafe import Markup

from registry import clock
from registry.actors.models import Actor
from registry.extensions import db
from registry.verification import services
from registry.verification.keys import KeyRing
from registry.web.links import public_url


def key_ring() -> KeyRing:
    return KeyRing.from_config(current_app.config)


def certificate_link(actor: Actor) -> str:
    """The verify link of `actor`'s certificate. Its verification id is made (and committed)
    here the first time: no paper may name an id the database does not hold."""
    token = services.issue(db.session, actor, key_ring(), now=clock.now())
    db.session.commit()
    return public_url("verify.check", token=token)


def qr_svg(link: str, title: str) -> Markup:
    """The link's QR code as inline SVG (no image request, no script); `title` names it."""
    import segno

    return Markup(segno.make(link, error="m", micro=False).svg_inline(scale=3, title=title))
