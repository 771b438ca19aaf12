"""The registry's read path: its plain objects take the repository's rows as they come."""

import dataclasses

import pytest

from service.registry import reads, repository


@pytest.mark.parametrize(
    ("data", "columns"),
    [
        (reads.OrganizationData, repository.ORGANIZATION_COLUMNS),
        (reads.MembershipData, repository.MEMBERSHIP_COLUMNS),
        (reads.InstitutionData, repository.INSTITUTION_COLUMNS),
        (reads.EngagementData, repository.ENGAGEMENT_COLUMNS),
        (reads.RepresentationData, repository.REPRESENTATION_COLUMNS),
    ],
)
def test_a_row_unpacks_into_its_plain_object_column_by_column(data, columns):
    """A row is unpacked by position (`Data(*row)`): a column added or moved on one side only would put values
    under the wrong names, so the fields must start with the columns, in their order."""
    fields = [field.name for field in dataclasses.fields(data)]
    assert fields[: len(columns)] == [column.name for column in columns]
    assert all(field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
               for field in dataclasses.fields(data)[len(columns):])  # fmt: skip
