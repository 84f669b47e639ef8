"""/staff/tokens: ministry and admin staff make, list and revoke API tokens (admins: everyone's)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from registry import clock
from registry.events.views import audit
from registry.extensions import db
from registry.tokens.forms import RevokeForm, TokenForm
from registry.tokens.models import SCOPE_LABELS, ApiToken
from registry.tokens.services import (
    LIFETIME_DAYS, TOKEN_ROLES, TokenError, create_token, may_revoke, revoke_token, status, tokens_for,
)
from registry.web.access import roles_required

bp = Blueprint("tokens", __name__, url_prefix="/staff/tokens")


def _page(form: TokenForm, code: int = 200):  # type: ignore[no-untyped-def]
    user = current_user._get_current_object()
    return render_template("tokens/index.html", form=form, tokens=tokens_for(db.session, user), now=clock.now(),
                           status=status, may_revoke=lambda t: may_revoke(user, t), scope_labels=SCOPE_LABELS,
                           lifetimes=LIFETIME_DAYS, revoke_form=RevokeForm(formdata=None)), code


@bp.get("")
@roles_required(*TOKEN_ROLES)
def index():  # type: ignore[no-untyped-def]
    return _page(TokenForm(formdata=None))


@bp.post("")
@roles_required(*TOKEN_ROLES)
def create():  # type: ignore[no-untyped-def]
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        token, secret = create_token(db.session, current_user._get_current_object(), form.name.data or "",
                                     set(form.scopes.data or ()), form.lifetime(), now=clock.now())
    except TokenError as error:
        db.session.rollback()
        getattr(form, error.field).errors.append(_(error.message, **error.params))
        return _page(form, 422)
    audit("api_token_created", subject=f"api_token {token.id}",
          detail={"name": token.name, "scopes": list(token.scopes), "expires": token.expires_at.date().isoformat()})
    db.session.commit()
    # Shown in this answer only (never stored, never in a cookie or an address; no-store).
    return render_template("tokens/created.html", token=token, secret=secret, scope_labels=SCOPE_LABELS,
                           base=request.url_root.rstrip("/"), year=clock.today().year)


@bp.post("/<int:token_id>/revoke")
@roles_required(*TOKEN_ROLES)
def revoke(token_id: int):  # type: ignore[no-untyped-def]
    if not RevokeForm().validate_on_submit():
        abort(400)
    token = db.get_or_404(ApiToken, token_id)
    if not may_revoke(current_user, token):
        abort(403)
    if revoke_token(db.session, token, by_id=current_user.id, now=clock.now()):
        audit("api_token_revoked", subject=f"api_token {token.id}", detail={"name": token.name, "via": "web"})
        db.session.commit()
        flash(_("The token “%(name)s” (%(identifier)s) is revoked: it stops working now.", name=token.name,
                identifier=token.identifier), "ok")
    else:
        flash(_("The token “%(name)s” was revoked already.", name=token.name), "ok")
    return redirect(url_for("tokens.index"), 303)
