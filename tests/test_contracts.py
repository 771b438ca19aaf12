"""The committed API contracts are the ones the code generates: `make schema` refreshes them."""

import json
import subprocess
from collections import Counter
from pathlib import Path

from fastapi.openapi.utils import get_openapi
from strawberry.printer import print_schema

from service.app import create_app
from service.core.openapi import share_descriptions
from service.graphql import OPENAPI_OWN_DESCRIPTIONS, OPENAPI_TWINS, schema

OPENAPI_DIR = Path(__file__).resolve().parents[1] / "openapi"


def test_openapi_document_matches_the_code():
    committed = json.loads((OPENAPI_DIR / "openapi.json").read_text(encoding="utf-8"))
    assert committed == create_app().openapi(), "openapi/openapi.json drifted from the code: run `make schema`"


def test_graphql_sdl_matches_the_code():
    committed = (OPENAPI_DIR / "schema.graphql").read_text(encoding="utf-8")
    assert committed == print_schema(schema) + "\n", "openapi/schema.graphql drifted from the code: run `make schema`"


def test_rest_and_graphql_share_each_description_written_once():
    """What both APIs show is described once, in the GraphQL types (where the linter requires it): the OpenAPI
    document carries the same text, and no REST model writes a second one for a property with a GraphQL twin."""
    app = create_app()
    served = app.openapi()["components"]["schemas"]
    graphql = schema._schema
    assert (
        served["MembershipOut"]["properties"]["since"]["description"]
        == graphql.type_map["Membership"].fields["since"].description
    )
    assert (
        served["InstitutionOut"]["properties"]["id"]["description"]
        == graphql.type_map["Institution"].fields["rowId"].description
    )
    assert served["Relation"]["description"].startswith(graphql.type_map["Relation"].description)
    assert "`participant`: Takes part in a committee" in served["Relation"]["description"]  # REST's own values
    described = sum("description" in p for s in served.values() for p in s.get("properties", {}).values())
    assert described >= 300
    generated = get_openapi(title=app.title, version=app.version, routes=app.routes)
    second_copies = share_descriptions(generated, graphql, OPENAPI_TWINS, OPENAPI_OWN_DESCRIPTIONS)
    assert second_copies == [], "described in the REST model and in GraphQL: keep the GraphQL description only"
    for kept in OPENAPI_OWN_DESCRIPTIONS:
        component, name = kept.split(".")
        assert served[component]["properties"][name]["description"]  # a REST model describes it itself


def test_every_error_response_is_documented_as_problem_json():
    document = create_app().openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)


CONTRACT_LINT = Path(__file__).resolve().parent / "contracts"
SPECTRAL = CONTRACT_LINT / "node_modules" / ".bin" / "spectral"


def test_openapi_document_passes_spectral_and_the_owasp_rules():
    """Spectral's OpenAPI rules and the OWASP API Top 10 rules (tests/contracts/.spectral.yaml): no error;
    the warnings are printed for whoever reads the output."""
    assert SPECTRAL.exists(), "Spectral is not installed: run `make install`"
    run = subprocess.run(
        [str(SPECTRAL), "lint", str(OPENAPI_DIR / "openapi.json"), "--ruleset", ".spectral.yaml", "--format", "json",
         "--quiet", "--fail-severity", "error"],
        cwd=CONTRACT_LINT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    findings = json.loads(run.stdout or "[]")
    errors = [f for f in findings if f["severity"] == 0]
    warnings = Counter(f["code"] for f in findings if f["severity"] == 1)
    print("spectral warnings:", dict(warnings.most_common()))
    assert run.returncode in (0, 1), run.stderr
    assert not errors, "\n".join(f"{f['code']} {'/'.join(map(str, f['path']))}: {f['message']}" for f in errors)


SCHEMA_LINTER = CONTRACT_LINT / "node_modules" / "graphql-schema-linter"
# graphql-schema-linter's rules (all are on by default) but for three, left off because the SDL keeps fields, input
# fields and enum values in the order a reader meets them (a node's ids first, its own facts, then what it links to;
# enum values from first to last step), which is the order GraphiQL's docs pane and code generators show them in.
UNSORTED = {"type-fields-sorted-alphabetically", "input-object-fields-sorted-alphabetically",
            "enum-values-sorted-alphabetically"}  # fmt: skip


def test_graphql_sdl_passes_graphql_schema_linter():
    """Every type, field, argument, enum value and input field described, names in GraphQL's cases, deprecations
    with a reason, connections and PageInfo per the Relay spec: 0 violations."""
    assert SCHEMA_LINTER.exists(), "graphql-schema-linter is not installed: run `make install`"
    built_in = sorted(path.stem.replace("_", "-") for path in (SCHEMA_LINTER / "lib" / "rules").glob("*.js"))
    assert len(built_in) >= 19 and UNSORTED <= set(built_in)
    rules = ",".join(rule for rule in built_in if rule not in UNSORTED)
    run = subprocess.run(
        ["node", str(SCHEMA_LINTER / "lib" / "cli.js"), "--format", "json", "--rules", rules,
         str(OPENAPI_DIR / "schema.graphql")],
        cwd=CONTRACT_LINT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    errors = json.loads(run.stdout)["errors"]
    assert not errors, "\n".join(f"{e['rule']}: {e['message']}" for e in errors)
    assert run.returncode == 0, run.stderr
