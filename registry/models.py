"""Every mapped table, imported once so the metadata (and Alembic) sees them all."""
from registry.actors.models import Actor, IdCounter

__all__ = ["Actor", "IdCounter"]
