"""Measure the request rate the emulator sustains: threaded clients, bounded duration.

    venv/bin/python -m tests.emulator.measure_rate [--seconds 10] [--threads 8]

Prints requests/second for a read (GET a service account), a write (idempotent role assign,
one transaction) and the token exchange (RS256 verify + sign), all over HTTPS with keep-alive.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tests.helpers.emulator_proc import EmulatorProcess  # noqa: E402


def measure(emu: EmulatorProcess, seconds: float, threads: int) -> dict[str, float]:
    token = emu.token()
    headers = emu.headers(token)
    s = emu.session()
    sa = s.post(emu.url + "/v1/serviceAccounts", headers=headers, timeout=30,
                json={"serviceAccount": {"name": "rate"}}).json()
    role = s.get(emu.url + "/v1/roles", headers=headers, timeout=30,
                 params={"resource.ID": emu.vault_id, "resource.type": "VAULT",
                         "name": "VAULT_VIEWER"}).json()["roles"][0]["ID"]
    assertion = emu.assertion()
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

    def read(sess) -> int:
        return int(sess.get(emu.url + f"/v1/serviceAccounts/{sa['clientID']}",
                            headers=headers, timeout=30).status_code)

    def write(sess) -> int:
        return int(sess.post(emu.url + "/v1/roles/assign", headers=headers, timeout=30,
                             json={"ID": role, "members": [{"ID": sa["clientID"],
                                                            "type": "SERVICE_ACCOUNT"}]}
                             ).status_code)

    def exchange(sess) -> int:
        return int(sess.post(emu.url + "/v1/auth/sa/oauth/token", timeout=30,
                             json={"grant_type": grant, "assertion": assertion}).status_code)

    results = {}
    for name, op in (("read", read), ("write", write), ("token", exchange)):
        results[name] = _run(emu, op, seconds, threads)
    return results


def _run(emu: EmulatorProcess, op: Callable, seconds: float, threads: int) -> float:
    counts = [0] * threads
    errors: list[int] = []
    deadline = time.monotonic() + seconds

    def worker(i: int) -> None:
        sess = emu.session()
        while time.monotonic() < deadline:
            status = op(sess)
            if status != 200:
                errors.append(status)
                return
            counts[i] += 1

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise RuntimeError(f"unexpected statuses {errors[:5]}")
    return sum(counts) / (time.monotonic() - started)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=8)
    args = p.parse_args()
    with EmulatorProcess() as emu:
        for name, rate in measure(emu, args.seconds, args.threads).items():
            print(f"{name:6s} {rate:8.1f} req/s  ({args.threads} threads, {args.seconds:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
