"""Webhooks end to end: a real receiver on 127.0.0.1, the real `python -m service deliver` processes, the API."""

import asyncio
import datetime as dt
import inspect
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from service.app import create_app
from service.settings import Settings
from service.webhooks.dispatcher import CheckedResolver, Outcome, backoff_s, settled
from service.webhooks.models import DeliveryState
from service.webhooks.repository import Claimed
from service.webhooks.service import target_refusal
from tests.helpers import ROOT, assert_problem, bearer, graphql, indicator_id, post_measurement

ALLOW_LOCALHOST = {"webhook_allowed_hosts": ["127.0.0.1"], "webhook_require_https": False}
WAIT_S = 60  # a bound on waiting for the receiver, not a figure: speed is measured in bench/webhooks.py


class Receiver:
    """An HTTP receiver on 127.0.0.1 that keeps every request; it can fail the first attempts of each message,
    or hold its answers until released."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.acknowledged: list[str] = []  # webhook-ids answered 2xx, in order
        self.fail_first = 0
        self.status_of_failure = 503
        self.location_of_failure: str | None = None  # a Location header on the failing answers (a redirect)
        self.gate = threading.Event()
        self.gate.set()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver.lock:
                    receiver.requests.append((headers, body))
                    tries = sum(1 for seen, _ in receiver.requests if seen["webhook-id"] == headers["webhook-id"])
                receiver.gate.wait()
                status = receiver.status_of_failure if tries <= receiver.fail_first else 204
                self.send_response(status)
                if status != 204 and receiver.location_of_failure:
                    self.send_header("location", receiver.location_of_failure)
                self.send_header("content-length", "0")
                self.end_headers()
                if status == 204:
                    with receiver.lock:
                        receiver.acknowledged.append(headers["webhook-id"])

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        with self.lock:
            return [json.loads(body) for _, body in self.requests]

    def ids(self) -> list[str]:
        with self.lock:
            return [headers["webhook-id"] for headers, _ in self.requests]

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiving = Receiver()
    yield receiving
    receiving.close()


@contextmanager
def dispatcher(database_url: str, **settings: str) -> Iterator[subprocess.Popen]:
    """`python -m service deliver` against the test database, retrying at once (no backoff), until the block ends.
    It polls once an hour, so every test shows it needs no poll: commits wake it (NOTIFY), retries at their time,
    and a settled delivery lets the next of its key go at once."""
    env = os.environ | {
        "DATABASE_URL": database_url,
        "WEBHOOK_ALLOWED_HOSTS": '["127.0.0.1"]',
        "WEBHOOK_REQUIRE_HTTPS": "false",
        "WEBHOOK_BACKOFF_BASE_S": "0",
        "WEBHOOK_POLL_INTERVAL_S": "3600",
        "LOG_LEVEL": "warning",
    }
    env |= {f"WEBHOOK_{name.upper()}": value for name, value in settings.items()}
    process = subprocess.Popen([sys.executable, "-m", "service", "deliver"], cwd=ROOT, env=env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
async def webhook_app(database_url, seeded):
    app = create_app(Settings(database_url=database_url, **ALLOW_LOCALHOST))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def api(webhook_app) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=webhook_app), base_url="http://test") as client:
        yield client


async def until(condition, what: str) -> None:
    """Wait (bounded) until `condition()` (a bool, or an awaitable of one) holds."""
    deadline = asyncio.get_running_loop().time() + WAIT_S

    async def holds() -> bool:
        result = condition()
        return await result if inspect.isawaitable(result) else result

    while not await holds():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"not within {WAIT_S} s: {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def subscribe(api, tokens) -> AsyncIterator:
    """Register webhooks; each is deleted at the end of the test, with its queue."""
    created: list[str] = []

    async def register(url: str, *event_types: str) -> dict:
        response = await api.post(
            "/api/v1/webhooks", json={"url": url, "event_types": list(event_types)}, headers=bearer(tokens["admin"])
        )
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])
        return response.json()

    yield register
    for webhook_id in created:
        path = f"/api/v1/webhooks/{webhook_id}"
        current = await api.get(path, headers=bearer(tokens["admin"]))
        if current.status_code == 200:
            await api.delete(path, headers=bearer(tokens["admin"]) | {"If-Match": current.headers["etag"]})


async def deliveries(api, tokens, webhook_id: str, **params) -> list[dict]:
    response = await api.get(
        f"/api/v1/webhooks/{webhook_id}/deliveries", params={"limit": 500} | params, headers=bearer(tokens["admin"])
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def create_organisations(api, tokens, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        acronym = "WH" + uuid.uuid4().hex[:8].upper()
        response = await api.post(
            "/api/v1/organizations",
            json={"acronym": acronym, "name": {"en": f"Webhook test {acronym}"}, "kind": "test"},
            headers=bearer(tokens["admin"]),
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def all_delivered(api, tokens, webhook_id: str, count: int) -> bool:
    states = [d["state"] for d in await deliveries(api, tokens, webhook_id)]
    return states == ["delivered"] * count


async def all_settled(api, tokens, webhook_id: str) -> bool:
    return all(d["state"] != "pending" for d in await deliveries(api, tokens, webhook_id))


def delivered_ids(events: list[dict]) -> list[str]:
    return [event["data"]["id"] for event in events]


async def unposted_slot(api) -> tuple[str, int]:
    """An indicator of VP's goals and a year of the strategy nothing was posted for yet (tests before this one post
    some), so this test's first post is a `posted` event, not a correction."""
    for code in ("1.2.2", "1.2.3", "1.1.3", "1.2.1"):
        ind = await indicator_id(api, code)
        posted = {y["year"] for y in (await api.get(f"/api/v1/indicators/{ind}/measurements")).json()["items"]}
        free = [year for year in range(2023, dt.date.today().year + 1) if year not in posted]
        if free:
            return code, free[0]
    raise AssertionError("every year of VP's indicators has a value already; give this test an indicator of its own")


