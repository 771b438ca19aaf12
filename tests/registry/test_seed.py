"""The registry holds every fact of seeds 000, 001, 003 and 004, exactly as the sources write them."""

import pytest
from sqlalchemy import func, select

from service.registry.models import Engagement, Institution, Membership, Organization, Representation
from service.seed.loader import load_all
from tests.helpers import seed_text

# (acronym, since as the source gives it, precision, coordinator code), from seed 000.
FINANCIAL_OBLIGATIONS = [
    ("UNDAC", "2018-11-06", "day", "VUGD"),
    ("CORTE", "2011", "year", "VP"),
    ("TF-THB", "2006-06-08", "day", "IeM"),
    ("ROADPOL", "2010-05", "month", "VP"),
    ("FEU", "2019-11-14", "day", "VUGD"),
    ("ENFSI", "2010-08-26", "day", "VP"),
    ("ICAO PKD", "2010-06-28", "day", "PMLP"),
    ("INTERPOL", "1992-11-04", "day", "VP"),
    ("IOM", "1999", "year", "PMLP"),
    ("CTIF", "1929", "year", "VUGD"),
]


async def _detail(client, acronym: str) -> dict:
    page = (await client.get("/api/v1/organizations", params={"q": acronym, "limit": 500})).json()
    (org,) = [item for item in page["items"] if item["acronym"] == acronym]
    return (await client.get(f"/api/v1/organizations/{org['id']}")).json()


@pytest.mark.parametrize(("acronym", "since", "precision", "coordinator"), FINANCIAL_OBLIGATIONS)
async def test_every_membership_with_a_financial_obligation_has_its_exact_date_and_coordinator(
    client, acronym, since, precision, coordinator
):
    org = await _detail(client, acronym)
    (membership,) = [m for m in org["memberships"] if m["relation"] == "member"]
    assert membership["since"] == since
    assert membership["since_precision"] == precision
    assert membership["coordinator"]["code"] == coordinator
    assert membership["financial_obligation"] is True
    assert membership["member"] == {**membership["member"], "code": "IeM", "country": "LV"}
    assert membership["sources"] == ["000"]


async def test_names_are_the_sources_words():
    text = seed_text("000").replace("\xa0", " ")  # the page separates name and brackets with no-break spaces
    for acronym, name_lv, name_en in [
        (
            "UNDAC",
            "Apvienoto Nāciju Organizācijas Katastrofu novērtēšanas un koordinācijas sistēma",
            "United Nations Disaster Assessment and Coordination",
        ),
        (
            "CTIF",
            "Starptautiskā ugunsdzēsības un glābšanas dienestu asociācija",
            "Comité technique international de prévention et d'extinction du Feu",
        ),
    ]:
        assert f"{name_lv} ({name_en} - {acronym})" in text


def _stated(name: str, text: str) -> bool:
    """The name's words stand in the text in order, each exactly or declined (the data gives the nominative)."""
    words, wanted = text.replace("(", " ").replace(")", " ").split(), name.split()

    def same(word: str, source: str) -> bool:
        stem = max(3, len(word) - 2)
        return word == source or (word[:stem] == source[:stem] and abs(len(word) - len(source)) <= 2)

    return any(
        all(same(w, s) for w, s in zip(wanted, words[i : i + len(wanted)], strict=False))
        for i in range(len(words) - len(wanted) + 1)
    )


async def test_every_registry_name_in_latvian_or_lithuanian_is_the_sources(session):
    sources = {prefix: seed_text(prefix).replace("\xa0", " ") for prefix in ("000", "001", "003", "004")}
    for org in await session.scalars(select(Organization)):
        assert org.name.get("lv") or org.name.get("lt"), org.acronym
        if name := org.name.get("lt"):
            assert name in sources["004"], name
        if name := org.name.get("lv"):
            assert any(_stated(name, sources[s]) for s in org.sources), (org.acronym, name)


async def test_ctif_keeps_its_french_name_and_renewal(client):
    org = await _detail(client, "CTIF")
    assert org["name"]["original"] == "Comité technique international de prévention et d'extinction du Feu"
    (membership,) = [m for m in org["memberships"] if m["relation"] == "member"]
    events = [(e["date"], e["precision"], e["kind"]) for e in membership["events"]]
    assert events == [("1929", "year", "joined"), ("1992-09-25", "day", "renewed")]


async def test_tf_thb_is_a_task_force_of_the_cbss_joined_in_two_steps(client):
    org = await _detail(client, "TF-THB")
    assert org["parent"]["acronym"] == "CBSS"
    (membership,) = [m for m in org["memberships"] if m["relation"] == "member"]
    assert [(e["date"], e["kind"], (e["organization"] or {}).get("acronym")) for e in membership["events"]] == [
        ("1992", "joined_parent", "CBSS"),
        ("2006-06-08", "joined", None),
    ]


