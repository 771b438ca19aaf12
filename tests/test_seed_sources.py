"""Every source code the data files give (`sources: ["000", …]`) names a document in data/sources.yaml,
with a title, a publisher and a date, or a note saying why the document states none."""

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from service.seed.files import InstitutionsFile, RegistryFile, SourcesFile
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


def _source_texts(codes: list[str]) -> list[str]:
    return [re.sub(r"\s+", " ", seed_text(code)) for code in codes]


_REGISTRY = RegistryFile.model_validate(_yaml("registry.yaml"))
_NAMED = [*InstitutionsFile.model_validate(_yaml("institutions.yaml")).institutions, *_REGISTRY.organizations]


@pytest.mark.parametrize("seed", _NAMED, ids=[getattr(s, "code", None) or s.key for s in _NAMED])
def test_a_name_is_as_written_exactly_when_its_sources_write_it(seed):
    """`as_written` names are in one of the row's documents word for word; a `translation` or a `normalized`
    form is in none of them (so CTIF's English name is a translation, INTERPOL's as written)."""
    texts = _source_texts(seed.sources)
    for language, text in seed.name.model_dump(exclude_none=True).items():
        written = any(re.sub(r"\s+", " ", text) in document for document in texts)
        basis = seed.provenance.name[language]
        assert (basis == "as_written") == written, (language, text, basis)
        assert basis != "translation" or language == "en", (language, text)


def test_ctif_english_name_is_a_translation_and_interpol_s_as_written():
    by_key = {seed.key: seed for seed in _REGISTRY.organizations}
    assert by_key["CTIF"].provenance.name["en"] == "translation"
    assert by_key["INTERPOL"].provenance.name["en"] == "as_written"


def test_an_inferred_date_quotes_its_sentence_from_the_membership_s_source():
    inferred = [
        (seed, basis)
        for seed in _REGISTRY.memberships
        for basis in (seed.provenance.since, seed.provenance.until)
        if basis is not None and basis != "stated"
    ]
    assert [(seed.organization, seed.since) for seed, _ in inferred] == [
        ("Migracijos ir prieglobsčio panelį", "2011-12-08")
    ]
    for seed, basis in inferred:
        assert any(basis.source_sentence in document for document in _source_texts(seed.sources))


def _organization_row(**changes) -> dict:
    row = {
        "acronym": "X",
        "name": {"lv": "Iks", "en": "Ex"},
        "kind": "forum",
        "sources": ["000"],
        "provenance": {"name": {"lv": "as_written", "en": "translation"}, "kind": "editorial"},
    }
    return row | changes


def _registry(organization: dict) -> dict:
    return {"organizations": [organization], "memberships": [], "engagements": [], "representations": []}


@pytest.mark.parametrize(
    ("row", "refused"),
    [
        ({"provenance": None}, "provenance"),
        ({"provenance": {"name": {"lv": "as_written"}, "kind": "editorial"}}, "languages of name"),
        ({"established": "2010"}, "provenance.established must be given exactly when established is"),
        ({"parent": "UN"}, "provenance.parent"),
        ({"provenance": {"name": {"lv": "as_written", "en": "guessed"}, "kind": "editorial"}}, "translation"),
        ({"provenance": {"name": {"lv": "as_written", "en": "translation"}, "kind": "stated"}}, "editorial"),
    ],
)
def test_the_seed_refuses_a_row_whose_provenance_does_not_cover_its_facts(row, refused):
    organization = {key: value for key, value in _organization_row(**row).items() if value is not None}
    with pytest.raises(ValidationError, match=refused):
        RegistryFile.model_validate(_registry(organization))
    RegistryFile.model_validate(_registry(_organization_row()))


def test_an_inferred_date_needs_its_sentence():
    membership = {"organization": "X", "member": "IeM", "relation": "member", "since": "2011", "sources": ["004"]}
    inferred = {"relation": "editorial", "since": {"basis": "inferred"}}
    with pytest.raises(ValidationError, match="source_sentence"):
        RegistryFile.model_validate(
            _registry(_organization_row()) | {"memberships": [membership | {"provenance": inferred}]}
        )
    inferred["since"]["source_sentence"] = "…"
    RegistryFile.model_validate(
        _registry(_organization_row()) | {"memberships": [membership | {"provenance": inferred}]}
    )
