"""Imports from more formats: a zipped CSV, XLS and ODS join CSV and XLSX, and a batch
records which sheet of a workbook it was read from (a Kobo export has several).

SQLite cannot alter a constraint, so the table is rebuilt (batch mode); PostgreSQL swaps it.

Revision ID: 0021_import_formats
Revises: 0020_import_mappings
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0021_import_formats"
down_revision = "0020_import_mappings"
branch_labels = None
depends_on = None

OLD_FORMATS = ("csv", "xlsx")
NEW_FORMATS = ("csv", "zip", "xlsx", "xls", "ods")


def _or_chain(column, values):
    return "(" + " OR ".join(f"{column} = '{value}'" for value in values) + ")"


def upgrade():
    with op.batch_alter_table("import_batch", recreate="auto") as batch:
        batch.add_column(sa.Column("sheet_name", sa.String(length=100), nullable=True))
        batch.drop_constraint(op.f("ck_import_batch_file_format"), type_="check")
        batch.create_check_constraint(op.f("ck_import_batch_file_format"), _or_chain("file_format", NEW_FORMATS))


def downgrade():
    with op.batch_alter_table("import_batch", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_import_batch_file_format"), type_="check")
        batch.create_check_constraint(op.f("ck_import_batch_file_format"), _or_chain("file_format", OLD_FORMATS))
        batch.drop_column("sheet_name")
