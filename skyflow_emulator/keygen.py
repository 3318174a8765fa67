"""The key stock's worker: ``python -m skyflow_emulator.keygen``, one RSA-2048 pair per request.

It runs as its own process at the lowest CPU priority (nice 19), so it fills the stock with
cycles nothing else wants. Protocol, one line each way: the emulator writes a newline per key it
wants; the worker answers each with one JSON line ``{"private": PEM, "public": PEM}``. It exits
when its stdin ends (the emulator closed it, or died: the kernel closes the pipe either way) or
its stdout is gone, so it never outlives the emulator.
"""

from __future__ import annotations

import json
import os
import sys

from .auth import new_rsa_keypair


def main() -> int:
    try:
        os.nice(19)
    except OSError:  # already at the floor, or not allowed: run anyway
        pass
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    try:
        while stdin.readline():
            pair = new_rsa_keypair()
            stdout.write(json.dumps({"private": pair.private_pem,
                                     "public": pair.public_pem}).encode() + b"\n")
            stdout.flush()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
