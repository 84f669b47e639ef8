"""Actors: one row per registration, identity and coded values enforced by the database.

Revision ID: 0001_actors
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0001_actors"
down_revision = None
branch_labels = None
depends_on = None

CATEGORIES = "'employee', 'micro_enterprise', 'self_employed'"
SECTORS = (
    "'agriculture', 'manufacturing', 'construction', 'trade', 'transport', 'food_service', "
    "'repair', 'personal_services', 'domestic_work', 'other'"
)


def upgrade():
    # Actor ids (and so registration numbers) come from a sequence on PostgreSQL and from
    # the id_counter row on SQLite; both are allocated in blocks by registry.actors.numbers.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.CreateSequence(sa.Sequence("actor_id_seq")))
    op.create_table(
        "actor",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("registration_number", sa.String(length=10), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("full_name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=100), nullable=False),
        sa.Column("gender", sa.String(length=6), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("national_id", sa.String(length=9), nullable=True),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("district_code", sa.String(length=4), nullable=False),
        sa.Column("commune_code", sa.String(length=6), nullable=False),
        sa.Column("sector", sa.String(length=20), nullable=False),
        sa.Column("business_name", sa.String(length=120), nullable=True),
        sa.Column("workers", sa.SmallInteger(), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"category IN ({CATEGORIES})", name=op.f("ck_actor_category")),
        sa.CheckConstraint("gender IN ('female', 'male')", name=op.f("ck_actor_gender")),
        sa.CheckConstraint(f"sector IN ({SECTORS})", name=op.f("ck_actor_sector")),
        sa.CheckConstraint("channel IN ('self', 'outreach')", name=op.f("ck_actor_channel")),
        sa.CheckConstraint("length(registration_number) = 10", name=op.f("ck_actor_registration_number")),
        sa.CheckConstraint("national_id IS NULL OR length(national_id) = 9", name=op.f("ck_actor_national_id")),
        sa.CheckConstraint("phone LIKE '+855%'", name=op.f("ck_actor_phone")),
        sa.CheckConstraint("length(full_name) >= 2 AND length(name_key) >= 1", name=op.f("ck_actor_full_name")),
        sa.CheckConstraint(
            "length(province_code) = 2"
            " AND substr(district_code, 1, 2) = province_code AND length(district_code) = 4"
            " AND substr(commune_code, 1, 4) = district_code AND length(commune_code) = 6",
            name=op.f("ck_actor_area_nesting"),
        ),
        sa.CheckConstraint(
            "(category = 'micro_enterprise' AND business_name IS NOT NULL AND workers BETWEEN 1 AND 10)"
            " OR (category <> 'micro_enterprise' AND business_name IS NULL AND workers IS NULL)",
            name=op.f("ck_actor_micro_enterprise"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actor")),
        sa.UniqueConstraint("registration_number", name=op.f("uq_actor_registration_number")),
    )
    # Identity: same category and national ID; or, without national ID, same phone,
    # date of birth and normalised name.
    op.create_index(
        "uq_actor_identity_national_id", "actor", ["category", "national_id"], unique=True,
        sqlite_where=sa.text("national_id IS NOT NULL"), postgresql_where=sa.text("national_id IS NOT NULL"),
    )
    op.create_index(
        "uq_actor_identity_contact", "actor", ["category", "phone", "date_of_birth", "name_key"], unique=True,
        sqlite_where=sa.text("national_id IS NULL"), postgresql_where=sa.text("national_id IS NULL"),
    )
    # The same person with a national ID, looked up by phone for a registration without one
    # (uq_actor_identity_contact serves the lookups of people without one).
    op.create_index(
        "ix_actor_phone_with_national_id", "actor", ["category", "phone"],
        sqlite_where=sa.text("national_id IS NOT NULL"), postgresql_where=sa.text("national_id IS NOT NULL"),
    )

    id_counter = op.create_table(
        "id_counter",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("next_value", sa.BigInteger(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_id_counter")),
    )
    op.bulk_insert(id_counter, [{"name": "actor", "next_value": 1}])


def downgrade():
    op.drop_table("id_counter")
    op.drop_index("ix_actor_phone_with_national_id", table_name="actor")
    op.drop_index("uq_actor_identity_contact", table_name="actor")
    op.drop_index("uq_actor_identity_national_id", table_name="actor")
    op.drop_table("actor")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.DropSequence(sa.Sequence("actor_id_seq")))
