"""A year's revision history in GraphQL: a Relay connection (oldest first, as REST's history), now and as of a
moment, paged either way through the read path REST's history takes."""

import httpx
import pytest

from tests.helpers import bearer, graphql
from tests.measurements.reporting_strategy import copied_strategy

KEY = "history-pages-test"
YEAR = 2024
TEXTS = ["10", "11", "12", "13", "14"]

HISTORY = """query($id: ID!, $year: Int!, $first: Int, $after: String, $last: Int, $before: String) {
  history(indicatorId: $id, year: $year, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { rowId revision text previousText status } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
}"""
AS_OF_HISTORY = """query($id: ID!, $at: DateTime!, $last: Int, $before: String) { asOf(at: $at) {
  history(indicatorId: $id, year: 2024, last: $last, before: $before) {
    edges { node { revision text status } } pageInfo { hasNextPage hasPreviousPage } totalCount
  }
} }"""


@pytest.fixture(scope="module")
async def posted(sessionmaker, app, tokens):
    """Indicator 1.1.3 of a strategy of its own: five revisions of 2024, the first approved before the second."""
    transport = httpx.ASGITransport(app=app)
    async with (
        sessionmaker() as session,
        copied_strategy(session, KEY),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        indicators = (await client.get("/api/v1/indicators", params={"strategy": KEY, "limit": 500})).json()["items"]
        (ind,) = [i["id"] for i in indicators if i["code"] == "1.1.3"]
        base = f"/api/v1/indicators/{ind}/measurements"
        revisions, headers = [], bearer(tokens["VP"])
        for n, text in enumerate(TEXTS):
            written = await client.post(base, json={"year": YEAR, "value": text}, headers=headers)
            assert written.status_code == 201, written.text
            revisions.append(written.json())
            headers = bearer(tokens["VP"]) | {"If-Match": written.headers["etag"]}
            if n == 0:
                approved = await client.post(f"{base}/{YEAR}/approve", headers=bearer(tokens["admin"]))
                assert approved.status_code == 200, approved.text
                headers["If-Match"] = approved.headers["etag"]
        yield ind, revisions


async def _walk(client, ind: str, *, backward: bool, size: int = 2) -> tuple[list[dict], list[dict]]:
    """Every page of the year's history, forward with `first` / `after` or backward with `last` / `before`."""
    nodes, pages, cursor = [], [], None
    while True:
        arguments = {"last": size, "before": cursor} if backward else {"first": size, "after": cursor}
        page = (await graphql(client, HISTORY, id=ind, year=YEAR, **arguments))["data"]["history"]
        info = page["pageInfo"]
        assert (info["startCursor"], info["endCursor"]) == (page["edges"][0]["cursor"], page["edges"][-1]["cursor"])
        assert page["totalCount"] == len(TEXTS)
        pages.append(page)
        got = [edge["node"] for edge in page["edges"]]
        nodes = got + nodes if backward else nodes + got
        if not info["hasPreviousPage" if backward else "hasNextPage"]:
            return nodes, pages
        cursor = info["startCursor" if backward else "endCursor"]


async def test_the_history_pages_forward_and_backward_to_the_order_rest_gives(client, posted):
    """Oldest first, as REST's history; a page starting past the first revision still says what its first
    revision corrected; the backward walk meets the forward one."""
    ind, revisions = posted
    rest = (await client.get(f"/api/v1/indicators/{ind}/measurements/{YEAR}/history")).json()["items"]
    forward, pages = await _walk(client, ind, backward=False)
    assert [(n["rowId"], n["text"], n["previousText"]) for n in forward] == [
        (r["id"], r["text"], r["previous_text"]) for r in rest
    ]
    assert [n["rowId"] for n in forward] == [r["id"] for r in revisions]
    assert [n["previousText"] for n in forward] == [None, *TEXTS[:-1]]
    assert [len(page["edges"]) for page in pages] == [2, 2, 1]
    assert [page["pageInfo"]["hasPreviousPage"] for page in pages] == [False, True, True]
    assert [n["status"] for n in forward] == ["APPROVED"] + ["SUBMITTED"] * 4
    backward, pages = await _walk(client, ind, backward=True)
    assert backward == forward
    assert [len(page["edges"]) for page in pages] == [2, 2, 1]
    assert [page["pageInfo"]["hasNextPage"] for page in pages] == [False, True, True]
    default = (await graphql(client, HISTORY, id=ind, year=YEAR))["data"]["history"]
    assert [edge["node"] for edge in default["edges"]] == forward
    assert default["pageInfo"]["hasNextPage"] is default["pageInfo"]["hasPreviousPage"] is False


async def test_the_history_as_of_a_moment_pages_what_stood_then(client, posted):
    """As of the third post: three revisions, the first approved; as of the first post: one, still submitted."""
    ind, revisions = posted
    third = await graphql(client, AS_OF_HISTORY, id=ind, at=revisions[2]["posted_at"], last=2)
    page = third["data"]["asOf"]["history"]
    assert [(e["node"]["revision"], e["node"]["status"]) for e in page["edges"]] == [(2, "SUBMITTED"), (3, "SUBMITTED")]
    assert page["totalCount"] == 3 and page["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}
    first = await graphql(client, AS_OF_HISTORY, id=ind, at=revisions[0]["posted_at"])
    assert [e["node"] for e in first["data"]["asOf"]["history"]["edges"]] == [
        {"revision": 1, "text": "10", "status": "SUBMITTED"}
    ]
    before_any = await graphql(client, AS_OF_HISTORY, id=ind, at="2000-01-01T00:00:00Z")
    assert before_any["data"]["asOf"]["history"] == {
        "edges": [], "pageInfo": {"hasNextPage": False, "hasPreviousPage": False}, "totalCount": 0
    }  # fmt: skip


async def test_the_history_refuses_first_and_last_together_and_an_unknown_indicator(client, posted):
    ind, _ = posted
    both = await graphql(client, HISTORY, id=ind, year=YEAR, first=2, last=2)
    assert both["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and "not both" in both["errors"][0]["message"]
    too_many = await graphql(client, HISTORY, id=ind, year=YEAR, first=501)
    assert "between 1 and 500" in too_many["errors"][0]["message"]
    unknown = await graphql(client, HISTORY, id="00000000-0000-0000-0000-000000000000", year=YEAR)
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
