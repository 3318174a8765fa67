"""TokenVendor: cache key, 5-minute re-mint on an injected clock, single-flight, thread safety.

The minter is a counting fake: these tests are about when the vendor exchanges, not how.
"""

from __future__ import annotations

import pickle
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest

from skyflow_provider.http.errors import OptionsError, UnauthenticatedError
from skyflow_provider.vending import SingleFlight, TokenVendor, TokenVendorError, cache_key

from .fakes import CountingMinter, FakeClock


def _vendor(clock: FakeClock, minter: CountingMinter, **kw: object) -> TokenVendor:
    return TokenVendor(minter=minter, clock=clock, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- cache key


def test_cache_key_ignores_role_order_and_duplicates() -> None:
    assert cache_key(["b", "a", "a"], "u1") == cache_key(["a", "b"], "u1")
    assert cache_key("a", "u1") == cache_key(["a"], "u1")
    assert cache_key(["a"], "u1") != cache_key(["a"], "u2")
    assert cache_key(["a"], "u1") != cache_key(["a", "b"], "u1")
    assert cache_key(None, None) == cache_key([], "  ")  # no roles / blank ctx = none
    assert cache_key(["a"], {"x": 1, "y": 2}) == cache_key(["a"], {"y": 2, "x": 1})


def test_cache_key_validates() -> None:
    with pytest.raises(OptionsError):
        cache_key(["has space"], "u1")
    with pytest.raises(OptionsError):
        cache_key(["a"], {"bad-key": 1})


def test_one_exchange_per_key() -> None:
    clock, minter = FakeClock(), CountingMinter(FakeClock())
    minter.clock = clock
    v = _vendor(clock, minter)
    a1 = v.get(["r1"], "alice")
    assert v.get(["r1"], "alice") is a1
    assert v.fetch(["r1"], "alice")[1] == "cache"
    b = v.get(["r1"], "bob")
    r2 = v.get(["r2"], "alice")
    assert len({a1.access_token, b.access_token, r2.access_token}) == 3
    assert minter.count == 3 and v.stats.exchanges == 3 and v.stats.cache_hits == 2
    claims = jwt.decode(a1.access_token, options={"verify_signature": False})
    assert claims["context_identifier"] == "alice" and claims["scope"] == "role:r1"
    assert a1.role_ids == ("r1",) and a1.ctx == "alice"
    assert a1.expires_at == claims["exp"]
    assert a1.expires_at_rfc3339.endswith("Z") and "T" in a1.expires_at_rfc3339


# --------------------------------------------------------------------------- re-mint timing


def test_remint_when_less_than_five_minutes_left() -> None:
    clock = FakeClock(1_000_000.0)
    minter = CountingMinter(clock, ttl=3600)
    v = _vendor(clock, minter)
    t1 = v.get(["r"], "u")
    assert t1.refresh_at == t1.expires_at - 300
    clock.now = t1.expires_at - 301  # 5 min + 1 s left: still served from the cache
    assert v.get(["r"], "u") is t1 and minter.count == 1
    assert v.peek(["r"], "u") is t1
    clock.now = t1.expires_at - 299  # under 5 minutes left: re-minted before the browser
    assert v.peek(["r"], "u") is None  # would get a token it keeps until exp
    t2 = v.get(["r"], "u")
    assert t2 is not t1 and minter.count == 2
    assert t2.expires_at - clock() == pytest.approx(3600, abs=1)


def test_short_lived_token_refreshes_halfway() -> None:
    clock = FakeClock(1_000_000.0)
    minter = CountingMinter(clock, ttl=240)  # shorter than the 5-minute margin
    v = _vendor(clock, minter)
    t1 = v.get(None, "u")
    assert t1.refresh_at == pytest.approx(t1.expires_at - 120, abs=1)
    clock.advance(100)
    assert v.get(None, "u") is t1
    clock.advance(30)
    assert v.get(None, "u") is not t1 and minter.count == 2


def test_custom_margin_and_expired_entry() -> None:
    clock = FakeClock(1_000_000.0)
    minter = CountingMinter(clock, ttl=3600)
    v = _vendor(clock, minter, refresh_margin=60)
    t1 = v.get(["r"], "u")
    clock.now = t1.expires_at - 61
    assert v.get(["r"], "u") is t1
    clock.now = t1.expires_at + 10  # long gone: re-minted, never served expired
    assert v.get(["r"], "u").expires_at > clock()


def test_token_without_exp_is_refused() -> None:
    v = TokenVendor(minter=lambda roles, ctx: ("opaque-token-value", "Bearer"))
    with pytest.raises(TokenVendorError):
        v.get(["r"], "u")
    assert len(v) == 0 and v.stats.failures == 1


# --------------------------------------------------------------------------- single-flight


def test_concurrent_requests_for_one_key_make_one_exchange() -> None:
    clock = FakeClock()
    minter = CountingMinter(clock, delay=0.3)
    v = _vendor(clock, minter)
    n = 50
    barrier = threading.Barrier(n)

    def call(_: int) -> tuple[str, str]:
        barrier.wait()
        tok, source = v.fetch(["r"], "alice")
        return tok.access_token, source

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(call, range(n)))
    assert minter.count == 1
    assert len({t for t, _ in results}) == 1
    sources = [s for _, s in results]
    assert sources.count("minted") == 1
    assert sources.count("shared") + sources.count("cache") == n - 1
    assert v.stats.shared_waits == sources.count("shared")


