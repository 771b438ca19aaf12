"""Every fact of the registry says whether a source document gives it (as written, stated) or it was supplied here
(a translation, an inferred date, a classification); an admin's edit marks what it changed, naming its audit entry."""

import csv
import io
import uuid

import pytest

from tests.helpers import bearer, if_match

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


async def _organization(client, key: str) -> dict:
    """A seeded organisation by its acronym, or its source-language name where it has none."""
    page = (await client.get("/api/v1/organizations", params={"q": key, "expand": "memberships"})).json()
    return next(item for item in page["items"] if key in (item["acronym"], item["name"]["lt"]))


async def test_ctif_english_name_is_a_translation_and_interpol_s_as_written(client):
    ctif, interpol = await _organization(client, "CTIF"), await _organization(client, "INTERPOL")
    assert ctif["provenance"]["name"]["en"]["basis"] == "translation"
    assert ctif["provenance"]["name"]["original"]["basis"] == "as_written"
    assert ctif["provenance"]["name"]["lt"] is None  # no Lithuanian name, so no provenance of one
    assert interpol["provenance"]["name"]["en"]["basis"] == "as_written"
    assert interpol["provenance"]["kind"] == {"basis": "editorial", "source_sentence": None, "audit_entry_id": None}


async def test_an_inferred_date_carries_the_sentence_it_is_read_from(client):
    panel = await _organization(client, "Migracijos ir prieglobsčio panelį")
    (membership,) = panel["memberships"]
    since = membership["provenance"]["since"]
    assert membership["since"] == "2011-12-08" and since["basis"] == "inferred"
    assert "2011 m. gruodžio 8 d. buvo transformuotas į Migracijos ir prieglobsčio panelį" in since["source_sentence"]
    assert membership["provenance"]["relation"]["basis"] == "editorial"
    undac = (await _organization(client, "UNDAC"))["memberships"][0]
    assert undac["provenance"]["since"]["basis"] == "stated" and undac["provenance"]["until"] is None


async def test_graphql_gives_the_same_provenance(client):
    query = """{ organizations(filter: {q: "CTIF"}) { edges { node { acronym
        provenance { name { en { basis } original { basis } } kind { basis } parent { basis } }
        memberships { provenance { since { basis sourceSentence auditEntryId } } } } } } }"""
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    (node,) = [e["node"] for e in response.json()["data"]["organizations"]["edges"] if e["node"]["acronym"] == "CTIF"]
    assert node["provenance"] == {
        "name": {"en": {"basis": "TRANSLATION"}, "original": {"basis": "AS_WRITTEN"}},
        "kind": {"basis": "EDITORIAL"},
        "parent": None,
    }
    assert node["memberships"][0]["provenance"]["since"] == {
        "basis": "STATED",
        "sourceSentence": None,
        "auditEntryId": None,
    }


async def test_institutions_say_which_names_the_sources_write(client):
    police = (await client.get("/api/v1/institutions/VP")).json()
    assert police["provenance"]["name"]["lv"]["basis"] == "as_written"
    assert police["provenance"]["name"]["en"]["basis"] == "translation"
    assert police["provenance"]["parent"]["basis"] == "editorial"


async def test_the_csv_export_has_provenance_columns(client):
    response = await client.get("/api/v1/organizations/export.csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    ctif = next(row for row in rows if row["acronym"] == "CTIF")
    assert (ctif["name_en_provenance"], ctif["name_lv_provenance"], ctif["name_lt_provenance"]) == (
        "translation", "as_written", "",
    )  # fmt: skip
    assert ctif["kind_provenance"] == "editorial" and ctif["since_provenance"] == "stated"
    panel = next(row for row in rows if row["name_lt"] == "Migracijos ir prieglobsčio panelį")
    assert panel["since_provenance"].startswith("inferred: iki 2011 m. pabaigos")
    easo = next(row for row in rows if row["name_en"] == "European Asylum Support Office")
    assert (easo["established"], easo["established_provenance"]) == ("2010", "stated")
    assert list(rows[0])[-2:] == ["established", "established_provenance"]  # the columns before keep their places


@pytest.fixture
async def scratch_organization(client, tokens):
    admin = bearer(tokens["admin"])
    body = {"acronym": f"P{uuid.uuid4().hex[:8]}", "name": {"lv": "Pārbaude", "en": "Probe"}, "kind": "network"}
    created = await client.post("/api/v1/organizations", json=body, headers=admin)
    assert created.status_code == 201, created.text
    path = f"/api/v1/organizations/{created.json()['id']}"
    yield path, created.json()
    await client.delete(path, headers=await if_match(client, path, admin))


async def _audit_ids(client, admin, entity_id: str) -> list[int]:
    entries = (await client.get("/api/v1/audit", params={"entity_id": entity_id}, headers=admin)).json()["items"]
    return [entry["id"] for entry in entries]


async def test_an_admin_edit_marks_what_it_changed_edited_with_its_audit_entry(client, tokens, scratch_organization):
    admin = bearer(tokens["admin"])
    path, created = scratch_organization
    (creation,) = await _audit_ids(client, admin, created["id"])
    edited_by_creation = {"basis": "edited", "source_sentence": None, "audit_entry_id": creation}
    assert created["provenance"]["name"]["lv"] == created["provenance"]["name"]["en"] == edited_by_creation
    assert created["provenance"]["kind"] == edited_by_creation and created["provenance"]["established"] is None

    renamed = await client.patch(
        path, json={"name": {"en": "Probe II"}, "established": "2001"},
        headers=await if_match(client, path, admin | MERGE_PATCH),
    )  # fmt: skip
    assert renamed.status_code == 200, renamed.text
    update = (await _audit_ids(client, admin, created["id"]))[-1]
    provenance = (await client.get(path)).json()["provenance"]
    assert provenance["name"]["en"]["audit_entry_id"] == provenance["established"]["audit_entry_id"] == update
    assert provenance["name"]["lv"] == edited_by_creation  # untouched by the edit: still the creation's
    assert provenance["kind"] == edited_by_creation
    entry = (await client.get("/api/v1/audit", params={"entity_id": created["id"]}, headers=admin)).json()["items"][-1]
    assert entry["after"]["provenance"]["name"]["en"] == {"basis": "edited", "audit_entry_id": update}


async def test_an_admin_edit_of_a_seeded_membership_marks_only_the_date_it_changed(client, tokens):
    admin = bearer(tokens["admin"])
    membership = (await _organization(client, "CORTE"))["memberships"][0]
    path = f"/api/v1/memberships/{membership['id']}"
    edited = await client.patch(path, json={"until": "2030"}, headers=await if_match(client, path, admin | MERGE_PATCH))
    try:
        assert edited.status_code == 200, edited.text
        provenance = edited.json()["provenance"]
        assert provenance["since"]["basis"] == "stated" and provenance["relation"]["basis"] == "editorial"
        assert provenance["until"]["basis"] == "edited"
        assert provenance["until"]["audit_entry_id"] == (await _audit_ids(client, admin, membership["id"]))[-1]
    finally:
        restored = await client.patch(
            path, json={"until": None}, headers=await if_match(client, path, admin | MERGE_PATCH)
        )
        assert restored.status_code == 200, restored.text
        assert restored.json()["provenance"]["until"] is None
