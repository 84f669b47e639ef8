"""The tally key packs permanent slots (not list positions) in named fields with room to
grow, and a flow bit (people arriving in or leaving the registry): every count is recounted.

Revision ID: 0005_tally_slot_layout
Revises: 0004_tally_and_indicators
Create Date: 2026-11-26
"""
from datetime import date

from alembic import context

revision = "0005_tally_slot_layout"
down_revision = "0004_tally_and_indicators"
branch_labels = None
depends_on = None

# ---------------------------------------------------------------------------------------
# Frozen: registry.stats.tally's LAYOUT and registry.vocab's slots as of this revision.
# Most significant first: level 2 bits, dimension 3, period 1, area 20, day 16, flow 1,
# category 4, gender 3, value 8.
_SHIFT = {"level": 56, "dimension": 53, "period": 52, "area": 32, "day": 16, "flow": 15,
          "category": 11, "gender": 8, "value": 0}
_EPOCH = date(2000, 1, 1)
_CATEGORIES = {"employee": 0, "micro_enterprise": 1, "self_employed": 2}
_GENDERS = {"female": 0, "male": 1}
_SECTORS = {"agriculture": 0, "manufacturing": 1, "construction": 2, "trade": 3, "transport": 4,
            "food_service": 5, "repair": 6, "personal_services": 7, "domestic_work": 8, "other": 9}
_CHANNELS = {"self": 0, "outreach": 1}
_AGE_BANDS = {"15-24": 0, "25-34": 1, "35-44": 2, "45-54": 3, "55-64": 4, "65+": 5}
_DIMENSIONS_AT = {0: (0, 1, 2, 3), 1: (0, 1, 2, 3), 2: (0,), 3: (0,)}  # total, sector, channel, age band
_ARRIVED = 0


def _keys(registered, commune, category, gender, sector, channel, band):
    days = ((registered - _EPOCH).days, (registered.replace(day=1) - _EPOCH).days)
    cell = ((_ARRIVED << _SHIFT["flow"]) | (_CATEGORIES[category] << _SHIFT["category"])
            | (_GENDERS[gender] << _SHIFT["gender"]))
    values = (0, _SECTORS[sector], _CHANNELS[channel], _AGE_BANDS[band])
    areas = (0, int(commune[:2]), int(commune[:4]), int(commune))
    for level, dimensions in _DIMENSIONS_AT.items():
        for dimension in dimensions:
            for period in (0, 1):
                yield ((level << _SHIFT["level"]) | (dimension << _SHIFT["dimension"]) | (period << _SHIFT["period"])
                       | (areas[level] << _SHIFT["area"]) | (days[period] << _SHIFT["day"]) | cell | values[dimension])


def _revision_0004():
    """The frozen counting of revision 0004 (it reads the actor table and writes the tally
    the same way for any layout; this revision passes its own keys)."""
    return context.script.get_revision(down_revision).module


def upgrade():
    _revision_0004().count_actors(context.get_bind(), _keys)


def downgrade():
    _revision_0004().count_actors(context.get_bind())  # back to that revision's layout
