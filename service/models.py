"""Every table of every domain, so that Alembic and the tests see the whole schema."""

from service.core.auth import ApiToken  # noqa: F401
from service.core.idempotency import IdempotentRequest  # noqa: F401
from service.core.journal import JournalEntry  # noqa: F401
from service.core.outbox import OutboxEvent  # noqa: F401
from service.measurements.models import (  # noqa: F401
    Assessment,
    Measurement,
    ReportingException,
    ReportingPeriod,
)
from service.registry.models import (  # noqa: F401
    Engagement,
    Institution,
    Membership,
    Organization,
    Representation,
    RepresentationOrganization,
)
from service.seed.models import SeedBaseline, SeedConflict  # noqa: F401
from service.strategy.models import (  # noqa: F401
    ActionDirection,
    Footnote,
    Goal,
    GoalInstitution,
    Indicator,
    IndicatorValue,
    PolicyArea,
    Strategy,
    SwotFactor,
    Task,
    TaskInstitution,
)
from service.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription  # noqa: F401
