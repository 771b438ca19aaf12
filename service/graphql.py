"""The GraphQL schema, composed from the domains' Query types."""

import strawberry
from fastapi import Request
from strawberry.extensions import DisableIntrospection, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter

from service.core.db import SessionDep
from service.core.graphql import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS, Context, ErrorCodes, LimitedGraphQLRouter
from service.core.graphql_cost import CostBudget
from service.core.metrics import GraphQLOperationMetrics
from service.measurements.graphql import MeasurementsMutation, MeasurementsQuery
from service.registry.graphql import RegistryMutation, RegistryQuery
from service.settings import Settings, get_settings
from service.strategy.graphql import StrategyMutation, StrategyQuery


@strawberry.type
class Query(RegistryQuery, StrategyQuery, MeasurementsQuery):
    pass


@strawberry.type
class Mutation(RegistryMutation, StrategyMutation, MeasurementsMutation):
    pass


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or get_settings()
    extensions = [
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: CostBudget(budget_ms=settings.graphql_cost_budget_ms),
        lambda: GraphQLOperationMetrics(known_names=frozenset(settings.graphql_metric_operations)),
        ErrorCodes,
    ]
    if not settings.graphql_introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions)


schema = build_schema()  # for `export-schema`: the SDL does not depend on the settings


async def _context(request: Request, session: SessionDep) -> Context:
    return Context(session, request.app.state.write_limiter, request.headers.get("authorization"))


def graphql_router(settings: Settings) -> LimitedGraphQLRouter:
    return LimitedGraphQLRouter(
        build_schema(settings),
        timeout_s=settings.graphql_timeout_s,
        max_answer_bytes=settings.graphql_max_answer_bytes,
        context_getter=_context,
        graphql_ide="graphiql" if settings.graphiql else None,
        multipart_uploads_enabled=False,
    )
