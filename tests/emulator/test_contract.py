"""The emulator's routes are the spec's operations, and the committed contract is current."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from skyflow_emulator.routes import ROUTES

from .conftest import CONTRACT, CONTRACT_PATH, ContractError, validate

EXTENSIONS = {("PATCH", "/v1/serviceAccounts/{ID}/apikey/{keyID}/status")}


def test_every_contract_operation_is_served_with_the_spec_operation_id() -> None:
    served = {(r.method, r.template): r for r in ROUTES}
    for op in CONTRACT["operations"]:
        route = served.get((op["method"], op["path"]))
        assert route is not None, f"not implemented: {op['method']} {op['path']}"
        assert route.operation == op["operationId"]
        if op["permission"]:
            assert route.permission == op["permission"]
    extra = set(served) - {(o["method"], o["path"]) for o in CONTRACT["operations"]}
    assert extra == EXTENSIONS


def test_committed_contract_matches_the_spec() -> None:
    import importlib.util

    gen_path = CONTRACT_PATH.parent / "generate_contract.py"
    spec = importlib.util.spec_from_file_location("generate_contract", gen_path)
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    source = Path(gen.DEFAULT_SPEC)  # committed (docs/reference/), so this always runs
    fresh = gen.build(json.loads(source.read_text()))
    assert json.loads(json.dumps(fresh)) == CONTRACT, \
        "run venv/bin/python tests/contract/generate_contract.py"


def test_contract_schemas_are_valid_json_schema() -> None:
    for op in CONTRACT["operations"]:
        jsonschema.Draft7Validator.check_schema(op["response"])
    jsonschema.Draft7Validator.check_schema(CONTRACT["errorEnvelope"])


class _Resp:
    def __init__(self, status: int, body: object) -> None:
        self.status_code = status
        self._body = body
        self.text = json.dumps(body)

    def json(self) -> object:
        return self._body


def test_validation_rejects_invented_fields_and_bad_envelopes() -> None:
    """The validator itself can fail: a wrong field name or a wrong enum is caught."""
    good = {"serviceAccount": {"ID": "x", "status": "ACTIVE"}, "clientConfiguration": {}}
    validate("GET", "/v1/serviceAccounts/{ID}", _Resp(200, good))  # type: ignore[arg-type]
    for bad in ({"serviceAccount": {"id": "x"}}, {"serviceAccount": {"status": "ALIVE"}},
                {"serviceAccounts": []}):
        with pytest.raises(ContractError):
            validate("GET", "/v1/serviceAccounts/{ID}", _Resp(200, bad))  # type: ignore[arg-type]
    with pytest.raises(ContractError):
        validate("GET", "/v1/serviceAccounts/{ID}",
                 _Resp(404, {"code": 5, "message": "nope"}))  # type: ignore[arg-type]
    with pytest.raises(ContractError):
        validate("GET", "/v1/serviceAccounts/{ID}", _Resp(404, {"error": {  # type: ignore[arg-type]
            "grpc_code": 5, "http_code": 400, "http_status": "x", "message": "m",
            "details": []}}))