async def test_the_ministrys_general_cooperation_partners_come_from_both_pages(client):
    response = await client.get("/api/v1/organizations", params={"limit": 500})
    by_acronym = {o["acronym"]: o for o in response.json()["items"] if o["acronym"]}
    for acronym in ("UN", "UNHCR", "UNODC", "OSCE", "CoE", "IOM", "INTERPOL", "Europol", "CBSS"):
        org = await _detail(client, acronym)
        (partner,) = [m for m in org["memberships"] if m["relation"] == "partner" and m["member"]["code"] == "IeM"]
        assert partner["sources"] == ["000", "001"]
        assert partner["financial_obligation"] is None
        assert acronym in by_acronym


async def test_the_2019_visits_are_loaded_once_though_both_pages_list_them(client):
    items = (await client.get("/api/v1/engagements")).json()["items"]
    assert len(items) == 5
    assert all(item["sources"] == ["000", "001"] for item in items)
    spans = {(i["start_date"], i["end_date"], i["place"]["en"], i["country"]) for i in items}
    assert spans == {
        ("2019-05-20", "2019-05-22", "Kirkenes", "NO"),
        ("2019-05-30", None, "Riga", "LV"),
        ("2019-09-23", None, "Riga", "LV"),
        ("2019-10-15", "2019-10-18", "Santiago", "CL"),
        ("2019-10-31", "2019-11-01", "Berlin", "DE"),
    }
    by_org = {(i["organization"] or {}).get("acronym") for i in items}
    assert by_org == {None, "FRONTEX", "CEPOL", "BSTF", "INTERPOL"}
    for item in items:
        assert item["title"]["lv"] in seed_text("000")
        assert item["title"]["lv"] in seed_text("001")


async def test_latvias_permanent_representations(client):
    items = (await client.get("/api/v1/representations")).json()["items"]
    got = [(i["city"]["en"], [o["acronym"] for o in i["organizations"]]) for i in items]
    assert got == [
        ("New York", ["UN"]),
        ("Geneva", ["UN", "WTO"]),
        ("Vienna", ["UN"]),
        ("Rome", ["FAO"]),
        ("The Hague", ["OPCW"]),
        ("Brussels", ["NATO"]),
        ("Paris", ["UNESCO"]),
        ("Paris", ["OECD"]),
        ("Vienna", ["OSCE"]),
        ("Strasbourg", ["CoE"]),
    ]
    text = seed_text("003")
    assert all(i["source_text"] in text and i["country"] == "LV" for i in items)


async def test_the_lithuanian_migration_departments_participations(client):
    department = (await client.get("/api/v1/institutions/LT%20MD")).json()
    assert department["country"] == "LT"
    assert department["parent"]["code"] == "LT VRM"
    readmission = department["notes"][0]
    assert "23 valstybėmis" in readmission["text"]["lt"] and readmission["as_of"] == "2018-03-05"

    lithuanian = (await client.get("/api/v1/organizations", params={"member_country": "LT", "limit": 500})).json()
    names = {o["name"]["en"] for o in lithuanian["items"]}
    assert len(lithuanian["items"]) == 22
    assert {
        "Söderköping process",
        "Migration and Asylum Panel",
        "European Asylum Support Office",
        "Friends of VIS",
    } <= names

    (soderkoping,) = [o for o in lithuanian["items"] if o["name"]["en"] == "Söderköping process"]
    detail = (await client.get(f"/api/v1/organizations/{soderkoping['id']}")).json()
    (membership,) = detail["memberships"]
    assert membership["until"] == "2011" and membership["until_precision"] == "year"
    assert [(e["date"], e["kind"], e["organization"]["name"]["en"]) for e in membership["events"]] == [
        ("2011-12-08", "transformed", "Migration and Asylum Panel")
    ]


async def test_every_institution_of_the_seed_readme_is_there(client):
    codes = {i["code"] for i in (await client.get("/api/v1/institutions")).json()["items"]}
    readme = {"IeM", "VP", "VRS", "VUGD", "PMLP", "IDB", "IeM IC", "NVA", "IeM VSC", "VDD", "VPK", "VRK", "UCAK", "ĀM"}
    assert readme <= codes
    assert {"LT MD", "LT VRM"} <= codes


async def test_loading_the_seed_twice_changes_nothing(session, sessionmaker):
    async def snapshot():
        async with sessionmaker() as s:
            counts = []
            for model in (Institution, Organization, Membership, Engagement, Representation):
                counts.append(
                    (await s.execute(select(func.count(), func.max(model.updated_at)).select_from(model))).one()
                )
            return counts

    before = await snapshot()
    report = await load_all(session)
    assert (report.written, report.conflicts) == (0, [])
    assert await snapshot() == before
