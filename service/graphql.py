"""The GraphQL schema, composed from the domains' Query types."""

import strawberry
from fastapi import Request
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.fastapi import GraphQLRouter

from service.core.db import SessionDep
from service.core.graphql import Context, ErrorCodes
from service.measurements.graphql import MeasurementsMutation, MeasurementsQuery
from service.registry.graphql import RegistryQuery
from service.settings import Settings
from service.strategy.graphql import StrategyMutation, StrategyQuery


@strawberry.type
class Query(RegistryQuery, StrategyQuery, MeasurementsQuery):
    pass


@strawberry.type
class Mutation(MeasurementsMutation, StrategyMutation):
    pass


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    extensions=[
        lambda: QueryDepthLimiter(max_depth=12),
        lambda: MaxAliasesLimiter(max_alias_count=30),
        lambda: MaxTokensLimiter(max_token_count=5000),
        ErrorCodes,
    ],
)


async def _context(request: Request, session: SessionDep) -> Context:
    return Context(session, request.headers.get("authorization"))


def graphql_router(settings: Settings) -> GraphQLRouter:
    return GraphQLRouter(
        schema,
        context_getter=_context,
        graphql_ide="graphiql" if settings.graphiql else None,
        multipart_uploads_enabled=False,
    )
