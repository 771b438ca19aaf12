import uuid

import pytest

from service.core.errors import BadRequest
from service.core.i18n import fold
from service.core.pagination import decode_cursor, encode_cursor


def test_fold_drops_case_and_diacritics():
    assert fold("Ģirģens ŠRĒDERS ķīmisko Söderköping") == "girgens sreders kimisko soderkoping"


def test_cursor_round_trip_keeps_the_sort_key():
    key = ["ķīmisko", str(uuid.uuid4())]
    assert decode_cursor(encode_cursor(key), (str, uuid.UUID)) == (key[0], uuid.UUID(key[1]))
    assert decode_cursor(encode_cursor([3, key[1]]), (int, uuid.UUID)) == (3, uuid.UUID(key[1]))


@pytest.mark.parametrize(
    "cursor", ["", "!!!", encode_cursor(["a"]), encode_cursor([True, "x"]), encode_cursor([["a"], "b"])]
)
def test_foreign_cursors_are_a_bad_request(cursor):
    with pytest.raises(BadRequest):
        decode_cursor(cursor, (str, uuid.UUID))
