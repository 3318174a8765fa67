"""What this provider process made that only the engine's record makes held, and the sweep after
its engine died.

Why: a create hands its result (a key, an account) to the engine, which writes it to the
checkpoint. ``deliver`` undoes results that have nobody to go to (the engine already died while
the request was in flight, the common case after a SIGKILL), but a SIGKILL
can also land in the instant after a result left and before the engine wrote it: the key stays
valid and no state holds it. After its engine is gone, this process reads the
stack's last checkpoint (``pulumi stack export``, the same file the next run starts from) and
undoes everything it made that the checkpoint does not hold (``export_state`` reads a local file
backend's checkpoint file itself when the kill left the CLI unable to). Only what this process
made is touched, and only after a state was read: when that fails, nothing is deleted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from . import lifeline
from .checkpoint import export_state, held_ids


@dataclasses.dataclass(frozen=True)
class Made:
    """One result handed to the engine: the ids that show it held, and how to take it back."""

    ids: frozenset[str]
    undo: Callable[[], Any]
    what: str


_made: list[Made] = []
_lock = threading.Lock()
#: requests that may make a key, still running: the post-mortem waits for them (their own
#: ``deliver`` undoes what they made), or a key minted while the process exits is left behind
_in_flight = 0
_idle = threading.Condition(_lock)
IDLE_WAIT_S = 10.0


class EngineGoneError(Exception):
    """A result was made after its engine died, and was undone (nobody reads this message)."""


def deliver(made_id: str, undo: Callable[[], Any], what: str) -> None:
    """Hand a just-made result on: undone now when the engine is already gone, else remembered
    for the post-mortem (only when a stack is known to read back)."""
    if lifeline.engine_gone():
        try:
            undo()
        except Exception as err:  # noqa: BLE001 - say what is left; the engine is gone anyway
            raise EngineGoneError(f"the Pulumi engine is gone and {what} could not be deleted "
                                  f"again: {type(err).__name__}") from None
        raise EngineGoneError(f"the Pulumi engine is gone: {what} was deleted again, so "
                              "nothing outside the state is left")
    if lifeline.read_back() is not None:
        delivered([made_id], undo, what)


@contextlib.contextmanager
def making(what: str) -> Iterator[None]:
    """Around a request that makes a key: refused once the engine is gone (nothing is made
    then), and waited for by the post-mortem while it runs."""
    global _in_flight
    with _idle:
        _in_flight += 1
    try:
        if lifeline.engine_gone():
            raise EngineGoneError(f"the Pulumi engine is gone: no {what} was made")
        yield
    finally:
        with _idle:
            _in_flight -= 1
            _idle.notify_all()


def wait_idle(timeout: float = IDLE_WAIT_S) -> bool:
    """Wait until no request that makes a key is running; whether that happened in time."""
    with _idle:
        return _idle.wait_for(lambda: _in_flight == 0, timeout)


def delivered(ids: Iterable[str], undo: Callable[[], Any], what: str) -> None:
    """Remember a result on its way to the engine (ids only: never a secret)."""
    with _lock:
        _made.append(Made(frozenset(str(i) for i in ids if i), undo, what))


def made() -> list[Made]:
    with _lock:
        return list(_made)


def sweep(deployment: Mapping[str, Any]) -> list[str]:
    """Undo what this process made that the checkpoint does not hold; what was undone."""
    held = held_ids(deployment.get("resources") or [])
    undone = []
    for m in made():
        if m.ids & held:
            continue
        try:
            m.undo()
        except Exception:  # noqa: BLE001,S112 - gone already (a retired key) or unreachable
            continue
        undone.append(m.what)
    return undone


def post_mortem(read_back: tuple[str, list[str]] | None) -> None:
    """Run once the engine is gone: read its checkpoint and sweep; silent when nothing was made.

    ``read_back``: the CLI binary and its ``--stack`` arguments (``lifeline.read_back``).
    """
    if not made() or read_back is None:
        return
    deployment = export_state(*read_back)
    if deployment is None:
        _say("the engine is gone and its stack could not be read; what this run made and the "
             "state may not hold is left (`python -m skyflow_provider.pending`)")
        return
    for what in sweep(deployment):
        _say(f"the engine is gone and the state does not hold {what}: deleted")


def _post_mortem_now() -> None:
    wait_idle()  # a mint still running undoes its own key (deliver) before the process exits
    post_mortem(lifeline.read_back())


lifeline.when_gone(_post_mortem_now)


def _say(message: str) -> None:
    try:  # the CLI that read our stderr is gone: a broken pipe must not stop the sweep
        print(f"skyflow: {message}", file=sys.stderr, flush=True)
    except Exception:  # noqa: BLE001,S110
        pass