async def test_an_agencys_post_reaches_the_receiver_signed_per_standard_webhooks(
    api, tokens, receiver, subscribe, database_url
):
    webhook = await subscribe(receiver.url, "measurement.posted", "measurement.corrected", "measurement.approved")
    assert webhook["secret"].startswith("whsec_")
    code, year = await unposted_slot(api)
    with dispatcher(database_url):
        posted = await post_measurement(api, code, tokens["VP"], {"year": year, "value": "26,5"})
        assert posted.status_code == 201, posted.text
        corrected = await post_measurement(
            api, code, tokens["VP"], {"year": year, "value": "26,6"}, **{"If-Match": posted.headers["etag"]}
        )
        ind = await indicator_id(api, code)
        approved = await api.post(
            f"/api/v1/indicators/{ind}/measurements/{year}/approve", headers=bearer(tokens["admin"])
        )
        assert approved.status_code == 200, approved.text
        await until(lambda: len(receiver.acknowledged) == 3, "three measurement events acknowledged")

    verifier = Webhook(webhook["secret"])
    for headers, body in receiver.requests:
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(headers)
        verifier.verify(body, headers)  # raises unless the signature is the secret's
    events = receiver.events()
    assert [event["type"] for event in events] == [
        "measurement.posted",
        "measurement.corrected",
        "measurement.approved",
    ]
    assert [event["data"]["object"]["text"] for event in events] == ["26,5", "26,6", "26,6"]
    assert events[0]["data"]["parent"] == {"entity": "indicator", "id": ind}
    assert {(e["data"]["object"]["year"], e["data"]["object"]["institution_id"]) for e in events} == {(year, None)}
    assert delivered_ids(events) == [posted.json()["id"], corrected.json()["id"], corrected.json()["id"]]
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 43).verify(receiver.requests[0][1], receiver.requests[0][0])

    (log,) = [d for d in await deliveries(api, tokens, webhook["id"]) if d["event_type"] == "measurement.posted"]
    assert (log["state"], log["attempts"], log["last_status"]) == ("delivered", 1, 204)
    assert log["log"][0]["status_code"] == 204 and log["log"][0]["duration_ms"] >= 0


