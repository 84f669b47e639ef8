"""`flask verification-keys`: the certificate-verification key ids as configured, and how many
registrations' latest certificate each one signs (what retiring it would void)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from registry.extensions import db
from registry.verification.services import key_usage


@click.command("verification-keys")
@with_appcontext
def verification_keys_command() -> None:
    """List key ids (current, accepted, retired) and the certificates printed under each.

    Rotation is a configuration change (README, "Certificate verification"): put a new id first
    in REGISTRY_VERIFICATION_KEY_IDS, restart; retire the old one by leaving it out once few
    certificates still use it."""
    configured = tuple(current_app.config["VERIFICATION_KEY_IDS"])
    usage = key_usage(db.session)
    for key_id in sorted(set(configured) | set(usage), reverse=True):
        state = "current" if key_id == configured[0] else "accepted" if key_id in configured else "retired"
        click.echo(f"key {key_id}: {state}, {usage.get(key_id, 0)} registration(s) last printed with it")
