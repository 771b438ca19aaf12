"""The seeded strategy against the document (shared/seeds/002)."""

import re

import pytest
from sqlalchemy import func, select

from service.registry.models import Institution
from service.strategy.models import ActionDirection, Goal, Indicator, IndicatorValue, PolicyArea, Task
from tests.helpers import seed_text


def _source() -> str:
    """The strategy document with its whitespace folded (the PDF extraction breaks lines anywhere)."""
    return re.sub(r"\s+", " ", seed_text("002"))


async def _strategy(client) -> dict:
    (summary,) = (await client.get("/api/v1/strategies")).json()["items"]
    return (await client.get(f"/api/v1/strategies/{summary['id']}")).json()


def _indicators(strategy: dict) -> dict[str, dict]:
    return {i["code"]: i for a in strategy["areas"] for g in a["goals"] for i in g["indicators"]}


def _values(indicator: dict, institution: str | None = None) -> dict[int, tuple]:
    return {
        v["year"]: (v["text"], v["kind"], v["value"], v["pair"])
        for v in indicator["baseline"] + indicator["targets"]
        if (v["institution"] or {}).get("code") == institution
    }


async def test_the_strategy_itself(client):
    strategy = await _strategy(client)
    assert strategy["title"]["lv"] == "Iekšlietu nozares stratēģija 2023.-2027. gadam"
    assert (strategy["period_start"], strategy["period_end"], strategy["baseline_year"]) == (2023, 2027, 2021)
    assert {"date": "2022-03-25", "kind": "agreed"}.items() <= next(
        d for d in strategy["dates"] if d["kind"] == "agreed"
    ).items()
    assert [f["number"] for f in strategy["footnotes"]] == [1, 2, 3, 4, 5, 6]


async def test_counts_match_the_document(session):
    async def count(model) -> int:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()

    assert await count(PolicyArea) == 7
    assert await count(Goal) == 12
    assert await count(Indicator) == 34
    assert await count(ActionDirection) == 33
    assert await count(Task) == 109


async def test_areas_in_document_order_with_their_kind(client):
    areas = (await _strategy(client))["areas"]
    assert [(a["code"], a["kind"]) for a in areas] == [
        ("1", "policy"), ("2", "policy"), ("3", "policy"), ("4", "policy"), ("5", "policy"),
        ("H1", "horizontal"), ("H2", "horizontal"),
    ]  # fmt: skip
    assert areas[0]["title"] == {**areas[0]["title"], "lv": "Sabiedriskā kārtība un drošība"}
    assert all(a["title"]["en"] for a in areas)
    assert [len(a["goals"]) for a in areas] == [2, 2, 2, 2, 2, 1, 1]


async def test_a_value_of_every_kind(client):
    indicators = _indicators(await _strategy(client))
    road = _values(indicators["1.1.3"])
    assert road[2021] == ("29,72", "number", 29.72, None)
    assert road[2027] == ("19,7", "number", 19.7, None)
    assert _values(indicators["1.1.1"])[2021] == ("75%", "percent", 75.0, None)
    border = _values(indicators["2.1.1"])
    assert border[2021] == ("52,33%", "percent", 52.33, None)
    assert border[2025] == ("-", "none", None, None)
    assert _values(indicators["2.2.2"])[2021] == ("29/2195", "pair", None, [29.0, 2195.0])
    assert _values(indicators["4.1.1"])[2021] == ("-", "none", None, None)
    assert _values(indicators["4.1.1"])[2024] == ("Palielinās", "qualitative", None, None)
    assert _values(indicators["5.2.1"])[2021] == ("+32%", "change", 32.0, None)
    assert _values(indicators["5.2.1"])[2023] == ("+10%", "change", 10.0, None)
    assert _values(indicators["5.1.1"])[2025] == ("92.5%", "percent", 92.5, None)


async def test_per_institution_values_of_the_horizontal_goal(client):
    staffing = _indicators(await _strategy(client))["H1.1.1"]
    institutions = {v["institution"]["code"] for v in staffing["baseline"]}
    assert institutions == {"IeM", "VP", "VRS", "VUGD", "IDB", "PMLP", "IeM IC", "NVA", "IeM VSC"}
    assert _values(staffing, "IeM")[2021] == ("92,1", "number", 92.1, None)
    assert _values(staffing, "VP")[2027] == ("82,5%", "percent", 82.5, None)
    assert _values(staffing, "IeM VSC")[2023] == ("93%", "percent", 93.0, None)
    training = _indicators(await _strategy(client))["H1.1.2"]
    assert _values(training, "PMLP")[2023] == ("50%", "percent", 50.0, None)
    assert [f["number"] for f in training["footnotes"]] == [16]


