"""The registry as open data: JSON Lines, CSV and Popolo exports, each honouring `updated_since` and answering
If-None-Match with 304 while the registry has not changed."""

import csv
import datetime as dt
import io
import json
import uuid

import jsonschema_rs
import pytest

from tests.helpers import bearer, if_match

EXPORTS = ["/api/v1/exports/registry.jsonl", "/api/v1/exports/registry.csv", "/api/v1/exports/popolo.json"]
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def _jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture
async def scratch(client, tokens):
    """An organisation of this test's own, with one membership; deleted after it."""
    admin = bearer(tokens["admin"])
    body = {"acronym": f"X{uuid.uuid4().hex[:8]}", "name": {"en": "Export probe"}, "kind": "network"}
    created = await client.post("/api/v1/organizations", json=body, headers=admin)
    assert created.status_code == 201, created.text
    organization = created.json()
    path = f"/api/v1/organizations/{organization['id']}"
    joined = await client.post(
        f"{path}/memberships", json={"member": "VP", "relation": "member", "since": "2024-05"}, headers=admin
    )
    assert joined.status_code == 201, joined.text
    yield organization
    await client.delete(path, headers=await if_match(client, path, admin))


async def test_json_lines_carry_institutions_then_organisations_with_memberships_and_provenance(client):
    response = await client.get("/api/v1/exports/registry.jsonl")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/jsonl")
    lines = _jsonl(response.text)
    types = [line["type"] for line in lines]
    assert types == sorted(types, key=["institution", "organization"].index)
    institutions = {line["code"]: line for line in lines if line["type"] == "institution"}
    organizations = {line["acronym"]: line for line in lines if line["type"] == "organization"}
    assert institutions["VP"]["provenance"]["name"]["lv"]["basis"] == "as_written"
    assert organizations["CTIF"]["provenance"]["name"]["en"]["basis"] == "translation"
    assert organizations["INTERPOL"]["provenance"]["name"]["en"]["basis"] == "as_written"
    (ctif,) = organizations["CTIF"]["memberships"]
    assert ctif["since"] == "1929" and ctif["provenance"]["since"]["basis"] == "stated"
    # Each line is what the REST API gives for it.
    assert organizations["CTIF"] | {"type": None} == (
        await client.get(f"/api/v1/organizations/{organizations['CTIF']['id']}")
    ).json() | {"type": None}


@pytest.mark.parametrize("path", EXPORTS)
async def test_if_none_match_gives_304_until_the_registry_changes(client, tokens, scratch, path):
    first = await client.get(path)
    assert first.status_code == 200 and first.headers["etag"]
    again = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == first.headers["etag"]

    admin = bearer(tokens["admin"])
    organization = f"/api/v1/organizations/{scratch['id']}"
    renamed = await client.patch(
        organization,
        json={"name": {"en": "Export probe, renamed"}},
        headers=await if_match(client, organization, admin | MERGE_PATCH),
    )
    assert renamed.status_code == 200, renamed.text
    changed = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]
    assert "Export probe, renamed" in changed.text


async def test_each_export_and_each_updated_since_has_its_own_etag(client):
    tags = {(await client.get(path)).headers["etag"] for path in EXPORTS}
    since = {"updated_since": "2020-01-01T00:00:00Z"}
    tags.add((await client.get(EXPORTS[0], params=since)).headers["etag"])
    assert len(tags) == len(EXPORTS) + 1


