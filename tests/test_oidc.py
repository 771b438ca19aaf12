"""People sign in at an OpenID Connect provider (a real one, tests/oidc_provider.py, on 127.0.0.1) and write with
its access tokens beside the machines' tokens: the revision and the audit name the person; every forged, stale
or foreign token is a 401/403 problem (REST) or a coded error (GraphQL); while the provider is down, the keys
already fetched keep working and nothing else is accepted."""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from joserfc.jwk import RSAKey
from oidc_provider_mock import User

from service.app import create_app
from tests.helpers import assert_problem, bearer, indicator_id
from tests.oidc_provider import Provider, running_provider

USERS = [
    User(sub="anna.berzina", claims={"name": "Anna Bērziņa", "role": "agency", "institution": "VUGD"}),
    User(sub="janis.ozols", claims={"name": "Jānis Ozols", "role": ["offline_access", "admin"]}),
]
RECORD = "mutation($input: RecordMeasurementInput!) { recordMeasurement(input: $input) { id revision } }"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider(USERS) as running:
        yield running


@asynccontextmanager
async def client_of(settings, provider_url: str, **overrides) -> AsyncIterator[httpx.AsyncClient]:
    """The app accepting tokens of the provider at `provider_url`, over httpx."""
    app = create_app(settings.model_copy(update={"oidc_issuers": [provider_url]} | overrides))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield client


@pytest.fixture(scope="module")
async def client(settings, seeded, provider) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(settings, provider.url) as client:
        yield client


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict) -> str:
    """`alg: none`: a header, the claims and an empty signature."""
    return f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(claims).encode())}."


def hmac_with_public_key(provider: Provider, claims: dict) -> str:
    """HS256 keyed with the provider's public key: valid if a verifier took the alg from the token."""
    # Signed by hand: joserfc itself refuses to make an HMAC key of a PEM public key.
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": provider.key.kid}).encode())
    signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
    mac = hmac.new(provider.key.as_pem(private=False), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def tampered(token: str, **changes) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))) | changes
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


@pytest.fixture(scope="module")
def refused(provider: Provider) -> dict[str, tuple[str, int, str, str]]:
    """Each refused case: (token, status, words of the detail, GraphQL code)."""
    now = int(time.time())
    agency = {"role": "agency", "institution": "VUGD"}
    valid = provider.sign(provider.claims("anna.berzina", **agency))
    stranger = RSAKey.generate_key(2048, parameters={"kid": "not-the-providers"})
    return {
        "expired": (provider.sign(provider.claims("anna.berzina", exp=now - 120, **agency)), 401, "expired",
                    "UNAUTHENTICATED"),
        "not yet valid": (provider.sign(provider.claims("anna.berzina", nbf=now + 600, **agency)), 401,
                          "not valid yet", "UNAUTHENTICATED"),
        "wrong audience": (provider.sign(provider.claims("anna.berzina", aud="another-api", **agency)), 401,
                           "'another-api', not for this service", "UNAUTHENTICATED"),
        "wrong issuer": (provider.sign(provider.claims("anna.berzina", iss="https://elsewhere.example", **agency)),
                         401, "issuer 'https://elsewhere.example' is not one", "UNAUTHENTICATED"),
        "alg none": (unsigned(provider.claims("anna.berzina", **agency)), 401, "alg 'none'", "UNAUTHENTICATED"),
        "HS256 with the public key": (hmac_with_public_key(provider, provider.claims("janis.ozols", role="admin")),
                                      401, "alg 'HS256'", "UNAUTHENTICATED"),
        "unknown kid": (provider.sign(provider.claims("janis.ozols", role="admin"), key=stranger), 401,
                        "kid 'not-the-providers'", "UNAUTHENTICATED"),
        "tampered payload": (tampered(valid, role="admin"), 401, "signature does not verify", "UNAUTHENTICATED"),
        "unknown role": (provider.sign(provider.claims("anna.berzina", role="clerk", institution="VUGD")), 403,
                         "`role` holds 'clerk'", "FORBIDDEN"),
        "unknown institution": (provider.sign(provider.claims("anna.berzina", role="agency", institution="NOPE")),
                                403, "institution 'NOPE'", "FORBIDDEN"),
        "not a JWT": ("not-a-jwt", 401, "well-formed JWT", "UNAUTHENTICATED"),
    }  # fmt: skip


CASES = [
    "expired", "not yet valid", "wrong audience", "wrong issuer", "alg none", "HS256 with the public key",
    "unknown kid", "tampered payload", "unknown role", "unknown institution", "not a JWT",
]  # fmt: skip


