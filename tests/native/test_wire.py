"""The plugin's wire form: ``Struct`` <-> the provider classes' dicts (native/wire.py), and the
Pulumi stubs loaded without the SDK (native/proto.py)."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2
from hypothesis import given
from hypothesis import strategies as st
from pulumi.runtime import rpc

from skyflow_provider.native import wire
from skyflow_provider.native.proto import module
from skyflow_provider.resources.declarations import POLICY, SERVICE_ACCOUNT, SERVICE_ACCOUNT_KEY
from tests.helpers.plugin_proc import struct

SA = wire.field_types(SERVICE_ACCOUNT.fields)


def test_the_engine_encoding_constants_are_the_sdks() -> None:
    assert wire.UNKNOWN == rpc.UNKNOWN
    assert wire.SIG == rpc._special_sig_key
    assert wire.SECRET == rpc._special_secret_sig
    assert wire.OUTPUT == rpc._special_output_value_sig
    assert wire.RESOURCE == rpc._special_resource_sig


def test_stubs_loaded_without_the_sdk_are_the_sdks_classes() -> None:
    from pulumi.runtime import proto

    assert module("provider_pb2").CheckRequest is proto.CheckRequest
    assert module("provider_pb2").DiffResponse.DIFF_SOME == proto.DiffResponse.DIFF_SOME
    assert module("plugin_pb2").PluginInfo is proto.PluginInfo


def test_declared_names_are_renamed_map_keys_and_any_values_are_not() -> None:
    incoming = struct({
        "displayName": "Payments", "ipAllowlist": {"status": "ACTIVE_ALL",
                                                   "cidrBlocks": ["10.0.0.0/8"]},
        "overlapHours": 48, "undeclaredKey": {"innerKey": 1}})
    props, secret = wire.from_struct(SA, incoming)
    assert props == {"display_name": "Payments",
                     "ip_allowlist": {"status": "ACTIVE_ALL", "cidr_blocks": ["10.0.0.0/8"]},
                     "overlap_hours": 48.0, "undeclared_key": {"innerKey": 1.0}}
    assert secret == set()
    back = wire.to_struct(SA, props)
    assert back == incoming

    key = wire.field_types(SERVICE_ACCOUNT_KEY.fields)
    keepers = struct({"keepers": {"someUser_key": "v"},
                      "rotationTrigger": {"anyShape_here": [1, "x"]}})
    props, _ = wire.from_struct(key, keepers)
    assert props == {"keepers": {"someUser_key": "v"},
                     "rotation_trigger": {"anyShape_here": [1.0, "x"]}}
    assert wire.to_struct(key, props) == keepers
    policy = wire.field_types(POLICY.fields)
    assert wire.from_struct(policy, struct({"ruleIds": {"Read_Masked": "r1"}}))[0] == {
        "rule_ids": {"Read_Masked": "r1"}}


def test_secrets_are_reported_per_top_level_key_and_marked_on_the_way_out() -> None:
    incoming = struct({"name": "a", "privateKey": {wire.SIG: wire.SECRET, "value": "pem"},
                       "ipAllowlist": {"status": "ACTIVE_ALL", "cidrBlocks": [
                           {wire.SIG: wire.SECRET, "value": "10.0.0.0/8"}]}})
    props, secret = wire.from_struct(SA, incoming)
    assert props == {"name": "a", "private_key": "pem",
                     "ip_allowlist": {"status": "ACTIVE_ALL", "cidr_blocks": ["10.0.0.0/8"]}}
    assert secret == {"private_key", "ip_allowlist"}
    out = wire.to_struct(SA, {"name": "a", "private_key": "pem", "credentials": None},
                         {"private_key", "credentials"})
    assert out["privateKey"][wire.SIG] == wire.SECRET and out["privateKey"]["value"] == "pem"
    assert out["credentials"] is None  # nothing to hide in a null
    sdk = rpc.deserialize_properties(out)  # the SDK reads it as a secret
    assert rpc.is_rpc_secret(sdk["privateKey"])
    assert rpc.unwrap_rpc_secret(sdk["privateKey"]) == "pem"


def test_unknowns_stay_the_engines_sentinel_both_ways() -> None:
    props, _ = wire.from_struct(SA, struct({"name": wire.UNKNOWN, "description": {
        wire.SIG: wire.OUTPUT}}))
    assert props == {"name": wire.UNKNOWN, "description": wire.UNKNOWN}
    assert wire.to_struct(SA, props)["name"] == wire.UNKNOWN


def test_output_values_and_resource_references_read_as_their_values() -> None:
    props, secret = wire.from_struct(SA, struct({
        "name": {wire.SIG: wire.OUTPUT, "value": "n", "secret": True},
        "description": {wire.SIG: wire.RESOURCE, "urn": "urn:x", "id": "id-1"}}))
    assert props == {"name": "n", "description": "id-1"}
    assert secret == {"name"}


JSON = st.recursive(
    st.none() | st.booleans() | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=10)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


@given(st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), JSON, max_size=5))
def test_round_trip_and_the_sdks_own_reading_agree(props: dict[str, Any]) -> None:
    """Undeclared lower-case keys: nothing renamed, so the SDK's deserializer must agree (it
    leaves out map entries that are null; the classes read a null and a missing key alike)."""
    out = wire.to_struct({}, props)
    assert isinstance(out, struct_pb2.Struct)
    back, secret = wire.from_struct({}, out)
    assert back == props
    assert _without_nulls(back) == rpc.deserialize_properties(out)
    assert secret == set()
