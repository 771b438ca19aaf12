"""Property-based fuzzing of the whole REST API from the committed OpenAPI document, against the
service running under uvicorn on a database of its own: no 5xx, responses as documented, errors as
problem+json. A fixed number of examples per operation keeps CI bounded (FUZZ_EXAMPLES, 15; `make fuzz`
runs 300); run without and with a token; then as sequences of calls along the links schemathesis infers
from the document (an id one call answers, the next one's path parameter)."""

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import asyncpg
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import make_url

from tests.helpers import ROOT, served

schema = schemathesis.openapi.from_path(ROOT / "openapi" / "openapi.json")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
SEQUENCES = 15


def _cli(env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "service", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=True)  # fmt: skip
    return result.stdout


async def _on_postgres(url: str, *statements: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(host=parsed.host, port=parsed.port, user=parsed.username, database="postgres")
    try:
        for statement in statements:
            await admin.execute(statement)
    finally:
        await admin.close()


@contextmanager
def _live_service(**environment: str) -> Iterator[tuple[str, str, Callable[[], None]]]:
    """`python -m service serve` on a fresh, seeded database, with an admin token for it, and a function that puts
    the database back as it was when the service started (a copy kept as a template)."""
    base = os.environ.get("DATABASE_URL")
    if not base:
        pytest.fail("DATABASE_URL is not set: run the suite with `make test`")
    database = f"interior_fuzz_{uuid.uuid4().hex[:8]}"
    url = make_url(base).set(database=database).render_as_string(hide_password=False)
    env = (
        os.environ
        | {
            "DATABASE_URL": url,
            "WRITE_RATE_PER_TOKEN": "0",
            "WRITE_RATE_PER_ADDRESS": "0",
            # Generated query strings run past the 16 KB header limit (431, tested on its own): let them reach the app.
            "SERVER_MAX_HEADER_BYTES": "1048576",
            "LOG_LEVEL": "warning",
        }
        | environment
    )
    for step in (("createdb",), ("migrate",), ("seed",)):
        _cli(env, *step)
    token = _cli(env, "tokens", "create", "--role", "admin", "--label", "fuzz").splitlines()[-1]
    asyncio.run(_on_postgres(url, f'CREATE DATABASE "{database}_start" TEMPLATE "{database}"'))

    def restore() -> None:
        # The service's pooled connections die with the database (FORCE); its pool checks each one before use.
        asyncio.run(_on_postgres(url, f'DROP DATABASE "{database}" WITH (FORCE)',
                                 f'CREATE DATABASE "{database}" TEMPLATE "{database}_start"'))  # fmt: skip

    try:
        with served(env) as base_url:
            yield base_url, token, restore
    finally:
        asyncio.run(_on_postgres(url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
                                 f'DROP DATABASE IF EXISTS "{database}_start"'))  # fmt: skip


@pytest.fixture(scope="module")
def live_service() -> Iterator[tuple[str, str]]:
    with _live_service() as (base_url, token, _):
        yield base_url, token


@pytest.fixture
def fresh_service() -> Iterator[tuple[str, str, Callable[[], None]]]:
    """A service of its own, without the response cache (an answer cached before a restore is not the data)."""
    with _live_service(RESPONSE_CACHE_MB="0") as service:
        yield service


@pytest.mark.parametrize("with_token", [False, True], ids=["anonymous", "admin"])
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_holds_its_contract(case, live_service, with_token):
    base_url, token = live_service
    headers = {"Authorization": f"Bearer {token}"} if with_token else {}
    response = case.call(base_url=base_url, headers=headers, timeout=30)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    )
    if response.status_code >= 400:
        content_type = response.headers.get("content-type")
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type == "application/problem+json", response.text[:300]
        assert response.json()["detail"]
    # Schema-valid but refused is expected here: a well-formed cursor the service did not issue, an
    # unknown code, a year outside the strategy: the schema cannot say these, the 4xx detail does.
    case.validate_response(response, excluded_checks=[schemathesis.checks.positive_data_acceptance])


def test_api_holds_its_contract_across_linked_calls(fresh_service):
    """15 sequences of up to 10 calls, as admin, each answer checked as above, each sequence from the seeded data
    (restored before it). Without the restore Hypothesis stopped with FlakyStrategyDefinition: it replays a
    sequence's first calls to extend it, and the links' preconditions read the server's state, which an earlier
    sequence had changed (cf. schemathesis PRs #4132, #4216). The webhook operations are fuzzed one by one above
    but not linked here: the fuzzed service has no allow-list, so no webhook can be created and their links lead
    nowhere (tests/webhooks/ runs them in sequence)."""
    base_url, token, restore = fresh_service

    class LinkedCalls(schema.exclude(tag="webhooks").as_state_machine()):
        def setup(self):
            # Each sequence starts from the same data: Hypothesis replays a sequence's first calls to extend it,
            # and a replay that met what an earlier sequence wrote (a strategy it deleted) would draw differently.
            restore()

        def get_call_kwargs(self, case):
            return {"base_url": base_url, "headers": {"Authorization": f"Bearer {token}"}, "timeout": 30}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
            )
            case.validate_response(response, excluded_checks=[schemathesis.checks.positive_data_acceptance])

    LinkedCalls.run(
        settings=settings(
            max_examples=SEQUENCES,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )  # fmt: skip
    )