async def test_a_signed_in_person_posts_an_actual_and_the_revision_and_audit_name_them(client, provider, tokens):
    signed_in = provider.sign_in("anna.berzina")  # authorization code + PKCE, as a public client
    person = bearer(signed_in["access_token"])
    ind = await indicator_id(client, "4.2.2")
    history_url = f"/api/v1/indicators/{ind}/measurements/2026/history"
    earlier = await client.get(history_url)  # other tests may have posted the year: then this is a correction
    precondition = {"If-Match": earlier.headers["etag"]} if earlier.status_code == 200 else {}
    body = {"year": 2026, "value": "3,1", "comment": "from the agency's report"}
    headers = person | precondition | {"Idempotency-Key": "anna-2026"}
    posted = await client.post(f"/api/v1/indicators/{ind}/measurements", json=body, headers=headers)
    assert posted.status_code == 201, posted.text
    again = await client.post(f"/api/v1/indicators/{ind}/measurements", json=body, headers=headers)
    assert again.status_code == 201 and again.json()["id"] == posted.json()["id"]  # a person's key is kept too

    admin = bearer(provider.sign_in("janis.ozols")["access_token"])
    approve = "mutation($i: ID!) { approveMeasurement(indicatorId: $i, year: 2026) { status reviewedBy reviewedBySubject reviewedByName } }"  # noqa: E501
    approved = await client.post("/graphql", json={"query": approve, "variables": {"i": ind}}, headers=admin)
    assert approved.json()["data"]["approveMeasurement"] == {
        "status": "APPROVED", "reviewedBy": "admin:-", "reviewedBySubject": "janis.ozols",
        "reviewedByName": "Jānis Ozols",
    }  # fmt: skip

    revision = (await client.get(history_url)).json()["items"][-1]
    assert revision["id"] == posted.json()["id"]
    assert (revision["posted_by"], revision["posted_by_subject"], revision["posted_by_name"]) == (
        "agency:VUGD", "anna.berzina", "Anna Bērziņa",
    )  # fmt: skip
    assert (revision["reviewed_by_subject"], revision["reviewed_by_name"]) == ("janis.ozols", "Jānis Ozols")

    audit = await client.get("/api/v1/audit", params={"entity": "measurement", "entity_id": revision["id"]},
                             headers=bearer(tokens["admin"]))  # fmt: skip
    entries = audit.json()["items"]
    assert [(e["action"], e["role"], e["institution_code"], e["subject"], e["subject_name"], e["issuer"])
            for e in entries] == [
        ("correct" if precondition else "create", "agency", "VUGD", "anna.berzina", "Anna Bērziņa", provider.url),
        ("approve", "admin", None, "janis.ozols", "Jānis Ozols", provider.url),
    ]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
async def test_a_refused_token_is_a_problem_in_rest(client, refused, case):
    token, status, words, _ = refused[case]
    ind = await indicator_id(client, "4.2.2")
    response = await client.post(f"/api/v1/indicators/{ind}/measurements", json={"year": 2025, "value": "1"},
                                 headers=bearer(token))  # fmt: skip
    assert_problem(response, status, words)


@pytest.mark.parametrize("case", CASES)
async def test_a_refused_token_is_a_coded_error_in_graphql(client, refused, case):
    token, _, words, code = refused[case]
    variables = {"input": {"indicatorId": await indicator_id(client, "4.2.2"), "year": 2025, "value": "1"}}
    response = await client.post("/graphql", json={"query": RECORD, "variables": variables}, headers=bearer(token))
    assert response.status_code == 200
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == code and words in error["message"], error
    assert response.json()["data"] is None


async def test_a_person_and_a_machine_token_share_the_write_limit_and_the_admin_checks(settings, seeded, provider,
                                                                                       tokens):  # fmt: skip
    async with client_of(settings, provider.url, write_rate_per_token=2) as client:
        ind = await indicator_id(client, "4.2.2")
        # Two tokens of one person are one caller: the limit counts the person, not the token's text.
        first, second = (provider.sign(provider.claims("anna.berzina", role="agency", institution="VUGD", jti=jti))
                         for jti in ("a", "b"))  # fmt: skip
        answers = [
            await client.post(f"/api/v1/indicators/{ind}/measurements", json={"year": 1800, "value": "1"},
                              headers=bearer(token))
            for token in (first, second, first)
        ]  # fmt: skip
        assert [a.status_code for a in answers] == [422, 422, 429]
        assert "Retry-After" in answers[2].headers
        # An agency person is no admin, whichever credential: the same 403 as an agency token's.
        for token in (second, tokens["VUGD"]):
            assert_problem(await client.get("/api/v1/audit", headers=bearer(token)), 403, "Only an admin")


