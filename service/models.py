"""Every table of every domain, so that Alembic and the tests see the whole schema."""

from service.registry.models import (  # noqa: F401
    Engagement,
    Institution,
    Membership,
    Organization,
    Representation,
    RepresentationOrganization,
)
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