async def test_updated_since_gives_only_what_changed_since(client, tokens, scratch):
    since = dt.datetime.now(dt.UTC).isoformat()  # the edit below begins after it; earlier tests' writes do not
    admin = bearer(tokens["admin"])
    organization = f"/api/v1/organizations/{scratch['id']}"
    touched = await client.patch(
        organization, json={"aliases": ["probe"]}, headers=await if_match(client, organization, admin | MERGE_PATCH)
    )
    assert touched.status_code == 200, touched.text
    params = {"updated_since": since}

    lines = _jsonl((await client.get(EXPORTS[0], params=params)).text)
    assert [(line["type"], line["id"]) for line in lines] == [("organization", scratch["id"])]
    assert [m["member"]["code"] for m in lines[0]["memberships"]] == ["VP"]

    rows = list(csv.DictReader(io.StringIO((await client.get(EXPORTS[1], params=params)).text)))
    assert [(row["organization_id"], row["member_code"], row["since"]) for row in rows] == [
        (scratch["id"], "VP", "2024-05")
    ]
    assert rows[0]["name_en_provenance"].startswith("edited:")

    popolo = (await client.get(EXPORTS[2], params=params)).json()
    assert [o["id"] for o in popolo["organizations"]] == [scratch["id"]]
    assert [(m["organization_id"], m["start_date"]) for m in popolo["memberships"]] == [(scratch["id"], "2024-05")]

    whole = _jsonl((await client.get(EXPORTS[0], params={"updated_since": "2000-01-01T00:00:00Z"})).text)
    assert len(whole) > 50  # every seeded row changed after 2000


async def test_updated_since_is_checked(client):
    for path in EXPORTS:
        refused = await client.get(path, params={"updated_since": "yesterday"})
        assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"


# The Popolo specification's documented fields (popoloproject.com/specs: organization, membership, other name,
# identifier) for what this export writes; a field it does not document fails the check.
POPOLO_DATE = "^[0-9]{4}(-[0-9]{2}){0,2}$"
POPOLO_SCHEMA = {
    "type": "object",
    "required": ["organizations", "memberships"],
    "additionalProperties": False,
    "properties": {
        "organizations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "name"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string", "minLength": 1},
                    "other_names": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name"],
                            "additionalProperties": False,
                            "properties": {"name": {"type": "string"}, "note": {"type": "string"}},
                        },
                    },
                    "identifiers": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["identifier"],
                            "additionalProperties": False,
                            "properties": {"identifier": {"type": "string"}, "scheme": {"type": "string"}},
                        },
                    },
                    "classification": {"type": "string"},
                    "parent_id": {"type": "string"},
                    "founding_date": {"type": "string", "pattern": POPOLO_DATE},
                    "updated_at": {"type": "string", "format": "date-time"},
                },
            },
        },
        "memberships": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "organization_id", "member"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string"},
                    "organization_id": {"type": "string"},
                    "member": {
                        "type": "object",
                        "required": ["@type", "id"],
                        "properties": {"@type": {"enum": ["Organization"]}, "id": {"type": "string"}},
                    },
                    "role": {"type": "string"},
                    "start_date": {"type": "string", "pattern": POPOLO_DATE},
                    "end_date": {"type": "string", "pattern": POPOLO_DATE},
                    "updated_at": {"type": "string", "format": "date-time"},
                },
            },
        },
    },
}


async def test_the_popolo_export_has_the_documented_shape_and_the_sources_precision(client):
    response = await client.get("/api/v1/exports/popolo.json")
    assert response.status_code == 200
    document = response.json()
    jsonschema_rs.validator_for(POPOLO_SCHEMA, validate_formats=True).validate(document)

    organizations = {o["id"]: o for o in document["organizations"]}
    by_identifier = {i["identifier"]: o for o in document["organizations"] for i in o["identifiers"]}
    for membership in document["memberships"]:  # every reference resolves within the document
        assert membership["organization_id"] in organizations and membership["member"]["id"] in organizations
    assert all(o["parent_id"] in organizations for o in document["organizations"] if "parent_id" in o)

    starts = {by_identifier[acronym]["id"]: acronym for acronym in ("CTIF", "ROADPOL", "UNDAC")}
    dated = {starts[m["organization_id"]]: m["start_date"] for m in document["memberships"]
             if m["organization_id"] in starts and m["role"] == "member"}  # fmt: skip
    assert dated == {"CTIF": "1929", "ROADPOL": "2010-05", "UNDAC": "2018-11-06"}
    ctif = by_identifier["CTIF"]
    assert ctif["name"] == "International Association of Fire and Rescue Services"
    assert {"name": "Comité technique international de prévention et d'extinction du Feu", "note": "original"} in (
        ctif["other_names"]
    )
    assert by_identifier["VP"]["classification"] == "agency"
    assert by_identifier["VP"]["parent_id"] == by_identifier["IeM"]["id"]
