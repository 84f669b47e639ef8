"""Every mapped table, imported once so the metadata (and Alembic) sees them all."""
from registry.actors.models import Actor, IdCounter
from registry.change_requests.models import ChangeRequest
from registry.duplicates.models import DuplicatePair
from registry.events.models import Event
from registry.imports.models import ImportBatch, ImportProblem
from registry.imports.mapping_models import ImportMapping
from registry.staff.models import RecoveryCode, StaffUser
from registry.indicators.models import Indicator, IndicatorChange
from registry.stats.models import ActorTally
from registry.tokens.models import ApiToken
from registry.verification.models import CertificateVerification

__all__ = ["Actor", "ActorTally", "ApiToken", "CertificateVerification", "ChangeRequest", "DuplicatePair", "Event", "IdCounter", "ImportBatch", "ImportMapping", "ImportProblem", "Indicator", "IndicatorChange", "RecoveryCode", "StaffUser"]
