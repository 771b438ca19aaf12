"""The GraphQL schema, composed from the domains' Query types."""

import strawberry
from fastapi import Request
from fastapi.responses import HTMLResponse
from strawberry.extensions import DisableIntrospection, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.fastapi import GraphQLRouter

from service.core.db import UncommittedSessionDep
from service.core.explorers import graphiql_page
from service.core.graphql import CommitOnce, Context, ErrorCodes
from service.core.metrics import GraphQLOperationMetrics
from service.feed.graphql import FeedQuery
from service.measurements.graphql import MeasurementsMutation, MeasurementsQuery
from service.registry.graphql import RegistryMutation, RegistryQuery
from service.settings import Settings
from service.strategy.graphql import StrategyMutation, StrategyQuery


@strawberry.type
class Query(RegistryQuery, StrategyQuery, MeasurementsQuery, FeedQuery):
    pass


@strawberry.type
class Mutation(RegistryMutation, StrategyMutation, MeasurementsMutation):
    pass


MAX_DEPTH, MAX_ALIASES, MAX_TOKENS = 12, 30, 5000


def build_schema(introspection: bool = True) -> strawberry.Schema:
    extensions = [
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        GraphQLOperationMetrics,
        CommitOnce,
        ErrorCodes,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions)


schema = build_schema()


async def _context(request: Request, session: UncommittedSessionDep) -> Context:
    return Context(session, request.headers.get("authorization"))


class _LocalGraphiQLRouter(GraphQLRouter):
    """Strawberry's router with a GraphiQL page whose files this service serves (Strawberry's loads them from a CDN)."""

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return graphiql_page(request)


def graphql_router(settings: Settings) -> GraphQLRouter:
    return _LocalGraphiQLRouter(
        schema if settings.graphql_introspection else build_schema(introspection=False),
        context_getter=_context,
        graphql_ide="graphiql" if settings.graphiql else None,
        multipart_uploads_enabled=False,
    )
