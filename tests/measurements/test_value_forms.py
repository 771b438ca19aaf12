"""Values as people type them are read the way the strategy writes values, and stored in its form."""

import pytest

from tests.helpers import bearer, indicator_id


async def _post(client, code: str, value, token: str, year: int = 2026):
    ind = await indicator_id(client, code)
    return await client.post(
        f"/api/v1/indicators/{ind}/measurements", json={"year": year, "value": value}, headers=bearer(token)
    )


@pytest.mark.parametrize(
    ("code", "year", "token", "typed", "stored", "value", "pair"),
    [  # slots (indicator, year) no other test writes
        ("2.2.1", 2025, "VRS", "13\u00a0404", "13404", 13404.0, None),  # Excel's no-break space between thousands
        ("1.1.2", 2024, "VP", "81,5 %", "81,5%", 81.5, None),
        ("5.1.2", 2026, "PMLP", "81,5", "81,5%", 81.5, None),  # the string form of a number, for a percent indicator
        ("2.2.2", 2026, "VRS", "11 / 935", "11/935", None, [11.0, 935.0]),
        ("4.1.1", 2025, "VUGD", "palielinās", "Palielinās", None, None),
        ("5.2.1", 2026, "PMLP", "+ 12 %", "+12%", 12.0, None),
    ],
)
async def test_a_value_as_typed_is_stored_as_the_strategy_writes_it(client, tokens, code, year, token, typed, stored,
                                                                    value, pair):  # fmt: skip
    response = await _post(client, code, typed, tokens[token], year)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["text"], body["value"], body["pair"]) == (stored, value, pair)


@pytest.mark.parametrize(
    ("code", "typed", "accepted"),
    [
        ("2.2.3", "١٢٣", "`13 404`"),  # Arabic-Indic digits are refused, not stored as written
        ("1.1.1", "octopus", "`81,5 %`"),
        ("2.2.3", "11/935", "`13 404`"),  # a pair for a number indicator
    ],
)
async def test_a_refused_value_lists_the_forms_the_indicator_accepts(client, tokens, code, typed, accepted):
    response = await _post(client, code, typed, tokens["admin"])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert accepted in detail and typed in detail
