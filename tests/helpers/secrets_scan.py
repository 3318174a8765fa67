"""Search files and captured output for generated secrets.

Every end-to-end test funnels what it produced through here, so "no secret in plain sight" is
proven by counting hits rather than assumed. A secret is searched for whole and through
distinctive fragments, so it is found even when JSON escaping or line wrapping changed its shape.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

FRAGMENT_LENGTH = 32


def fragments(secret: str) -> list[str]:
    """The needles that identify one secret: the whole value and pieces of its body."""
    secret = secret.strip()
    needles = {secret}
    if "-----BEGIN" in secret:
        body = "".join(
            line for line in secret.splitlines() if line and not line.startswith("-----")
        )
        # Pieces from the start, middle and end of the key body survive any re-wrapping.
        for start in (0, len(body) // 2, max(0, len(body) - FRAGMENT_LENGTH - 1)):
            needles.add(body[start : start + FRAGMENT_LENGTH])
        # A base64 of the PEM would hide it from a plain grep; look for that form too.
        needles.add(base64.b64encode(secret.encode()).decode()[8:8 + FRAGMENT_LENGTH])
    elif secret.startswith("sky-") and len(secret) > 20:
        needles.add(secret.rsplit("-", 1)[-1])
    elif secret.count(".") == 2 and len(secret) > 60:  # a JWT: its signature is unique
        needles.add(secret.rsplit(".", 1)[-1][:FRAGMENT_LENGTH])
    return [n for n in needles if len(n) >= 16]


@dataclass
class Hit:
    where: str
    secret_label: str


def iter_files(roots: Iterable[Path]) -> Iterable[Path]:
    for root in roots:
        root = Path(root)
        if root.is_file():
            yield root
            continue
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                yield Path(dirpath) / name


def scan(
    secrets: dict[str, str],
    roots: Iterable[Path] = (),
    texts: dict[str, str] | None = None,
) -> list[Hit]:
    """Return every place where any fragment of any secret occurs."""
    needles = {label: fragments(value) for label, value in secrets.items() if value}
    assert needles, "scan() called without any secret to look for"
    hits: list[Hit] = []
    for path in iter_files(roots):
        try:
            data = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
        hits.extend(_search(str(path), data, needles))
    for where, text in (texts or {}).items():
        hits.extend(_search(where, text, needles))
    return hits


def _search(where: str, data: str, needles: dict[str, list[str]]) -> list[Hit]:
    found = []
    for label, frags in needles.items():
        if any(f in data for f in frags):
            found.append(Hit(where, label))
    return found
