"""Reads are answered from a cache keyed by the data version: every committed write changes the key, so an
answer is never older than the data it was asked after. A read whose answer is the same for every caller is
served from it with or without a token; one that depends on the caller never is."""

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


async def test_errors_and_reads_of_the_caller_are_not_cached(client, tokens):
    bad = '{ organization(id: "x") { id } }'
    for _ in range(2):
        response = await client.post("/graphql", json={"query": bad})
        assert response.headers["x-cache"] == "miss"
    audit = await client.get("/api/v1/audit", headers=bearer(tokens["admin"]))
    assert audit.status_code == 200 and "x-cache" not in audit.headers
    assert (await graphql(client, "{ institutions { totalCount } }"))["data"]


async def test_an_authenticated_read_is_served_the_answer_an_anonymous_one_cached(client, tokens):
    params = {"q": "frontex", "limit": 3}
    anonymous = await client.get("/api/v1/organizations", params=params)
    assert anonymous.headers["x-cache"] == "miss"
    for caller in ("admin", "VP"):
        authenticated = await client.get("/api/v1/organizations", params=params, headers=bearer(tokens[caller]))
        assert authenticated.headers["x-cache"] == "hit", caller
        assert authenticated.content == anonymous.content and authenticated.headers["etag"] == anonymous.headers["etag"]

    query = {"query": 'query Cached { institutions(country: "LT") { edges { node { code } } } }'}
    first = await client.post("/graphql", json=query)
    again = await client.post("/graphql", json=query, headers=bearer(tokens["VUGD"]))
    assert (first.headers["x-cache"], again.headers["x-cache"]) == ("miss", "hit")
    assert again.json() == first.json()


async def test_a_read_that_depends_on_the_caller_is_never_served_to_another(client, tokens):
    templates = {}
    for agency in ("VP", "VUGD", "VP"):
        response = await client.get("/api/v1/measurements/template.csv", headers=bearer(tokens[agency]))
        assert response.status_code == 200 and "x-cache" not in response.headers
        templates.setdefault(agency, response.text)
        assert response.text == templates[agency]  # each agency its own rows, however often asked
    assert templates["VP"] != templates["VUGD"]

    admin = await client.get("/api/v1/audit", params={"limit": 1}, headers=bearer(tokens["admin"]))
    assert admin.status_code == 200 and "x-cache" not in admin.headers
    assert (await client.get("/api/v1/audit", params={"limit": 1}, headers=bearer(tokens["VP"]))).status_code == 403
    for _ in range(2):
        assert (await client.get("/api/v1/audit", params={"limit": 1})).status_code == 401
    conflicts = await client.get("/api/v1/seed/conflicts", headers=bearer(tokens["admin"]))
    assert conflicts.status_code == 200 and "x-cache" not in conflicts.headers
    assert (await client.get("/api/v1/seed/conflicts", headers=bearer(tokens["VRS"]))).status_code == 403
