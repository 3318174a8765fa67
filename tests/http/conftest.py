"""Shared by the transport tests: a spy on the proxy-environment lookup a module makes."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest


@pytest.fixture
def proxy_lookups(monkeypatch: pytest.MonkeyPatch) -> Callable[[ModuleType], list[str]]:
    """``spy(module)``: count the URLs ``module.get_environ_proxies`` is asked about."""

    def spy(module: ModuleType) -> list[str]:
        seen: list[str] = []
        real = module.get_environ_proxies

        def counting(url: str, no_proxy: Any = None) -> dict[str, str]:
            seen.append(url)
            return dict(real(url, no_proxy=no_proxy))

        monkeypatch.setattr(module, "get_environ_proxies", counting)
        return seen

    return spy
