"""Helpers the tests share."""

from pathlib import Path

import httpx

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


async def graphql(client: httpx.AsyncClient, query: str, **variables) -> dict:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def seed_text(prefix: str) -> str:
    """The text of the source document whose file name starts with `prefix` (e.g. "000")."""
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")
