"""A checkpoint with a killed run's pending creates, for the recovery unit tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from skyflow_provider.recovery import checkpoint, ledger, leftovers, takeover
from skyflow_provider.resources import keys

DYN = "pulumi-python:dynamic/skyflow:"


def op(kind: str, type_: str, **inputs: Any) -> dict[str, Any]:
    """A pending operation as ``pulumi stack export`` writes it (dynamic type tokens)."""
    return {"type": kind, "resource": {"type": DYN + type_, "inputs": inputs}}


Killed = Callable[..., checkpoint.Checkpoint]


@pytest.fixture
def killed(monkeypatch: pytest.MonkeyPatch) -> Killed:
    """``killed(*pending_ops, resources=[...])``: the process's checkpoint reads a state with
    those pending operations (a killed run's) and resources; ``killed(None)``: unreadable."""
    monkeypatch.setattr(ledger, "_made", [])
    takeover.forget()

    def make(*ops: dict[str, Any] | None, resources: list[dict[str, Any]] | None = None
             ) -> checkpoint.Checkpoint:
        deployment = None if ops == (None,) else {
            "pending_operations": list(ops), "resources": list(resources or [])}
        exports: list[int] = []

        def export(*_a: Any) -> dict[str, Any] | None:
            exports.append(1)
            return deployment

        cp = checkpoint.Checkpoint(lambda: ("pulumi", ["--stack", "dev"]), export=export)
        cp.exports = exports  # type: ignore[attr-defined]
        monkeypatch.setattr(checkpoint, "CHECKPOINT", cp)
        monkeypatch.setattr(takeover, "CHECKPOINT", cp)
        monkeypatch.setattr(keys, "LEFTOVERS", leftovers.Leftovers(cp))
        return cp

    return make
