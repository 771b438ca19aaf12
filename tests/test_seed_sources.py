"""Every source code the data files give (`sources: ["000", …]`) names a document in data/sources.yaml,
with a title, a publisher and a date, or a note saying why the document states none."""

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from service.seed.files import InstitutionsFile, SourcesFile
from tests.helpers import seed_text

DATA = Path(__file__).resolve().parents[1] / "data"


def _yaml(name: str) -> dict:
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))


def _codes_used(node) -> set[str]:
    """Every value of a `sources` list or a `source` field anywhere in a data file."""
    if isinstance(node, dict):
        found = set()
        for key, value in node.items():
            if key == "sources" and isinstance(value, list):
                found |= set(value)
            elif key == "source" and isinstance(value, str):
                found.add(value)
            else:
                found |= _codes_used(value)
        return found
    if isinstance(node, list):
        return set().union(*(_codes_used(item) for item in node)) if node else set()
    return set()


SOURCES = SourcesFile.model_validate(_yaml("sources.yaml")).sources


def test_every_source_code_in_the_data_names_a_listed_document():
    used = set()
    for path in DATA.glob("*.yaml"):
        if path.name != "sources.yaml":
            used |= _codes_used(_yaml(path.name))
    assert used, "the data files name no sources"
    assert used <= {source.code for source in SOURCES}


def test_every_document_has_a_title_and_a_publisher_that_is_a_known_institution():
    institutions = {i.code for i in InstitutionsFile.model_validate(_yaml("institutions.yaml")).institutions}
    for source in SOURCES:
        assert source.title.en, source.code
        assert source.publisher is None or source.publisher in institutions, source.code
    assert {s.code: s.publisher for s in SOURCES} == {
        "000": "IeM",
        "001": "IeM",
        "002": None,
        "003": "ĀM",
        "004": "LT MD",
    }


def test_a_null_date_or_publisher_without_a_note_is_refused():
    entry = {"code": "005", "file": "005_ab.txt", "title": {"en": "A page"}, "publisher": "IeM", "date": None}
    with pytest.raises(ValidationError, match="needs a note"):
        SourcesFile.model_validate({"sources": [entry]})
    with pytest.raises(ValidationError, match="publisher"):
        SourcesFile.model_validate({"sources": [{k: v for k, v in entry.items() if k != "publisher"}]})
    SourcesFile.model_validate({"sources": [entry | {"note": "The page carries no date."}]})


@pytest.mark.parametrize("source", SOURCES, ids=[s.code for s in SOURCES])
def test_titles_and_dates_are_the_documents_words(source):
    text = re.sub(r"\s+", " ", seed_text(source.code))
    for title in (source.title.lv, source.title.lt):
        if title:
            assert title in text, (source.code, title)
    if source.date_as_written:
        assert source.date_as_written in text, source.code