async def test_a_receiver_failing_twice_then_succeeding_gets_each_event_acknowledged_once_and_in_order(
    api, tokens, receiver, subscribe, database_url
):
    webhook = await subscribe(receiver.url, "organization.created", "organization.updated")
    receiver.fail_first = 2
    (organisation,) = await create_organisations(api, tokens, 1)
    path = f"/api/v1/organizations/{organisation}"
    for n in range(3):
        etag = (await api.get(path)).headers["etag"]
        edit = await api.patch(
            path, json={"aliases": [f"edit {n}"]}, headers=bearer(tokens["admin"]) | {"If-Match": etag}
        )
        assert edit.status_code == 200, edit.text
    with dispatcher(database_url):
        await until(lambda: len(receiver.acknowledged) == 4, "four events acknowledged")
    events = receiver.events()
    # Each event is tried three times, and the next one of the same organisation only after the first succeeded.
    assert [event["type"] for event in events] == ["organization.created"] * 3 + ["organization.updated"] * 9
    assert [event["data"]["object"]["aliases"] for event in events[3::3]] == [["edit 0"], ["edit 1"], ["edit 2"]]
    assert len(receiver.acknowledged) == len(set(receiver.acknowledged)) == 4
    log = await deliveries(api, tokens, webhook["id"])
    assert {(d["state"], d["attempts"]) for d in log} == {("delivered", 3)}
    assert [attempt["status_code"] for attempt in log[0]["log"]] == [503, 503, 204]


async def test_an_idle_dispatcher_is_woken_by_a_commit_not_by_its_poll(api, tokens, receiver, subscribe, database_url):
    await subscribe(receiver.url, "organization.created")
    with dispatcher(database_url):
        first = await create_organisations(api, tokens, 1)
        await until(lambda: len(receiver.acknowledged) == 1, "the first event acknowledged")
        # Time to finish its round and go idle, so the next event can only come by its commit's NOTIFY: were the
        # dispatcher still in a round, the event would go out without a wake, and the test would not tell.
        await asyncio.sleep(1)
        second = await create_organisations(api, tokens, 1)
        await until(lambda: len(receiver.acknowledged) == 2, "the second event, an hour before the next poll")
    assert delivered_ids(receiver.events()) == first + second


async def test_a_retry_is_sent_at_its_time_not_at_the_next_poll(api, tokens, receiver, subscribe, database_url):
    webhook = await subscribe(receiver.url, "organization.created")
    receiver.fail_first = 1
    await create_organisations(api, tokens, 1)
    with dispatcher(database_url, backoff_base_s="0.5"):
        await until(lambda: len(receiver.acknowledged) == 1, "the retry, an hour before the next poll")
    (log,) = await deliveries(api, tokens, webhook["id"])
    assert [attempt["status_code"] for attempt in log["log"]] == [503, 204]


async def test_a_redirect_is_a_failed_attempt_not_followed(api, tokens, receiver, subscribe, database_url):
    webhook = await subscribe(receiver.url, "organization.created")
    receiver.fail_first, receiver.status_of_failure = 1, 307
    receiver.location_of_failure = receiver.url + "/elsewhere"  # followed, the retry would need no second attempt
    await create_organisations(api, tokens, 1)
    with dispatcher(database_url):
        await until(lambda: len(receiver.acknowledged) == 1, "the event acknowledged")
    (log,) = await deliveries(api, tokens, webhook["id"])
    assert [attempt["status_code"] for attempt in log["log"]] == [307, 204]
    assert log["log"][0]["error"].startswith("HTTP 307")


async def test_a_dispatcher_killed_mid_batch_loses_nothing_and_duplicates_carry_the_same_webhook_id(
    api, tokens, receiver, subscribe, database_url
):
    webhook = await subscribe(receiver.url, "organization.created")
    created = await create_organisations(api, tokens, 12)
    receiver.gate.clear()  # the receiver takes the requests but holds its answers
    with dispatcher(database_url, batch_size="5") as first:
        await until(lambda: len(receiver.requests) == 5, "a batch of five in flight")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    receiver.gate.set()
    with dispatcher(database_url, batch_size="5"):
        await until(lambda: all_delivered(api, tokens, webhook["id"], 12), "all twelve delivered after the restart")
    # The killed batch is sent again: the receiver sees those five twice, under the same webhook-id.
    assert len(receiver.requests) >= 17
    by_id: dict[str, set[bytes]] = {}
    for headers, body in receiver.requests:
        by_id.setdefault(headers["webhook-id"], set()).add(json.loads(body)["data"]["id"].encode())
    assert len(by_id) == 12 and all(len(bodies) == 1 for bodies in by_id.values())
    assert sorted(event_id for (event_id,) in by_id.values()) == sorted(i.encode() for i in created)
    assert {d["state"] for d in await deliveries(api, tokens, webhook["id"])} == {"delivered"}


