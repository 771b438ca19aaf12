"""If-Match / If-None-Match as RFC 9110 writes them, and JSON Merge Patch as RFC 7396 does."""

import pytest

from service.core import merge_patch
from service.core.errors import Problem
from service.core.preconditions import ANY, EntityTag, none_match, parse, require_match


def test_entity_tag_lists_parse_per_rfc_9110():
    assert parse("If-Match", "*") == ANY
    assert parse("If-Match", '"a"') == [EntityTag('"a"')]
    # Empty list elements are allowed; a comma inside the quotes belongs to the tag.
    assert parse("If-Match", ' W/"a" ,, "b,c" ,') == [EntityTag('"a"', weak=True), EntityTag('"b,c"')]
    assert parse("If-None-Match", 'W/"x", "y"') == [EntityTag('"x"', weak=True), EntityTag('"y"')]


@pytest.mark.parametrize("value", ["abc", '"abc', 'abc"', "W/abc", '"a" "b"', '"a"b', ",", " ", '*, "a"', 'W/ "a"'])
def test_malformed_values_are_a_400_that_shows_the_form(value):
    with pytest.raises(Problem) as refused:
        parse("If-Match", value)
    assert refused.value.status == 400 and 'If-Match: "' in refused.value.detail


def test_if_match_compares_strongly_and_if_none_match_weakly():
    require_match('"x", "a"', '"a"', what="thing")
    require_match("*", '"a"', what="thing")
    for sent, status in [(None, 428), ('W/"a"', 412), ('"b"', 412), ("a", 400)]:
        with pytest.raises(Problem) as refused:
            require_match(sent, '"a"', what="thing")
        assert refused.value.status == status
    with pytest.raises(Problem) as blind:
        require_match("*", '"a"', what="correction", allow_any=False)
    assert blind.value.status == 428 and "ETag" in blind.value.detail
    assert none_match('W/"a"', '"a"') and none_match("*", '"a"') and not none_match('"b"', '"a"')
    assert not none_match(None, '"a"')


def test_merge_patch_follows_the_rfc_7396_examples():
    examples = [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ]
    for target, patch, result in examples:
        assert merge_patch.apply(target, patch) == result, (target, patch)
