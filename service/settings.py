from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service, read from the environment (or a `.env` file)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/interior",
        description="SQLAlchemy URL of the PostgreSQL database (asyncpg driver).",
    )
    db_pool_size: int = Field(10, ge=1, description="Connections kept open per process.")
    db_statement_timeout_ms: int = Field(15_000, ge=0, description="Server-side statement timeout; 0 disables it.")
    db_connect_timeout_s: float = Field(5.0, gt=0, description="How long a request waits for a database connection.")
    response_cache_mb: int = Field(64, ge=0, description="Memory for cached anonymous read answers; 0 disables.")
    graphiql: bool = Field(True, description="Serve the GraphiQL explorer at /graphql in a browser.")
    graphql_introspection: bool = Field(True, description="Answer GraphQL introspection queries.")
    log_level: str = Field("info", description="Python logging level.")
    max_body_bytes: int = Field(5_000_000, ge=1_000, description="Larger request bodies get 413.")
    graphql_max_body_bytes: int = Field(
        100_000, ge=1_000, description="Larger GraphQL request bodies get 413 before anything parses them."
    )
    graphql_cost_budget_ms: float = Field(
        5_000, gt=0, description="Estimated execution (ms) over which a GraphQL operation is refused: QUERY_TOO_COSTLY."
    )
    graphql_timeout_s: float = Field(30, gt=0, description="Wall-clock limit of one GraphQL execution (QUERY_TIMEOUT).")
    graphql_max_answer_bytes: int = Field(
        5_000_000, ge=1_000, description="Larger GraphQL answers are replaced by an ANSWER_TOO_LARGE error."
    )
    graphql_metric_operations: list[str] = Field(
        default_factory=lambda: ["Strategy", "Strategies", "Organizations", "Indicators", "Progress"],
        description="GraphQL operation names counted by name in /metrics (JSON list); any other counts as `other`.",
    )
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS (JSON list).")
    write_rate_per_token: int = Field(600, ge=0, description="Writes a minute per token; 0 disables the limit.")
    write_rate_per_address: int = Field(3000, ge=0, description="Writes a minute per client address; 0 disables it.")


@lru_cache
def get_settings() -> Settings:
    return Settings()
