"""Helpers the tests share."""

import os
import uuid
from functools import cache
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


async def graphql(client: httpx.AsyncClient, query: str, *, uncached: bool = False, **variables) -> dict:
    """POST a GraphQL query; `uncached` makes the body unique so the response cache cannot answer it."""
    if uncached:
        query += f"\n# {uuid.uuid4()}"
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def sources_dir() -> Path | None:
    """The folder of the source documents: `SOURCES_DIR`, else `../shared/seeds` beside the checkout if it is there."""
    if configured := os.environ.get("SOURCES_DIR"):
        return Path(configured)
    default = ROOT.parent / "shared" / "seeds"
    return default if default.is_dir() else None


@cache
def seed_text(prefix: str) -> str:
    """The text of the source document whose file name starts with `prefix` (e.g. "000").

    Only the tests that compare data/ with the documents call this. Without the documents they are
    skipped, or fail where SOURCES_REQUIRED=1 says the documents must be there (CI)."""
    directory = sources_dir()
    if directory is None or not directory.is_dir():
        reason = (
            f"the source documents are not at {directory or ROOT.parent / 'shared' / 'seeds'}: to compare data/ "
            "with them, set SOURCES_DIR to the folder holding 000_*.txt … 004_*.txt"
        )
        if os.environ.get("SOURCES_REQUIRED") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    (path,) = directory.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def indicator_id(client: httpx.AsyncClient, code: str) -> str:
    """The id of the seeded sector strategy's indicator with this code."""
    response = await client.get("/api/v1/indicators", params={"limit": 500})
    (indicator,) = [i for i in response.json()["items"] if i["code"] == code]
    return indicator["id"]
