"""Helpers the tests share."""

import uuid
from pathlib import Path

import httpx

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


async def graphql(client: httpx.AsyncClient, query: str, *, uncached: bool = False, **variables) -> dict:
    """POST a GraphQL query; `uncached` adds a unique (unused) variable so the response cache cannot answer it:
    the cache keys on the normalised document, so a comment would not do."""
    if uncached:
        variables["cacheBuster"] = str(uuid.uuid4())
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def seed_text(prefix: str) -> str:
    """The text of the source document whose file name starts with `prefix` (e.g. "000")."""
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def indicator_id(client: httpx.AsyncClient, code: str) -> str:
    """The id of the seeded sector strategy's indicator with this code."""
    response = await client.get("/api/v1/indicators", params={"limit": 500})
    (indicator,) = [i for i in response.json()["items"] if i["code"] == code]
    return indicator["id"]
