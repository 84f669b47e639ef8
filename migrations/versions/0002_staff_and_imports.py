"""Staff accounts, import batches and their problem rows; actors remember their batch and row.

Revision ID: 0002_staff_and_imports
Revises: 0001_actors
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_staff_and_imports"
down_revision = "0001_actors"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "staff_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('outreach', 'ministry', 'admin')", name=op.f("ck_staff_user_role")),
        sa.CheckConstraint("province_code IS NULL OR length(province_code) = 2", name=op.f("ck_staff_user_province_code")),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_staff_user_email_lowercase")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_user")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_user_email")),
    )
    op.create_table(
        "import_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("province_code", sa.String(length=2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("file_format", sa.String(length=4), nullable=False),
        sa.Column("stored_path", sa.String(length=1024), nullable=False),
        sa.Column("header", sa.JSON(), nullable=False),
        sa.Column("unknown_columns", sa.JSON(), nullable=False),
        sa.Column("same_as_batch_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=True),
        sa.Column("last_row", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seconds_running", sa.Float(), nullable=False),
        sa.Column("failure", sa.JSON(), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_import_batch_status")),
        sa.CheckConstraint("file_format IN ('csv', 'xlsx')", name=op.f("ck_import_batch_file_format")),
        sa.CheckConstraint("rows = imported + duplicates + rejected", name=op.f("ck_import_batch_counts_add_up")),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["staff_user.id"], name=op.f("fk_import_batch_uploaded_by_id_staff_user")),
        sa.ForeignKeyConstraint(["same_as_batch_id"], ["import_batch.id"], name=op.f("fk_import_batch_same_as_batch_id_import_batch")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batch")),
    )
    op.create_index("ix_import_batch_sha256", "import_batch", ["sha256"])
    op.create_table(
        "import_problem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=9), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.CheckConstraint("outcome IN ('rejected', 'duplicate')", name=op.f("ck_import_problem_outcome")),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batch.id"], name=op.f("fk_import_problem_batch_id_import_batch")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_problem")),
        sa.UniqueConstraint("batch_id", "row_number", name=op.f("uq_import_problem_batch_id_row_number")),
    )
    # Plain ADD COLUMN on both databases: no table rebuild of a registry of millions.
    if op.get_bind().dialect.name == "sqlite":  # SQLite cannot ALTER constraints; inline REFERENCES
        op.execute("ALTER TABLE actor ADD COLUMN import_batch_id INTEGER REFERENCES import_batch (id)")
    else:
        op.add_column("actor", sa.Column("import_batch_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_actor_import_batch_id_import_batch"), "actor", "import_batch", ["import_batch_id"], ["id"])
    op.add_column("actor", sa.Column("source_row", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("actor") as batch:
        batch.drop_column("source_row")
        batch.drop_column("import_batch_id")
    op.drop_table("import_problem")
    op.drop_index("ix_import_batch_sha256", table_name="import_batch")
    op.drop_table("import_batch")
    op.drop_table("staff_user")