def test_different_keys_mint_in_parallel() -> None:
    clock = FakeClock()
    minter = CountingMinter(clock, delay=0.3)
    v = _vendor(clock, minter)
    users = [f"user{i}" for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        import time

        started = time.monotonic()
        list(pool.map(lambda u: v.get(["r"], u), users))
        elapsed = time.monotonic() - started
    assert minter.count == 8
    assert elapsed < 0.3 * 8 / 2  # not serialized behind one lock


def test_failed_exchange_reaches_every_waiter_and_is_not_cached() -> None:
    clock = FakeClock()
    minter = CountingMinter(clock, delay=0.2)
    minter.fail = UnauthenticatedError("key revoked", status=401)
    v = _vendor(clock, minter)
    n = 10
    barrier = threading.Barrier(n)

    def call(_: int) -> str:
        barrier.wait()
        try:
            v.get(["r"], "u")
        except UnauthenticatedError:
            return "error"
        return "ok"

    with ThreadPoolExecutor(n) as pool:
        assert list(pool.map(call, range(n))) == ["error"] * n
    assert minter.count == 1 and len(v) == 0
    minter.fail, minter.delay = None, 0
    assert v.get(["r"], "u").access_token and minter.count == 2


def test_singleflight_reuses_nothing_after_completion() -> None:
    sf: SingleFlight[int] = SingleFlight()
    calls = []
    assert sf.do("k", lambda: calls.append(1) or 1) == (1, False)
    assert sf.do("k", lambda: calls.append(1) or 2) == (2, False)
    assert sf.in_flight() == 0 and len(calls) == 2


# --------------------------------------------------------------------------- thread safety


def test_thread_safety_under_churn() -> None:
    """Many threads, many keys, a moving clock: no error, no token served inside its margin,
    exchanges counted exactly, the cache stays within its bound.

    Four hot keys stay cached long enough to age into the 5-minute margin and be re-minted
    (30-minute tokens: the margin applies, not the half-life rule for short-lived ones), while
    the other keys churn through the 12-entry cache.
    """
    clock = FakeClock(1_000_000.0)
    minter = CountingMinter(clock, ttl=1800)
    v = _vendor(clock, minter, max_entries=12)
    keys = [(f"r{i % 3}", f"user{i}") for i in range(20)]
    errors: list[BaseException] = []
    margin = 300.0  # the default refresh margin
    checked: list[int] = []  # per thread: tokens whose margin was checked

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        count = 0
        for _ in range(400):
            role, user = rnd.choice(keys[:4]) if rnd.random() < 0.8 else rnd.choice(keys)
            try:
                asked_at = clock()  # the clock only moves forward: served at or after this
                tok = v.get([role], user)
                assert tok.role_ids == (role,) and tok.ctx == user
                assert tok.expires_at - asked_at >= margin, (tok.expires_at, asked_at)
                count += 1
                if rnd.random() < 0.05:
                    clock.advance(15)
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
        checked.append(count)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(checked) == 16 * 400  # every token served was checked against its margin
    # Tokens aged into their margin and were re-minted: more mints than first mints plus
    # re-mints after an eviction can account for.
    assert minter.count - len(keys) - v.stats.evictions >= 1, (minter.count, v.stats)
    assert v.stats.exchanges == minter.count
    # every call is exactly one of: a cache hit, a mint, a wait on another caller's mint
    assert v.stats.exchanges + v.stats.cache_hits + v.stats.shared_waits == 16 * 400
    assert len(v) <= 12


def test_eviction_bounds_the_cache() -> None:
    clock = FakeClock()
    v = _vendor(clock, CountingMinter(clock), max_entries=3)
    for i in range(10):
        v.get(["r"], f"u{i}")
    assert len(v) == 3 and v.stats.evictions == 7
    assert v.peek(["r"], "u9") is not None and v.peek(["r"], "u0") is None


def test_no_secret_in_repr_or_pickle() -> None:
    clock = FakeClock()
    v = _vendor(clock, CountingMinter(clock))
    tok = v.get(["r"], "u")
    assert tok.access_token not in repr(tok) and tok.access_token not in repr(v)
    with pytest.raises(TypeError):
        pickle.dumps(tok)
    with pytest.raises(TypeError):
        pickle.dumps(v)


def test_constructor_needs_exactly_one_source() -> None:
    with pytest.raises(ValueError):
        TokenVendor()