async def test_a_rolled_back_write_has_no_event_and_sends_nothing(api, tokens, receiver, subscribe, database_url):
    webhook = await subscribe(receiver.url, "organization.created")
    acronym = "WHRB" + uuid.uuid4().hex[:6].upper()
    # A mutation operation is all or nothing: the second field fails, so the first one's organisation rolls back.
    rolled_back = (
        'mutation($a: String!) { createOrganization(input: {acronym: $a, name: {en: $a}, kind: "test"}) { id } '
        f'deleteOrganization(id: "{uuid.UUID(int=0)}") }}'
    )
    api.headers.update(bearer(tokens["admin"]))
    answer = await graphql(api, rolled_back, a=acronym)
    assert answer["data"] is None and answer["errors"]
    (committed,) = await create_organisations(api, tokens, 1)
    with dispatcher(database_url):
        await until(lambda: len(receiver.acknowledged) == 1, "the committed organisation's event")
    assert delivered_ids(receiver.events()) == [committed]
    log = await deliveries(api, tokens, webhook["id"])
    assert [d["event_type"] for d in log] == ["organization.created"]  # nothing was queued for the rolled-back one
    assert (await api.get("/api/v1/organizations", params={"q": acronym})).json()["items"] == []


async def test_two_dispatchers_never_send_the_same_attempt_twice(api, tokens, receiver, subscribe, database_url):
    webhook = await subscribe(receiver.url, "organization.created")
    created = await create_organisations(api, tokens, 40)
    with dispatcher(database_url, batch_size="3"), dispatcher(database_url, batch_size="3"):
        await until(lambda: len(receiver.acknowledged) >= 40, "forty events acknowledged")
    # No dispatcher died, so nothing is sent twice: each event went out once, in one attempt.
    assert sorted(receiver.ids()) == sorted(set(receiver.ids())) and len(receiver.ids()) == 40
    assert sorted(delivered_ids(receiver.events())) == sorted(created)
    assert {d["attempts"] for d in await deliveries(api, tokens, webhook["id"])} == {1}


async def test_a_delivery_failing_for_the_whole_retry_period_is_failed_and_can_be_redelivered(
    api, tokens, receiver, subscribe, database_url
):
    webhook = await subscribe(receiver.url, "organization.created")
    receiver.fail_first = 1
    receiver.status_of_failure = 500
    since = dt.datetime.now(dt.UTC).isoformat()
    (organisation,) = await create_organisations(api, tokens, 1)
    with dispatcher(database_url, retry_for_s="0"):
        await until(lambda: len(receiver.requests) == 1, "the first attempt")
        url = f"/api/v1/webhooks/{webhook['id']}"
        await until(lambda: all_settled(api, tokens, webhook["id"]), "the delivery settled")
        (log,) = await deliveries(api, tokens, webhook["id"])
        assert (log["state"], log["attempts"], log["last_status"]) == ("failed", 1, 500)
        assert log["log"][0]["error"].startswith("HTTP 500")

        admin = bearer(tokens["admin"])
        missing = await api.post(f"{url}/redeliver", json={"event_id": str(uuid.uuid4())}, headers=admin)
        assert_problem(missing, 404, "event")
        again = await api.post(f"{url}/redeliver", json={"event_id": log["event_id"]}, headers=admin)
        assert again.status_code == 202 and again.json() == {"queued": 1}
        await until(lambda: len(receiver.acknowledged) == 1, "the redelivered event acknowledged")
        since_then = await api.post(f"{url}/redeliver", json={"since": since}, headers=admin)
        assert since_then.json() == {"queued": 1}
        await until(lambda: len(receiver.acknowledged) == 2, "the event sent again since a moment")
    assert receiver.ids() == [log["event_id"]] * 3 and delivered_ids(receiver.events()) == [organisation] * 3


