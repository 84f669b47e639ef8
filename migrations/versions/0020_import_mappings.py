"""Saved import mappings (a source's columns and coded values translated into ours), the
mapping a batch applied, and the batch status "mapping" (waiting for staff to match columns).

Revision ID: 0020_import_mappings
Revises: 0019_actor_source_ref
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_import_mappings"
down_revision = "0019_actor_source_ref"
branch_labels = None
depends_on = None

_OLD = ("queued", "running", "done", "failed")
_NEW = _OLD + ("mapping",)


def _one_of(column, values):
    return "(" + " OR ".join(f"{column} = '{value}'" for value in values) + ")"


def upgrade():
    op.create_table(
        "import_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("scope", sa.String(length=2), nullable=True),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("scope IS NULL OR length(scope) = 2", name=op.f("ck_import_mapping_scope")),
        sa.CheckConstraint("length(name) >= 1", name=op.f("ck_import_mapping_name")),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff_user.id"], name=op.f("fk_import_mapping_created_by_id_staff_user")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["staff_user.id"], name=op.f("fk_import_mapping_updated_by_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_mapping")),
    )
    op.create_index(op.f("ix_import_mapping_signature"), "import_mapping", ["signature"], unique=False)
    op.create_index("uq_import_mapping_scope_name", "import_mapping", ["scope", "name"], unique=True,
                    sqlite_where=sa.text("scope IS NOT NULL"), postgresql_where=sa.text("scope IS NOT NULL"))
    op.create_index("uq_import_mapping_everyone_name", "import_mapping", ["name"], unique=True,
                    sqlite_where=sa.text("scope IS NULL"), postgresql_where=sa.text("scope IS NULL"))
    with op.batch_alter_table("import_batch", recreate="auto") as batch:
        batch.add_column(sa.Column("mapping_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("mapping_applied", sa.JSON(), nullable=True))
        batch.create_foreign_key(op.f("fk_import_batch_mapping_id_import_mapping"), "import_mapping",
                                 ["mapping_id"], ["id"], ondelete="SET NULL")
        batch.drop_constraint(op.f("ck_import_batch_status"), type_="check")
        batch.create_check_constraint(op.f("ck_import_batch_status"), _one_of("status", _NEW))


def downgrade():
    op.execute("UPDATE import_batch SET status = 'failed' WHERE status = 'mapping'")
    with op.batch_alter_table("import_batch", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_import_batch_status"), type_="check")
        batch.create_check_constraint(op.f("ck_import_batch_status"), _one_of("status", _OLD))
        batch.drop_constraint(op.f("fk_import_batch_mapping_id_import_mapping"), type_="foreignkey")
        batch.drop_column("mapping_applied")
        batch.drop_column("mapping_id")
    op.drop_index("uq_import_mapping_everyone_name", table_name="import_mapping")
    op.drop_index("uq_import_mapping_scope_name", table_name="import_mapping")
    op.drop_index(op.f("ix_import_mapping_signature"), table_name="import_mapping")
    op.drop_table("import_mapping")
