"""Every mapped table, imported once so the metadata (and Alembic) sees them all."""
from registry.actors.models import Actor, IdCounter
from registry.imports.models import ImportBatch, ImportProblem
from registry.staff.models import StaffUser

__all__ = ["Actor", "IdCounter", "ImportBatch", "ImportProblem", "StaffUser"]