async def test_admins_pause_resume_rotate_and_delete_and_every_change_is_audited_without_the_secret(
    api, tokens, receiver, subscribe, database_url
):
    admin = bearer(tokens["admin"])
    webhook = await subscribe(receiver.url, "organization.created")
    url = f"/api/v1/webhooks/{webhook['id']}"
    listed = (await api.get("/api/v1/webhooks", headers=admin)).json()["items"]
    assert webhook["id"] in [w["id"] for w in listed] and all("secret" not in w for w in listed)
    assert "secret" not in (await api.get(url, headers=admin)).json()
    assert_problem(await api.get(url, headers=bearer(tokens["VP"])), 403, "admin")

    assert (await api.post(f"{url}/pause", headers=admin)).json()["status"] == "paused"
    (organisation,) = await create_organisations(api, tokens, 1)
    rotated = (await api.post(f"{url}/rotate-secret", headers=admin)).json()
    assert rotated["secret"] != webhook["secret"] and rotated["previous_secret_until"]
    with dispatcher(database_url):
        (queued,) = await deliveries(api, tokens, webhook["id"])
        assert queued["state"] == "pending"  # paused: it waits (whether the dispatcher looked yet or not)
        assert (await api.post(f"{url}/resume", headers=admin)).json()["status"] == "active"
        await until(lambda: len(receiver.acknowledged) == 1, "the queued event once resumed")
    headers, body = receiver.requests[0]
    assert len(headers["webhook-signature"].split(" ")) == 2  # the new secret's and, for the grace period, the old's
    Webhook(rotated["secret"]).verify(body, headers)
    Webhook(webhook["secret"]).verify(body, headers)
    assert delivered_ids(receiver.events()) == [organisation]

    assert_problem(await api.delete(url, headers=admin), 428, "If-Match")
    etag = (await api.get(url, headers=admin)).headers["etag"]
    assert (await api.delete(url, headers=admin | {"If-Match": etag})).status_code == 204
    assert (await api.get(url, headers=admin)).status_code == 404

    audit = (await api.get("/api/v1/audit", params={"entity_id": webhook["id"]}, headers=admin)).json()["items"]
    assert [entry["action"] for entry in audit] == ["create", "pause", "rotate_secret", "resume", "delete"]
    assert webhook["secret"] not in json.dumps(audit) and rotated["secret"] not in json.dumps(audit)
    feed = (await api.get("/api/v1/changes", params={"limit": 500, "since": "2000-01-01T00:00:00Z"})).json()
    assert all(change["entity"] != "webhook_subscription" for change in feed["items"])


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data", "http://localhost:8000/x", "ftp://127.0.0.1/x",
     "http://user:pw@127.0.0.1/hook", "http://127.0.0.1:99999/hook", "hook"],
)  # fmt: skip
async def test_a_target_outside_the_allow_list_is_refused_at_registration(api, tokens, url):
    response = await api.post(
        "/api/v1/webhooks", json={"url": url, "event_types": ["organization.created"]}, headers=bearer(tokens["admin"])
    )
    assert_problem(response, 422)
    assert len(response.json()["detail"]) < 300


async def test_without_an_allow_list_no_webhook_can_be_registered(client, tokens):
    response = await client.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example.lv/x", "event_types": ["measurement.posted"]},
        headers=bearer(tokens["admin"]),
    )
    assert_problem(response, 422, "allow-list", "WEBHOOK_ALLOWED_HOSTS")
    unknown = await client.post(
        "/api/v1/webhooks", json={"url": "https://a.lv", "event_types": ["everything"]}, headers=bearer(tokens["admin"])
    )
    assert_problem(unknown, 422)


