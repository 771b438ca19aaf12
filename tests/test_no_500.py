"""Inputs that used to end in a 500: each is now a problem the client can act on."""

import pytest

from tests.helpers import bearer, indicator_id


@pytest.mark.parametrize("year", [2**31, 10**30])
async def test_a_year_beyond_any_calendar_in_a_path_is_422(client, tokens, year):
    indicator = await indicator_id(client, "1.1.1")
    history = await client.get(f"/api/v1/indicators/{indicator}/measurements/{year}/history")
    approve = await client.post(
        f"/api/v1/indicators/{indicator}/measurements/{year}/approve", headers=bearer(tokens["admin"])
    )
    for response in (history, approve):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "year" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "parameter", "moment"),
    [
        ("/api/v1/changes", "since", "0001-01-01T00:00:00+14:00"),
        ("/api/v1/organizations", "updated_since", "9999-12-31T23:59:59-14:00"),
    ],
)
async def test_a_timestamp_outside_the_calendar_in_utc_is_422(client, path, parameter, moment):
    response = await client.get(path, params={parameter: moment})
    assert response.status_code == 422, response.text
    assert "outside years 1-9999" in response.json()["detail"]
    assert response.headers["x-request-id"]
