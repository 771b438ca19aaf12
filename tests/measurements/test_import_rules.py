"""A CSV import obeys the rules of a single post: same permissions, no blind corrections, no duplicate revisions."""

import csv
import io

from tests.helpers import assert_problem, bearer, indicator_id, post_measurement

HEADER = "indicator_code,year,institution,value,comment,expected_revision\n"


async def upload(client, token: str, text: str):
    headers = bearer(token) | {"content-type": "text/csv"}
    return await client.post("/api/v1/measurements/import", content=text.encode(), headers=headers)


async def revisions(client, code: str, year: int, institution: str | None = None) -> list[dict]:
    ind = await indicator_id(client, code)
    params = {"institution": institution} if institution else {}
    response = await client.get(f"/api/v1/indicators/{ind}/measurements/{year}/history", params=params)
    return response.json()["items"] if response.status_code == 200 else []


async def audit_count(client, tokens, entity_id: str) -> int:
    response = await client.get("/api/v1/audit", params={"entity_id": entity_id}, headers=bearer(tokens["admin"]))
    return len(response.json()["items"])


async def test_uploading_the_same_file_again_writes_nothing(client, tokens):
    text = HEADER + "4.2.1,2023,,338,from the register,\n4.2.2,2023,,3.8,,\n"
    first = await upload(client, tokens["VUGD"], text)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["created"], body["corrected"], body["unchanged"], body["written"]) == (2, 0, 0, 2)
    assert [(r["row"], r["outcome"], r["revision"]) for r in body["rows"]] == [(2, "created", 1), (3, "created", 1)]

    again = await upload(client, tokens["VUGD"], text)
    assert again.status_code == 200, again.text
    body = again.json()
    assert (body["created"], body["corrected"], body["unchanged"], body["written"]) == (0, 0, 2, 0)
    assert body["measurements"] == []
    stored = await revisions(client, "4.2.1", 2023)
    assert [r["revision"] for r in stored] == [1]
    assert await audit_count(client, tokens, stored[0]["id"]) == 1  # the re-upload audited nothing either


async def test_a_changed_year_must_name_the_revision_it_corrects(client, tokens):
    posted = await post_measurement(client, "4.2.3", tokens["admin"], {"year": 2023, "value": "8,7"})
    assert posted.status_code == 201
    blind = await upload(client, tokens["VUGD"], HEADER + "4.2.3,2023,,9.1,recount,\n")
    assert_problem(blind, 422, "1 row(s) failed; nothing was written")
    (error,) = blind.json()["errors"]
    assert error["field"] == "expected_revision"
    assert "year 2023 already has revision 1" in error["reason"] and "add expected_revision" in error["reason"]

    corrected = await upload(client, tokens["VUGD"], HEADER + '4.2.3,2023,,"9,1",recount,1\n')
    assert corrected.status_code == 201, corrected.text
    assert (corrected.json()["corrected"], corrected.json()["measurements"][0]["previous_text"]) == (1, "8,7")

    stale = await upload(client, tokens["VUGD"], HEADER + "4.2.3,2023,,9.2,again,1\n")
    assert_problem(stale, 422, "nothing was written")
    assert "at revision 2" in stale.json()["errors"][0]["reason"]
    assert [r["text"] for r in await revisions(client, "4.2.3", 2023)] == ["8,7", "9,1"]


async def test_one_failing_row_keeps_every_other_row_out(client, tokens):
    await post_measurement(client, "4.2.2", tokens["VUGD"], {"year": 2024, "value": "3,6"})
    text = HEADER + "4.2.1,2024,,329,,\n4.2.2,2024,,3.5,,\n"  # the second changes 2024 without expected_revision
    response = await upload(client, tokens["VUGD"], text)
    assert_problem(response, 422)
    assert [e["row"] for e in response.json()["errors"]] == [3]
    assert await revisions(client, "4.2.1", 2024) == []


async def test_an_agency_imports_only_what_it_may_post_by_hand(client, tokens):
    response = await upload(client, tokens["VP"], HEADER + "4.2.1,2025,,320,,\nH1.1.1,2025,VRS,80%,,\n")
    assert_problem(response, 422, "2 row(s) failed")
    reasons = [e["reason"] for e in response.json()["errors"]]
    assert "not involved in the goal" in reasons[0] and "own values" in reasons[1]
    assert await revisions(client, "4.2.1", 2025) == []


async def test_expected_revision_is_an_optional_column_and_the_header_is_checked(client, tokens):
    without = await upload(client, tokens["VUGD"], "indicator_code,year,institution,value,comment\n4.1.2,2023,,40%,\n")
    assert without.status_code == 201 and without.json()["created"] == 1
    reordered = "value,year,indicator_code,comment,institution\n40%,2023,4.1.2,,\n"
    reordered = await upload(client, tokens["VUGD"], reordered)
    assert reordered.status_code == 200 and reordered.json()["unchanged"] == 1
    assert_problem(await upload(client, tokens["VUGD"], "indicator_code,year,value\n4.1.2,2024,41%\n"), 422,
                   "missing: institution,comment")  # fmt: skip
    assert_problem(await upload(client, tokens["VUGD"], HEADER.strip() + ",extra\n"), 422, "unknown: 'extra'")
    bad = await upload(client, tokens["VUGD"], HEADER + "4.1.2,2024,,41%,,two\n")
    assert bad.json()["errors"][0]["field"] == "expected_revision"


async def test_the_template_prefills_the_current_revision_so_it_round_trips(client, tokens):
    await post_measurement(client, "H1.1.2", tokens["VRS"], {"year": 2024, "value": "61%", "institution": "VRS"})
    response = await client.get("/api/v1/measurements/template.csv", headers=bearer(tokens["VRS"]))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert all(r["institution"] in ("", "VRS") for r in rows)  # only what a VRS token may post
    (filled,) = [r for r in rows if (r["indicator_code"], r["year"]) == ("H1.1.2", "2024")]
    assert (filled["value"], filled["expected_revision"]) == ("61%", "1")
    assert {r["indicator_code"] for r in rows} >= {"2.1.2", "H1.1.1"}
    assert "1.1.1" not in {r["indicator_code"] for r in rows}  # a goal VRS is not involved in

    untouched = await upload(client, tokens["VRS"], response.text)
    assert untouched.status_code == 200, untouched.text
    body = untouched.json()
    assert body["written"] == 0 and body["unchanged"] == sum(1 for r in rows if r["value"])
    assert body["empty"] == sum(1 for r in rows if not r["value"])

    filled["value"] = "63%"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    edited = await upload(client, tokens["VRS"], out.getvalue())
    assert edited.status_code == 201, edited.text
    assert (edited.json()["corrected"], edited.json()["created"]) == (1, 0)
    assert [r["text"] for r in await revisions(client, "H1.1.2", 2024, "VRS")] == ["61%", "63%"]
