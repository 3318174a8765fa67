"""Validators: each returns failures naming the field, and skips preview unknowns."""

from __future__ import annotations

import pytest
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from skyflow_provider import validation as v


def props(failures):
    return [f.property for f in failures]


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: v.check_name("name", x),
        lambda x: v.check_policy_name("name", x),
        lambda x: v.check_role_name("name", x),
        lambda x: v.check_id("id", x),
        lambda x: v.check_enum("e", x, ("A",), required=True),
        lambda x: v.check_bool("b", x),
        lambda x: v.check_list("l", x, required=True, min_items=1),
        lambda x: v.check_string_list("l", x, required=True),
        lambda x: v.check_cidr_blocks("c", x),
        lambda x: v.check_mapping("m", x, ("a",)),
        lambda x: v.check_string("s", x, required=True),
    ],
)
@pytest.mark.parametrize("unknown", [UNKNOWN, Unknown()], ids=["sentinel-string", "Unknown"])
def test_unknown_values_are_skipped(fn, unknown) -> None:
    # 3.272's Check deserializes unknowns as pulumi.output.Unknown; the string is the old form.
    assert fn(unknown) == []


@pytest.mark.parametrize("unknown", [UNKNOWN, Unknown()], ids=["sentinel-string", "Unknown"])
def test_unknown_items_inside_lists_are_skipped(unknown) -> None:
    assert v.check_cidr_blocks("c", [unknown, "10.0.0.0/8"]) == []
    assert v.check_id_list("r", [unknown, "r1"]) == []


@pytest.mark.parametrize("bad", ["", "a/b", "a b", "a?b", "a#b", "a%2F", "..", "a.b", "x" * 129,
                                 "tab\t", "new\nline", 7, None])
def test_ids_reject_path_and_url_metacharacters(bad) -> None:
    assert props(v.check_id("role_id", bad)) == ["role_id"]


@pytest.mark.parametrize("good", ["m2e4b25f0000", "abc_DEF-123", "a" * 128])
def test_ids_accept_opaque_tokens(good) -> None:
    assert v.check_id("role_id", good) == []


def test_name_length_limit_is_inclusive() -> None:
    assert v.check_name("name", "x" * v.MAX_NAME) == []
    assert props(v.check_name("name", "x" * (v.MAX_NAME + 1))) == ["name"]


def test_policy_name_pattern() -> None:
    assert v.check_policy_name("name", "PiiMasked1") == []
    for bad in ("pii masked", "pii-masked", "pii_masked", "é"):
        assert props(v.check_policy_name("name", bad)) == ["name"], bad


def test_optional_name_may_be_absent_but_not_invalid() -> None:
    assert v.check_name("n", None, required=False) == []
    assert props(v.check_name("n", " x", required=False)) == ["n"]


def test_cidr_blocks() -> None:
    assert v.check_cidr_blocks("c", ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"]) == []
    assert props(v.check_cidr_blocks("c", ["10.0.0.1/8"])) == ["c[0]"]
    assert props(v.check_cidr_blocks("c", ["300.0.0.0/8"])) == ["c[0]"]
    assert props(v.check_cidr_blocks("c", [f"10.{i}.0.0/16" for i in range(10)])) == []
    assert props(v.check_cidr_blocks("c", [f"10.{i}.0.0/16" for i in range(11)])) == ["c"]
    assert "limit is 10" in v.check_cidr_blocks("c", ["1.0.0.0/8"] * 11)[0].reason


def test_enum_message_lists_options() -> None:
    (f,) = v.check_enum("auth_type", "x", ("jwt", "api_key"))
    assert "jwt" in f.reason and "api_key" in f.reason


def test_bool_rejects_strings() -> None:
    assert props(v.check_bool("b", "false")) == ["b"]
    assert v.check_bool("b", False) == []


def test_unknown_keys_named_individually() -> None:
    assert props(v.check_unknown_keys({"a": 1, "zz": 2, "__provider": "x"}, ("a",))) == ["zz"]


def test_messages_do_not_echo_long_values() -> None:
    secretish = "S" * 500
    (f,) = v.check_id("id", secretish)
    assert secretish not in f.reason
