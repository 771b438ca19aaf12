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
    graphiql: bool = Field(True, description="Serve the GraphiQL explorer at /graphql in a browser.")
    log_level: str = Field("info", description="Python logging level.")


@lru_cache
def get_settings() -> Settings:
    return Settings()
