"""Pulumi's mocks for the tests that register resources (components, look-ups, type tokens):
one recording class and fixture, so every such test sees the same engine stand-in."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers every registration with ``<name>-id`` and its inputs, and keeps the calls."""

    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered.append(args)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


@pytest.fixture
def mocks() -> RecordingMocks:
    m = RecordingMocks()
    pulumi.runtime.set_mocks(m, preview=False)
    return m
