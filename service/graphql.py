"""The GraphQL schema, composed from the domains' Query, Mutation and Subscription types."""

import datetime as dt

import strawberry
from fastapi import Request
from fastapi.requests import HTTPConnection
from fastapi.responses import HTMLResponse
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    ValidationCache,
)

from service.core.db import UncommittedSessionDep
from service.core.explorers import graphiql_page
from service.core.graphql import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_TOKENS,
    CodedParserCache,
    CommitOnce,
    Context,
    ErrorCodes,
    LimitedGraphQLRouter,
)
from service.core.graphql_bounds import DEFAULT_MAX_LENGTH, TextBounds
from service.core.graphql_cost import CostBudget
from service.core.graphql_execution import PlannedExecutionContext
from service.core.graphql_types import ISO_DATE, UTC_DATE_TIME, NodeQuery
from service.core.metrics import GraphQLOperationMetrics
from service.feed.graphql import FeedQuery, FeedSubscription
from service.measurements.graphql import MeasurementsMutation, MeasurementsQuery
from service.measurements.reporting_graphql import ReportingQuery
from service.registry.graphql import RegistryMutation, RegistryQuery
from service.settings import Settings, get_settings
from service.strategy.graphql import StrategyMutation, StrategyQuery

GRAPHQL_DOCUMENT_CACHE = 256  # distinct documents whose parse and validation are kept per process
# The depth and alias rules, made once: a limiter built per request makes new rule classes, and the
# validation cache, keyed on the rules too, would then never find a document it validated.
DOCUMENT_LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


TEXT_BOUNDS = (
    f"Every String or ID argument or input field holds at most {DEFAULT_MAX_LENGTH} characters unless its "
    "description gives another bound; a longer one is refused (BAD_USER_INPUT, naming it) before anything runs."
)


@strawberry.type(description=TEXT_BOUNDS)
class Query(NodeQuery, RegistryQuery, StrategyQuery, MeasurementsQuery, ReportingQuery, FeedQuery):
    pass


@strawberry.type(description=TEXT_BOUNDS)
class Mutation(RegistryMutation, StrategyMutation, MeasurementsMutation):
    pass


@strawberry.type(description=TEXT_BOUNDS + " Served over WebSocket at /graphql (graphql-transport-ws).")
class Subscription(FeedSubscription):
    pass


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or get_settings()
    extensions = [
        lambda: AddValidationRules(DOCUMENT_LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        # After the token limit, which sets the parse options the parser cache keys on. Both caches are LRUs
        # bounded by entry count and hold only what parsed / validated: a frontend's few documents stay hot.
        lambda: CodedParserCache(maxsize=GRAPHQL_DOCUMENT_CACHE),
        lambda: ValidationCache(maxsize=GRAPHQL_DOCUMENT_CACHE),
        TextBounds,
        lambda: CostBudget(budget_ms=settings.graphql_cost_budget_ms),
        lambda: GraphQLOperationMetrics(known_names=frozenset(settings.graphql_metric_operations)),
        CommitOnce,
        ErrorCodes,
    ]
    if not settings.graphql_introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=PlannedExecutionContext,
        scalar_overrides={dt.datetime: UTC_DATE_TIME, dt.date: ISO_DATE},
    )


schema = build_schema()  # for `export-schema`: the SDL does not depend on the settings

# REST schemas whose GraphQL twin has another name (the others pair by name: `OrganizationOut`, `OrganizationIn`
# and `Organization`, `OrganizationInput`): the OpenAPI document takes its descriptions from the twin.
OPENAPI_TWINS = {
    "AreaOut": "PolicyArea",
    "ValueOut": "IndicatorValue",
    "SwotOut": "SwotFactor",
    "MeasurementOut": "Actual",
    "MeasurementIn": "RecordMeasurementInput",
    "Status": "MeasurementStatus",
    "EventIn": "MembershipEventInput",
    "TaskInstitutionRoleIn": "TaskRoleInput",
    "Basis": "ProvenanceBasis",
    "ReportingCalendar": "ReportingYear",
    "SlotState": "ReportingSlotState",
    "SlotCounts": "ReportingSlotCounts",
}
# REST properties that show something else than their GraphQL namesake, so keep a description of their own.
OPENAPI_OWN_DESCRIPTIONS = {
    "MeasurementIn.value": "REST's one `value` takes a text, a number or a pair; GraphQL has a field for each",
    "EventIn.date": "described by its type, `PartialDate`, as every partial date REST takes",
}


async def _context(connection: HTTPConnection, session: UncommittedSessionDep) -> Context:
    """A request's context; a WebSocket's too, whose subscriptions read with sessions of their own (the session
    here opens no database connection unless used)."""
    state = connection.app.state
    return Context(session, state.write_limiter, connection.headers.get("authorization"), state.oidc)


class _LocalGraphiQLRouter(LimitedGraphQLRouter):
    """The bounded router with a GraphiQL page whose files this service serves (Strawberry's loads them from a CDN)."""

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return graphiql_page(request)


def graphql_router(settings: Settings) -> LimitedGraphQLRouter:
    return _LocalGraphiQLRouter(
        build_schema(settings),
        timeout_s=settings.graphql_timeout_s,
        max_answer_bytes=settings.graphql_max_answer_bytes,
        context_getter=_context,
        graphql_ide="graphiql" if settings.graphiql else None,
        multipart_uploads_enabled=False,
        subscriptions_per_connection=settings.graphql_subscriptions_per_connection,
        subscriptions_per_address=settings.graphql_subscriptions_per_address,
        allowed_origins=settings.cors_origins,
    )
