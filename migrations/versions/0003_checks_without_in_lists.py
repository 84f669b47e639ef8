"""Allowed-value CHECK constraints written as OR-ed comparisons instead of IN lists.

Same meaning; SQLite evaluates `IN (...)` in a CHECK by building a temporary index for
every row, which cost ~40 % of the bulk insert of actors (bench/import_bench.py). SQLite
cannot alter a constraint, so its tables are rebuilt (batch mode); PostgreSQL swaps them.

Revision ID: 0003_checks_without_in_lists
Revises: 0002_staff_and_imports
Create Date: 2026-11-25
"""
from alembic import op

revision = "0003_checks_without_in_lists"
down_revision = "0002_staff_and_imports"
branch_labels = None
depends_on = None

CATEGORIES = ("employee", "micro_enterprise", "self_employed")
SECTORS = ("agriculture", "manufacturing", "construction", "trade", "transport", "food_service",
           "repair", "personal_services", "domestic_work", "other")
# table -> (constraint name, column, allowed values)
CHECKS = {
    "actor": (
        ("ck_actor_category", "category", CATEGORIES),
        ("ck_actor_gender", "gender", ("female", "male")),
        ("ck_actor_sector", "sector", SECTORS),
        ("ck_actor_channel", "channel", ("self", "outreach")),
    ),
    "staff_user": (("ck_staff_user_role", "role", ("outreach", "ministry", "admin")),),
    "import_batch": (
        ("ck_import_batch_status", "status", ("queued", "running", "done", "failed")),
        ("ck_import_batch_file_format", "file_format", ("csv", "xlsx")),
    ),
    "import_problem": (("ck_import_problem_outcome", "outcome", ("rejected", "duplicate")),),
}


def _or_chain(column, values):
    return "(" + " OR ".join(f"{column} = '{value}'" for value in values) + ")"


def _in_list(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _rewrite(expression):
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, recreate="auto") as batch:
            for name, column, values in checks:
                batch.drop_constraint(op.f(name), type_="check")
                batch.create_check_constraint(op.f(name), expression(column, values))


def upgrade():
    _rewrite(_or_chain)


def downgrade():
    _rewrite(_in_list)
