"""Imports on the job queue (RQ): the worker that runs a batch (shown on its page) and the
job that will run it. Statuses are unchanged (queued, running, done, failed, mapping).

Revision ID: 0022_import_jobs
Revises: 0021_import_formats
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0022_import_jobs"
down_revision = "0021_import_formats"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_batch") as batch:
        batch.add_column(sa.Column("worker", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("job_id", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("import_batch") as batch:
        batch.drop_column("job_id")
        batch.drop_column("worker")
