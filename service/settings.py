from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# scripts/pg.sh writes the URL of the project-local cluster here: it listens on a port chosen at its first start.
LOCAL_CLUSTER_URL_FILE = Path(__file__).resolve().parents[1] / ".data" / "database-url"


def _default_database_url() -> str:
    try:
        return LOCAL_CLUSTER_URL_FILE.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return "postgresql+asyncpg://postgres@127.0.0.1:5432/interior"


class Settings(BaseSettings):
    """Every knob of the service, read from the environment (or a `.env` file)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default_factory=_default_database_url,
        description="SQLAlchemy URL of the PostgreSQL database (asyncpg driver); unset: the project-local "
        "cluster that `make run` or `make db-start` started, else 127.0.0.1:5432.",
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
    graphql_subscriptions_per_connection: int = Field(
        10, ge=1, description="Subscriptions one WebSocket may hold at once; one more: TOO_MANY_SUBSCRIPTIONS."
    )
    graphql_subscriptions_per_address: int = Field(
        50, ge=1, description="Subscriptions one client address may hold at once, over all its WebSockets, per worker."
    )
    graphql_subscription_recheck_s: float = Field(
        10.0, gt=0, description="A waiting subscription reads the feed again after this long even if nothing woke it."
    )
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS (JSON list).")
    write_rate_per_token: int = Field(600, ge=0, description="Writes a minute per token; 0 disables the limit.")
    server_max_header_bytes: int = Field(
        16_384, ge=1_024, description="Request line and headers larger than this get 431 (as Node's default)."
    )
    server_header_timeout_s: float = Field(
        10.0, gt=0, description="Time a client has to send its request headers; then 408 and the connection closes."
    )
    server_body_timeout_s: float = Field(
        30.0, gt=0, description="Time a client has to send its whole request body; then 408."
    )
    server_keepalive_s: int = Field(5, ge=1, description="Idle keep-alive connections are closed after this.")
    server_limit_concurrency: int = Field(
        256, ge=1, description="Open connections per worker beyond which requests get 503."
    )
    write_rate_per_address: int = Field(3000, ge=0, description="Writes a minute per client address; 0 disables it.")
    oidc_issuers: list[str] = Field(
        default_factory=list,
        description="OpenID Connect issuers whose access tokens (JWT) are accepted, exactly as their `iss` (JSON "
        'list, e.g. ["https://sso.example.lv/realms/interior"]); empty: only tokens from `make token`.',
    )
    oidc_audience: str = Field("interior-api", description="The `aud` an access token must carry for this service.")
    oidc_role_claim: str = Field(
        "role", description="Claim holding the role, `admin` or `agency` (a string or a list; dots reach into objects)."
    )
    oidc_institution_claim: str = Field("institution", description="Claim holding the institution's code.")
    oidc_name_claim: str = Field(
        "name", description="Claim holding the person's display name (else `preferred_username`)."
    )
    oidc_client_id: str | None = Field(
        None, description="Public client id the explorers sign in with (authorization code + PKCE, first issuer)."
    )
    oidc_leeway_s: int = Field(30, ge=0, le=300, description="Clock skew allowed when checking `exp` and `nbf`.")
    oidc_jwks_refetch_s: float = Field(
        60, ge=0, description="At most one fetch of an issuer's keys per this many seconds (unknown `kid`, rotation)."
    )
    oidc_jwks_max_age_s: float = Field(
        3600, gt=0, description="Kept keys older than this are fetched again (and kept if the provider is down)."
    )
    oidc_timeout_s: float = Field(5, gt=0, description="Time the identity provider has to answer one request.")
    webhook_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts a webhook may target (JSON list): names (`hooks.example.lv`), `*.example.lv` for its "
        "subdomains, IP addresses or networks (`192.0.2.0/24`). Empty: no webhook can be registered.",
    )
    webhook_require_https: bool = Field(True, description="Refuse webhook targets that are not https://.")
    webhook_timeout_s: float = Field(10.0, gt=0, description="Connect, send and read limit of one delivery request.")
    webhook_backoff_base_s: float = Field(
        5.0, ge=0, description="Wait before the first retry; it doubles per attempt (with jitter) up to the maximum."
    )
    webhook_backoff_max_s: float = Field(3600.0, ge=0, description="Longest wait between two attempts.")
    webhook_retry_for_s: float = Field(
        86_400.0, ge=0, description="How long a delivery is retried from when it was queued; then it is `failed`."
    )
    webhook_secret_grace_s: float = Field(
        86_400.0, ge=0, description="After a secret rotation the old secret signs too, for this long."
    )
    webhook_batch_size: int = Field(50, ge=1, le=1000, description="Deliveries one dispatcher claims at a time.")
    webhook_connections: int = Field(
        10, ge=1, le=100, description="Requests one dispatcher has open at once (httpx's pool slows past a few dozen)."
    )
    webhook_poll_interval_s: float = Field(
        5.0,
        gt=0,
        description="Longest an idle dispatcher waits before it looks for due deliveries again: a committed change "
        "wakes it at once (LISTEN), a retry at its time; this bounds the wait after anything else (a dispatcher "
        "that died holding deliveries).",
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