async def test_footnotes_are_attached_where_they_stand(client):
    strategy = await _strategy(client)
    indicators = _indicators(strategy)
    assert [f["number"] for f in indicators["1.2.2"]["footnotes"]] == [7]
    assert indicators["1.2.2"]["footnotes"][0]["text"].startswith("Aprēķinā tiek izmantota")
    sirens = next(v for v in indicators["4.1.2"]["baseline"] if v["year"] == 2021)
    assert (sirens["text"], [f["number"] for f in sirens["footnotes"]]) == ("37%", [13])
    contact_point = strategy["areas"][3]["action_directions"][0]["tasks"][1]
    assert contact_point["text"]["lv"].startswith("Izveidot Valsts civilās aizsardzības kontaktpunktu,")
    assert [f["number"] for f in contact_point["footnotes"]] == [14]


async def test_directions_of_improvement(client):
    indicators = _indicators(await _strategy(client))
    assert indicators["1.1.1"]["direction"] == "higher_is_better"
    assert indicators["1.2.1"]["direction"] == "lower_is_better"
    assert indicators["4.2.3"]["direction"] == "lower_is_better"
    assert indicators["2.2.2"]["direction"] == "hold_steady"
    assert all(i["direction"] in {"higher_is_better", "lower_is_better", "hold_steady"} for i in indicators.values())


async def test_tasks_keep_numbering_institutions_and_order(client):
    areas = (await _strategy(client))["areas"]
    first = areas[0]["action_directions"][1]["tasks"][1]
    assert first["number"] == "2."
    assert [i["written_as"] for i in first["institutions"]] == ["IeM IC", "VP", "VUGD"]
    assert all(i["role"] is None for i in first["institutions"])
    sub = [t for t in areas[1]["action_directions"][2]["tasks"] if t["parent_number"] == "1."]
    assert [t["number"] for t in sub] == ["1.1.", "1.2."]
    lettered = [t["number"] for t in areas[2]["action_directions"][2]["tasks"]]
    assert lettered[:6] == ["1.", "a.", "b.", "c.", "d.", "e."]
    ict = areas[6]["action_directions"][2]["tasks"][1]
    assert [i["written_as"] for i in ict["institutions"]][-1] == "VSC"
    assert ict["institutions"][-1]["institution"]["code"] == "IeM VSC"


async def test_every_text_is_the_documents_own(session):
    """Every Latvian text stands in the document (whitespace folded), but for the few that a
    table-cell hyphenation, a glued footnote number or a moved institution list interrupts."""
    texts = [row.title["lv"] for row in await session.scalars(select(PolicyArea))]
    texts += [row.title["lv"] for row in await session.scalars(select(Goal))]
    texts += [row.name["lv"] for row in await session.scalars(select(Indicator))]
    texts += [row.title["lv"] for row in await session.scalars(select(ActionDirection))]
    texts += [row.text["lv"] for row in await session.scalars(select(Task))]
    source = _source()
    missing = [text for text in texts if text not in source]
    assert len(texts) == 7 + 12 + 34 + 33 + 109
    assert len(missing) <= 8, missing


# Three rows as the document prints them: the data keeps them exactly, and they stand in the document.
TRANSCRIBED_ROWS = [
    ("3.1.5", ["339", "374", "392", "410", "430", "432"]),
    ("4.2.1", ["354,8", "340", "330", "320", "310", "300"]),
    ("H2.1.1", ["3,8%", "6,8%", "6,9%", "6,9%", "9,9%", "10,2%"]),
]


@pytest.mark.parametrize(("code", "values"), TRANSCRIBED_ROWS)
async def test_table_rows_are_transcribed_exactly(session, code, values):
    indicator = (await session.scalars(select(Indicator).where(Indicator.code == code))).one()
    rows = await session.scalars(
        select(IndicatorValue).where(IndicatorValue.indicator_id == indicator.id).order_by(IndicatorValue.year)
    )
    assert [row.text for row in rows] == values


@pytest.mark.parametrize(("code", "values"), TRANSCRIBED_ROWS)
def test_the_transcribed_rows_stand_in_the_document(code, values):
    assert " ".join(values) in _source(), code


async def test_every_table_row_of_values_is_the_documents(session):
    """Each indicator's six printed values (per institution where given), in order, stand in the document."""
    codes = {row.id: row.code for row in await session.scalars(select(Institution))}
    rows: dict[tuple, list[str]] = {}
    values = await session.scalars(select(IndicatorValue).order_by(IndicatorValue.indicator_id, IndicatorValue.year))
    for value in values:
        printed = value.text + "".join(str(n) for n in value.footnote_numbers)
        if value.institution_id:
            printed = f"{codes[value.institution_id]}: {printed}"
        rows.setdefault((value.indicator_id, value.institution_id), []).append(printed)
    assert len(rows) == 32 + 2 * 9
    source = _source()
    missing = [row for row in rows.values() if " ".join(row) not in source]
    assert missing == [] and all(len(row) == 6 for row in rows.values())
