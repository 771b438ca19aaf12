"""Anonymous reads are answered from a cache keyed by the data version: every committed write changes
the key, so an answer is never older than the data it was asked after."""

from tests.helpers import bearer, graphql, if_match, indicator_id


async def test_rest_reads_are_cached_until_a_write(client, tokens):
    first = await client.get("/api/v1/organizations", params={"q": "cepol"})
    again = await client.get("/api/v1/organizations", params={"q": "cepol"})
    assert (first.headers["x-cache"], again.headers["x-cache"]) == ("miss", "hit")
    assert again.json() == first.json() and again.headers["etag"] == first.headers["etag"]
    assert (
        await client.get(
            "/api/v1/organizations", params={"q": "cepol"}, headers={"If-None-Match": first.headers["etag"]}
        )
    ).status_code == 304

    org = first.json()["items"][0]
    admin = bearer(tokens["admin"])
    path = f"/api/v1/organizations/{org['id']}"
    changed = await client.patch(path, json={"aliases": ["Cepol"]}, headers=await if_match(client, path, admin))
    assert changed.status_code == 200
    after = await client.get("/api/v1/organizations", params={"q": "cepol"})
    assert after.headers["x-cache"] == "miss" and after.json()["items"][0]["aliases"] == ["Cepol"]
    await client.patch(path, json={"aliases": []}, headers=admin | {"If-Match": changed.headers["etag"]})


async def test_graphql_queries_are_cached_and_mutations_never(client, tokens):
    ind = await indicator_id(client, "4.2.1")
    query = "query($i: ID!) { indicator(id: $i) { actuals { year text revision } } }"
    before = await client.post("/graphql", json={"query": query, "variables": {"i": ind}})
    cached = await client.post("/graphql", json={"query": query, "variables": {"i": ind}})
    assert cached.headers["x-cache"] == "hit" and cached.json() == before.json()

    mutation = "mutation($i: RecordMeasurementInput!) { recordMeasurement(input: $i) { revision } }"
    posted = await client.post(
        "/graphql",
        json={"query": mutation, "variables": {"i": {"indicatorId": ind, "year": 2024, "value": "330"}}},
        headers=bearer(tokens["VUGD"]),
    )
    assert posted.json()["data"]["recordMeasurement"]["revision"] == 1 and "x-cache" not in posted.headers
    fresh = await client.post("/graphql", json={"query": query, "variables": {"i": ind}})
    assert fresh.headers["x-cache"] == "miss"
    assert {"year": 2024, "text": "330", "revision": 1} in fresh.json()["data"]["indicator"]["actuals"]


async def test_errors_and_authenticated_reads_are_not_cached(client, tokens):
    bad = '{ organization(id: "x") { id } }'
    for _ in range(2):
        response = await client.post("/graphql", json={"query": bad})
        assert response.headers["x-cache"] == "miss"
    audit = await client.get("/api/v1/audit", headers=bearer(tokens["admin"]))
    assert audit.status_code == 200 and "x-cache" not in audit.headers
    assert (await graphql(client, "{ institutions { code } }"))["data"]
