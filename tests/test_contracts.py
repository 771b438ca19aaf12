"""The committed API contracts are the ones the code generates: `make schema` refreshes them."""

import json
from pathlib import Path

from strawberry.printer import print_schema

from service.app import create_app
from service.graphql import schema

OPENAPI_DIR = Path(__file__).resolve().parents[1] / "openapi"


def test_openapi_document_matches_the_code():
    committed = json.loads((OPENAPI_DIR / "openapi.json").read_text(encoding="utf-8"))
    assert committed == create_app().openapi(), "openapi/openapi.json drifted from the code: run `make schema`"


def test_graphql_sdl_matches_the_code():
    committed = (OPENAPI_DIR / "schema.graphql").read_text(encoding="utf-8")
    assert committed == print_schema(schema) + "\n", "openapi/schema.graphql drifted from the code: run `make schema`"


def test_every_error_response_is_documented_as_problem_json():
    document = create_app().openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)
