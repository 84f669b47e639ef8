"""Shapes of the change request forms; the rules live in change_requests.services."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField


class UpdateForm(FlaskForm):
    """What a worker may ask to change (models.FIELDS), the no-JavaScript refresh of the area
    lists, which step is posted, and the box confirming a withdrawal of consent."""

    phone = StringField()
    province = StringField()
    district = StringField()
    commune = StringField()
    sector = StringField()
    business_name = StringField()
    workers = StringField()
    refresh = StringField()
    step = StringField()  # "change", "withdraw" or "finish"
    confirm = BooleanField()


class DecisionForm(FlaskForm):
    """Staff approve (no field) or reject (with the reason the person will read)."""

    reason = StringField()