def test_the_backoff_doubles_to_its_cap_with_jitter_and_retries_span_the_whole_period():
    settings = Settings(database_url="postgresql+asyncpg://unused/x")
    assert [backoff_s(n, settings, draw=lambda: 1.0) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert backoff_s(1, settings, draw=lambda: 0.0) == 2.5  # the jitter takes off at most half
    assert backoff_s(40, settings, draw=lambda: 1.0) == settings.webhook_backoff_max_s
    # Waiting the least each time, the attempts still reach the end of the 24 hours (the last one is at the end).
    elapsed, attempts = 0.0, 0
    while elapsed < settings.webhook_retry_for_s:
        attempts += 1
        elapsed += backoff_s(attempts, settings, draw=lambda: 0.0)
    assert settings.webhook_retry_for_s >= 86_400 and 20 < attempts < 60


def test_the_allow_list_matches_names_subdomains_and_networks_only():
    settings = Settings(
        database_url="postgresql+asyncpg://unused/x",
        webhook_allowed_hosts=["hooks.gov.lv", "*.example.lv", "192.0.2.0/24", "2001:db8::/32"],
    )
    allowed = ["https://hooks.gov.lv/in", "https://a.example.lv/x", "https://b.a.example.lv", "https://192.0.2.7:8443/",
               "https://[2001:db8::1]/hook"]  # fmt: skip
    refused = ["https://example.lv/x", "https://evil-example.lv/", "https://hooks.gov.lv.evil.com/",
               "https://192.0.3.1/", "https://10.0.0.1/", "http://hooks.gov.lv/in", "https://[::1]/"]  # fmt: skip
    assert [url for url in allowed if target_refusal(url, settings)] == []
    assert [url for url in refused if target_refusal(url, settings) is None] == []
    assert "https://" in target_refusal("http://hooks.gov.lv/in", settings)


def test_a_url_httpx_or_aiohttp_could_not_send_to_is_refused_at_registration():
    """The review's finding: such a URL was registered and then stopped every round of the dispatcher."""
    settings = Settings(database_url="postgresql+asyncpg://unused/x", webhook_allowed_hosts=["*.example.lv"])
    for url in ["https://xn--zz.example.lv/", "https://hooks.example.lv/a\x01b", "https://hooks.example.lv/a b",
                "https://-bad.example.lv/", "https://" + "a" * 64 + ".example.lv/"]:  # fmt: skip
        assert target_refusal(url, settings), url
    assert target_refusal("https://ūdens.example.lv/hook", settings) is None  # an internationalised name is one


async def test_a_name_that_resolves_inside_the_network_is_not_connected_to():
    """An allowed name whose DNS points at a loopback (or private) address — DNS rebinding — is refused when the
    dispatcher resolves it, unless the allow-list holds that address itself; the connection uses what was checked."""
    only_the_name = Settings(database_url="postgresql+asyncpg://unused/x", webhook_allowed_hosts=["localhost"])
    resolver = CheckedResolver(only_the_name)
    with pytest.raises(OSError, match="none of them public nor on the allow-list"):
        await resolver.resolve("localhost", 8080)
    await resolver.close()
    with_the_address = Settings(
        database_url="postgresql+asyncpg://unused/x", webhook_allowed_hosts=["localhost", "127.0.0.0/8"]
    )
    resolver = CheckedResolver(with_the_address)
    assert {entry["host"] for entry in await resolver.resolve("localhost", 8080)} == {"127.0.0.1"}
    await resolver.close()


def test_the_retry_period_runs_from_the_first_attempt_not_from_the_queuing():
    """A delivery that waited a day behind an earlier one of its entity (or in a paused subscription) still gets
    its 24 hours of retries; one first tried more than that ago fails for good."""
    settings = Settings(database_url="postgresql+asyncpg://unused/x")
    now = dt.datetime.now(dt.UTC)
    queued = now - dt.timedelta(days=2)
    failed_now = Outcome(now, 500, "HTTP 500", 3)

    def delivery(attempts: int, first: dt.datetime | None) -> Claimed:
        return Claimed(1, queued, attempts, first, "https://hooks.example.lv", "whsec_x", None, None, uuid.uuid4(),
                       "measurement.posted", now, {})  # fmt: skip

    waited = settled(delivery(0, None), failed_now, settings)
    assert waited.state == DeliveryState.pending and waited.next_attempt_at > now
    retried = settled(delivery(3, now - dt.timedelta(hours=2)), failed_now, settings)
    assert retried.state == DeliveryState.pending
    expired = settled(delivery(30, now - dt.timedelta(hours=25)), failed_now, settings)
    assert expired.state == DeliveryState.failed and expired.next_attempt_at is None
