"""The key stock (``keystock.py``): pre-generated RSA pairs, each handed out once, inline
generation when the stock is empty or off, and a worker that never outlives the emulator."""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from skyflow_emulator.auth import KeyPair
from skyflow_emulator.keystock import KeyStock
from tests.helpers.emulator_proc import EmulatorProcess

from .conftest import Api

# A worker that reads its demand and never answers: the stock stays empty.
SILENT_WORKER = [sys.executable, "-c", "import sys; sys.stdin.read()"]


def _counter() -> Callable[[], KeyPair]:
    n = itertools.count()

    def generate() -> KeyPair:
        i = next(n)
        return KeyPair(f"inline-private-{i}", f"inline-public-{i}")
    return generate


def _wait(cond: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    """Exited (a zombie nobody reaped counts: it runs nothing)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return "\nState:\tZ" in status


def test_pairs_come_from_the_stock_once_each_then_inline() -> None:
    stock = KeyStock(3, generate=_counter()).start()
    try:
        _wait(lambda: stock.status()["level"] == 3)
        taken = [stock.take() for _ in range(3)]
        # the worker refills, but not within the next call: what is not ready is made inline
        more = [stock.take() for _ in range(8)]
        pems = [p.private_pem for p in taken + more]
        assert len(set(pems)) == len(pems)  # never the same pair twice
        status = stock.status()
        assert status["fromStock"] + status["inline"] == 11 and status["fromStock"] >= 3
        for pair in taken:  # real, matching RSA-2048 pairs from the worker
            key = serialization.load_pem_private_key(pair.private_pem.encode(), None)
            assert key.key_size == 2048  # type: ignore[union-attr]
            pub = key.public_key().public_bytes(  # type: ignore[union-attr]
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            assert pub.decode() == pair.public_pem
        _wait(lambda: stock.status()["level"] == 3)  # refilled to its size, not beyond
        time.sleep(0.3)
        assert stock.status()["level"] == 3
        assert stock.status()["produced"] == 3 + status["fromStock"]
    finally:
        stock.close()


def test_an_empty_stock_generates_inline() -> None:
    stock = KeyStock(2, generate=_counter(), command=SILENT_WORKER).start()
    try:
        assert [stock.take().private_pem for _ in range(3)] == [
            "inline-private-0", "inline-private-1", "inline-private-2"]
        assert stock.status() | {"workerPid": None} == {
            "size": 2, "level": 0, "fromStock": 0, "inline": 3, "produced": 0,
            "workerPid": None, "workerAlive": True}
    finally:
        stock.close()


def test_size_zero_starts_no_worker() -> None:
    stock = KeyStock(0, generate=_counter()).start()
    assert stock.take().private_pem == "inline-private-0"
    assert stock.status() == {"size": 0, "level": 0, "fromStock": 0, "inline": 1,
                              "produced": 0, "workerPid": None, "workerAlive": False}
    stock.close()
    with pytest.raises(ValueError):
        KeyStock(-1)


def test_close_stops_the_worker_and_drops_unused_pairs() -> None:
    stock = KeyStock(2).start()
    pid = stock.status()["workerPid"]
    _wait(lambda: stock.status()["level"] == 2)
    stock.close()
    assert _gone(pid)
    assert stock.status()["level"] == 0 and stock.status()["workerPid"] is None


def _key_stock(emu: EmulatorProcess) -> dict[str, Any]:
    r = emu.session().get(emu.url + "/_emulator/keys", timeout=10,
                          headers={"Authorization": f"Bearer {emu.admin_token}"})
    assert r.status_code == 200
    return dict(r.json())


def test_creates_take_stock_pairs_and_the_worker_dies_with_the_emulator(
        tmp_path: Path) -> None:
    emu = EmulatorProcess(tmp_path / "emu", extra_args=["--key-stock", "2"]).start()
    try:
        _wait(lambda: _key_stock(emu)["level"] == 2)
        api = Api(emu)
        first = api.create_sa("stock-a")
        second = api.create_sa("stock-b")
        assert first["privateKey"] != second["privateKey"]
        status = _key_stock(emu)
        assert status["fromStock"] == 2 and status["inline"] == 0 and status["size"] == 2
        pid = status["workerPid"]
        assert isinstance(pid, int) and not _gone(pid)
        emu.kill9()  # no chance to clean up: the worker sees its stdin end and exits
        _wait(lambda: _gone(pid), timeout=15)
    finally:
        emu.close()


def test_key_stock_zero_generates_every_pair_inline(tmp_path: Path) -> None:
    with EmulatorProcess(tmp_path / "emu", extra_args=["--key-stock", "0"]) as emu:
        Api(emu).create_sa("inline-a")
        status = _key_stock(emu)
        assert status["workerPid"] is None
        assert status["inline"] == 1 and status["fromStock"] == 0
    assert os.path.isdir(tmp_path / "emu")


def test_pairs_taken_in_a_burst_are_made_again_only_once_takes_pause() -> None:
    """The worker is not asked for a pair while creates keep coming (it would take CPU from
    the client being served), only once no pair has been taken for ``refill_after``."""
    stock = KeyStock(3, refill_after=2.0).start()
    try:
        _wait(lambda: stock.status()["level"] == 3)
        for _ in range(3):
            stock.take()
            time.sleep(0.3)  # a burst: each take within refill_after of the one before
        time.sleep(1.0)  # the worker makes a pair in ~70 ms: asked at once, 3 would be back
        assert stock.status()["produced"] == 3 and stock.status()["level"] == 0
        _wait(lambda: stock.status()["level"] == 3)  # asked after the pause
        time.sleep(0.3)
        assert stock.status()["produced"] == 6  # exactly the pairs taken, no more
    finally:
        stock.close()
    with pytest.raises(ValueError):
        KeyStock(1, refill_after=-1)
