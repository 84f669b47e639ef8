"""The registration receipt by text message: the registration number and the status link,
in Khmer, to the phone just registered (self-registration and assisted alike).

It is sent once the registration is committed and after the response has gone to the browser
(`response.call_on_close`, which a WSGI server calls when the page is sent): a slow or broken
gateway never slows the page nor fails the registration. A message that did not go is logged
(masked) and counted in the event log (`receipt_not_sent`, the backend and the reason, never
the phone or the text). When the job queue comes (issue 14), `deliver` becomes its job: the
view enqueues (actor id, phone, text) after the commit, and the queue retries it.
"""
from __future__ import annotations

import logging

from flask import Flask, after_this_request, current_app

from registry import clock, sms
from registry.actors.models import Actor
from registry.actors.numbers import format_number
from registry.events.services import record
from registry.extensions import db
from registry.i18n import N_, translate
from registry.web.links import public_url

log = logging.getLogger("registry.sms")
RECEIPT_LOCALE = "km"  # what a worker's phone receives, whatever language the page was in


def receipt_text(actor: Actor) -> str:
    # The catalog of one fixed language (registry.i18n, cached): flask-babel's force_locale
    # re-selected the request's locale and timezone around it, ~5 % of a registration's CPU.
    return translate(N_("Registered. Your number: %(number)s. Check: %(url)s"), RECEIPT_LOCALE,
                     number=format_number(actor.registration_number), url=public_url("registration.status"))


def send_after_response(actor: Actor) -> None:
    """Send `actor` the receipt once this request's response has been sent."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    actor_id, phone, text = actor.id, actor.phone, receipt_text(actor)

    @after_this_request
    def on_close(response):  # type: ignore[no-untyped-def]
        response.call_on_close(lambda: deliver(app, actor_id, phone, text))
        return response


def deliver(app: Flask, actor_id: int, phone: str, text: str) -> bool:
    """Send one receipt; on failure log it and record `receipt_not_sent`. Never raises."""
    try:
        sms.send(app.config, phone, text)
        return True
    except sms.SmsNotSent as error:
        reason = str(error)
    except Exception as error:  # noqa: BLE001 - nothing here may reach the registration; the type only (no data)
        reason = f"unexpected {type(error).__name__}"
    log.warning("receipt for actor %s not sent: %s", actor_id, reason)
    try:
        with app.app_context():
            record(db.session, "receipt_not_sent", now=clock.now(), subject=f"actor {actor_id}",
                   detail={"backend": app.config.get("SMS_BACKEND"), "reason": reason[:200]})
            db.session.commit()
    except Exception:  # noqa: BLE001 - the database too: the log line above is what is left
        log.exception("receipt_not_sent for actor %s could not be recorded", actor_id)
    return False