async def test_a_rotated_key_is_fetched_once_then_accepted(settings, seeded):
    with running_provider(USERS) as provider:
        async with client_of(settings, provider.url, oidc_jwks_refetch_s=0) as client:
            admin = provider.claims("janis.ozols", role="admin")
            assert (await client.get("/api/v1/audit?limit=1", headers=bearer(provider.sign(admin)))).status_code == 200
            assert provider.jwks_fetches == 1
            provider.use_key(RSAKey.generate_key(2048, parameters={"kid": "key-2"}))
            for _ in range(3):
                answer = await client.get("/api/v1/audit?limit=1", headers=bearer(provider.sign(admin)))
                assert answer.status_code == 200, answer.text
            assert provider.jwks_fetches == 2


async def test_unknown_kids_fetch_the_keys_at_most_once_per_interval(settings, seeded):
    with running_provider(USERS) as provider:
        async with client_of(settings, provider.url, oidc_jwks_refetch_s=3600) as client:
            admin = provider.claims("janis.ozols", role="admin")
            assert (await client.get("/api/v1/audit?limit=1", headers=bearer(provider.sign(admin)))).status_code == 200
            for n in range(5):
                stranger = RSAKey.generate_key(2048, parameters={"kid": f"stranger-{n}"})
                answer = await client.get("/api/v1/audit?limit=1", headers=bearer(provider.sign(admin, key=stranger)))
                assert_problem(answer, 401, f"kid 'stranger-{n}'")
            assert provider.jwks_fetches == 1


async def test_while_the_provider_is_down_kept_keys_work_and_an_unknown_kid_is_503(settings, seeded):
    with running_provider(USERS) as provider:
        admin = provider.claims("janis.ozols", role="admin")
        known = provider.sign(admin)
        unknown = provider.sign(admin, key=RSAKey.generate_key(2048, parameters={"kid": "key-after-rotation"}))
        async with (
            client_of(settings, provider.url, oidc_jwks_refetch_s=0) as client,
            client_of(settings, provider.url) as never_fetched,
        ):
            assert (await client.get("/api/v1/audit?limit=1", headers=bearer(known))).status_code == 200
            provider.stop()
            assert (await client.get("/api/v1/audit?limit=1", headers=bearer(known))).status_code == 200
            down = await client.get("/api/v1/audit?limit=1", headers=bearer(unknown))
            assert_problem(down, 503, "kid 'key-after-rotation'", "could not be asked", "keep working")
            assert int(down.headers["Retry-After"]) > 0
            variables = {"input": {"indicatorId": await indicator_id(client, "4.2.2"), "year": 2025, "value": "1"}}
            answer = await client.post("/graphql", json={"query": RECORD, "variables": variables},
                                       headers=bearer(unknown))  # fmt: skip
            assert answer.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            assert "could not be asked" in answer.json()["errors"][0]["message"]
            forged = tampered(known, sub="someone.else")
            assert_problem(await client.get("/api/v1/audit?limit=1", headers=bearer(forged)), 401, "signature")
            # A service that has no keys yet verifies nothing while the provider is away: 503, never a guess.
            assert_problem(await never_fetched.get("/api/v1/audit?limit=1", headers=bearer(known)), 503,
                           "could not be asked")  # fmt: skip


async def test_keycloak_shaped_claims_are_read(settings, seeded, provider):
    """Keycloak's defaults: several audiences, and the roles under `resource_access.<client>.roles`."""
    async with client_of(settings, provider.url, oidc_role_claim="resource_access.interior-explorer.roles") as client:
        claims = provider.claims("janis.ozols", aud=["interior-api", "account"], preferred_username="jozols",
                                 resource_access={"interior-explorer": {"roles": ["agency", "admin"]}})  # fmt: skip
        answer = await client.get("/api/v1/audit?limit=1", headers=bearer(provider.sign(claims)))
        assert answer.status_code == 200, answer.text
        claims["resource_access"] = {"account": {"roles": ["admin"]}}  # another client's role is not this one's
        assert_problem(await client.get("/api/v1/audit?limit=1", headers=bearer(provider.sign(claims))), 403,
                       "`resource_access.interior-explorer.roles` holds 'nothing'")  # fmt: skip
