"""GraphQL subscriptions over graphql-transport-ws, with a real client (gql over websockets) against the app
under a real uvicorn: live delivery fed by PostgreSQL's NOTIFY, resuming from a cursor, rolled-back writes never
sent, and the bounds."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from sqlalchemy import text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.typing import Subprotocol

from tests.conftest import serving
from tests.helpers import bearer, indicator_id

# Every wait is bounded: a delivery that never comes fails the test instead of hanging it.
WAIT_S = 10
INDICATOR = "1.1.3"  # VP posts its actuals
YEAR = 2024  # the reporting cycle posts 1.1.3 for 2025, and the webhooks suite needs a year of it left free

MEASUREMENTS = """subscription Actuals($indicator: ID!, $after: String) {
  measurements(indicatorId: $indicator, after: $after) { items { rowId year text revision status } resumeCursor } }"""
CHANGES = """subscription Changes($after: String) {
  changes(after: $after) { items { entity rowId change action } resumeCursor } }"""


@asynccontextmanager
async def subscriber(base_url: str) -> AsyncIterator:
    transport = WebsocketsTransport(
        url=base_url.replace("http://", "ws://") + "/graphql",
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    async with Client(transport=transport) as session:
        yield session


def subscribe(session, document: str, **variables):
    return session.subscribe(GraphQLRequest(document, variable_values=variables))


async def next_event(events) -> dict:
    return await asyncio.wait_for(anext(events), WAIT_S)


@pytest.fixture
async def http(served_url) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served_url, timeout=WAIT_S) as client:
        yield client


async def _current_etag(http: httpx.AsyncClient, indicator: str) -> dict[str, str]:
    history = await http.get(f"/api/v1/indicators/{indicator}/measurements/{YEAR}/history")
    return {"If-Match": history.headers["etag"]} if history.status_code == 200 else {}


async def post_actual(http: httpx.AsyncClient, token: str, indicator: str, value: str) -> dict:
    """An agency's post over HTTP (a correction of the current revision, if there is one)."""
    headers = bearer(token) | await _current_etag(http, indicator)
    response = await http.post(
        f"/api/v1/indicators/{indicator}/measurements", json={"year": YEAR, "value": value}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def bounded_url(settings, seeded) -> Iterator[str]:
    """The app with small bounds: 2 subscriptions a connection, 3 an address, a cost budget of 0.1 ms (a page of
    500 changes is over it). Its subscriptions never recheck on their own (600 s), so whatever they deliver
    within a test's wait was woken by a NOTIFY."""
    bounds = {"graphql_subscriptions_per_connection": 2, "graphql_subscriptions_per_address": 3,
              "graphql_cost_budget_ms": 0.1, "graphql_subscription_recheck_s": 600}  # fmt: skip
    with serving(settings.model_copy(update=bounds)) as url:
        yield url


async def test_an_agencys_post_arrives_live_and_after_a_reconnect_from_its_cursor(bounded_url, http, tokens):
    indicator = await indicator_id(http, INDICATOR)
    async with subscriber(bounded_url) as session:
        events = subscribe(session, MEASUREMENTS, indicator=indicator)
        now = (await next_event(events))["measurements"]
        assert now["items"] == [] and now["resumeCursor"]  # where the client stands, before anything changed
        posted = await post_actual(http, tokens["VP"], indicator, "26,5")
        live = (await next_event(events))["measurements"]
        assert [(a["rowId"], a["text"]) for a in live["items"]] == [(posted["id"], "26,5")]
        cursor = live["resumeCursor"]
        await events.aclose()

    # Disconnected: the next post has nobody listening for it.
    missed = await post_actual(http, tokens["VP"], indicator, "26,6")

    async with subscriber(bounded_url) as session:
        events = subscribe(session, MEASUREMENTS, indicator=indicator, after=cursor)
        replayed = (await next_event(events))["measurements"]
        assert [(a["rowId"], a["text"]) for a in replayed["items"]] == [(missed["id"], "26,6")]
        # …and then live again on the same subscription.
        again = await post_actual(http, tokens["VP"], indicator, "26,7")
        live = (await next_event(events))["measurements"]
        assert [a["rowId"] for a in live["items"]] == [again["id"]]
        await events.aclose()


async def test_a_rolled_back_write_is_never_delivered(bounded_url, http, tokens):
    indicator = await indicator_id(http, INDICATOR)
    both = """mutation($ok: RecordMeasurementInput!, $bad: RecordMeasurementInput!) {
      ok: recordMeasurement(input: $ok) { id } bad: recordMeasurement(input: $bad) { id } }"""
    async with subscriber(bounded_url) as session:
        events = subscribe(session, MEASUREMENTS, indicator=indicator)
        await next_event(events)
        if_match = (await _current_etag(http, indicator)).get("If-Match")
        ok = {"indicatorId": indicator, "year": YEAR, "value": "30,1", "ifMatch": if_match}
        bad = {"indicatorId": indicator, "year": YEAR, "value": "not a number"}
        answer = (
            await http.post(
                "/graphql", json={"query": both, "variables": {"ok": ok, "bad": bad}}, headers=bearer(tokens["VP"])
            )
        ).json()
        assert answer["data"] is None and answer["errors"], answer  # all or nothing: `ok` was rolled back
        committed = await post_actual(http, tokens["VP"], indicator, "30,2")
        # Events come in commit order: had the rolled-back revision been sent, it would come first.
        event = (await next_event(events))["measurements"]
        assert [(a["rowId"], a["text"]) for a in event["items"]] == [(committed["id"], "30,2")]
        await events.aclose()


async def test_the_changes_subscription_shows_what_the_anonymous_feed_shows(bounded_url, http, tokens):
    indicator = await indicator_id(http, INDICATOR)
    async with subscriber(bounded_url) as session:
        events = subscribe(session, CHANGES)
        start = (await next_event(events))["changes"]["resumeCursor"]
        posted = await post_actual(http, tokens["VP"], indicator, "27,1")
        event = (await next_event(events))["changes"]
        await events.aclose()
    anonymous = (await http.get("/api/v1/changes", params={"cursor": start})).json()["items"]
    sent = [(i["entity"], i["rowId"], i["change"].lower(), i["action"]) for i in event["items"]]
    assert ("measurement", posted["id"], "upsert") in [entry[:3] for entry in sent]
    assert sent == [(i["entity"], i["id"], i["change"], i["action"]) for i in anonymous]


def _code(refused: pytest.ExceptionInfo) -> str:
    return refused.value.errors[0]["extensions"]["code"]


async def test_subscriptions_over_the_bounds_are_refused_with_a_code_and_the_others_stay(bounded_url):
    async with subscriber(bounded_url) as session, subscriber(bounded_url) as other:
        held = [subscribe(session, CHANGES) for _ in range(2)]
        for events in held:
            await next_event(events)
        with pytest.raises(TransportQueryError) as refused:
            await next_event(subscribe(session, CHANGES))
        assert _code(refused) == "TOO_MANY_SUBSCRIPTIONS" and "connection" in str(refused.value)
        # The same address on another connection: one more (3 in all), then refused too.
        third = subscribe(other, CHANGES)
        await next_event(third)
        with pytest.raises(TransportQueryError) as refused:
            await next_event(subscribe(other, CHANGES))
        assert _code(refused) == "TOO_MANY_SUBSCRIPTIONS" and "address" in str(refused.value)
        # The refused ones changed nothing: the held ones still deliver, and a freed place can be taken.
        await held[0].aclose()
        replacement = subscribe(session, CHANGES)
        assert (await next_event(replacement))["changes"]["resumeCursor"]
        for events in [held[1], third, replacement]:
            await events.aclose()


@pytest.mark.parametrize(
    ("document", "variables", "code"),
    [
        (CHANGES, {"after": "x" * 2001}, "BAD_USER_INPUT"),  # the text bounds hold for subscriptions too
        ("subscription { changes(first: 500) { items { entity rowId change action } } }", {}, "QUERY_TOO_COSTLY"),
        ('subscription { measurements(indicatorId: "not-an-id") { resumeCursor } }', {}, "BAD_USER_INPUT"),
        ("subscription { changes(first: 0) { resumeCursor } }", {}, "BAD_USER_INPUT"),
        ("{ __typename }", {}, "BAD_USER_INPUT"),  # queries and mutations go over HTTP
        ("subscription { changes { nope } }", {}, "GRAPHQL_VALIDATION_FAILED"),
    ],
    ids=["too-long-cursor", "over-budget", "malformed-id", "first-0", "query", "unknown-field"],
)
async def test_subscription_documents_pass_the_same_limits(bounded_url, document, variables, code):
    async with subscriber(bounded_url) as session:
        with pytest.raises(TransportQueryError) as refused:
            await next_event(subscribe(session, document, **variables))
    assert _code(refused) == code, refused.value.errors


async def test_an_unknown_indicator_is_not_found(served_url):
    async with subscriber(served_url) as session:
        with pytest.raises(TransportQueryError) as refused:
            unknown = "00000000-0000-0000-0000-000000000000"
            await next_event(subscribe(session, MEASUREMENTS, indicator=unknown))
    assert _code(refused) == "NOT_FOUND"


async def test_each_server_process_delivers_to_its_own_sockets(served_url, bounded_url, http, tokens):
    """Two servers (as two workers would be), each with its own LISTEN connection: one post reaches both."""
    indicator = await indicator_id(http, INDICATOR)
    async with subscriber(served_url) as here, subscriber(bounded_url) as there:
        streams = [
            subscribe(here, MEASUREMENTS, indicator=indicator),
            subscribe(there, MEASUREMENTS, indicator=indicator),
        ]
        for events in streams:
            await next_event(events)
        posted = await post_actual(http, tokens["VP"], indicator, "28,4")
        for events in streams:
            assert [a["rowId"] for a in (await next_event(events))["measurements"]["items"]] == [posted["id"]]
            await events.aclose()


async def test_a_websocket_message_over_the_graphql_body_limit_closes_the_connection(served_url, settings):
    url = served_url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as socket:
        await socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await asyncio.wait_for(socket.recv(), WAIT_S))["type"] == "connection_ack"
        padding = "a" * settings.graphql_max_body_bytes
        subscribe_message = {"query": CHANGES, "variables": {"after": None, "padding": padding}}
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe_message}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), WAIT_S)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == CloseCode.MESSAGE_TOO_BIG


async def test_a_lost_listening_connection_is_reopened_and_nothing_is_missed(bounded_url, http, tokens, session):
    indicator = await indicator_id(http, INDICATOR)
    async with subscriber(bounded_url) as client:
        events = subscribe(client, MEASUREMENTS, indicator=indicator)
        await next_event(events)
        terminated = await session.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            )
        )
        assert terminated.scalar_one() >= 1
        posted = await post_actual(http, tokens["VP"], indicator, "29,9")
        assert [a["rowId"] for a in (await next_event(events))["measurements"]["items"]] == [posted["id"]]
        await events.aclose()
