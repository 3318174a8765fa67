"""Search files and captured output for generated secrets.

Every end-to-end test funnels what it produced through here, so "no secret in plain sight" is
proven by counting hits rather than assumed. Zero hits only mean something if the scanner would
have found a leak, so every needle is derived from the secret itself:

* the whole value, and fragments unique to it: slices of a PEM's body lines past the first
  (which holds the DER header, the same for every key of a type), a JWT's signature, the random
  part of a ``sky-`` API key, slices of any other long secret;
* each of those as a leak would carry it: JSON string escaping (``\\n`` in a PEM, ``\\/``),
  percent-encoding (upper- and lower-case hex), hex, and standard and URL-safe base64 of the
  raw and the JSON-escaped text. Base64 of a string embedded at byte offset 0, 1 or 2 (mod 3)
  in a larger document gives three different encodings; the needle for each is its stable
  middle, the characters that depend only on the secret's bytes. So the base64 of a
  credentials.json, of a pickled provider or of a state blob that carries the key is found
  whatever precedes the key in it.

A secret shorter than :data:`MIN_SECRET_LENGTH` characters, or with fewer than
:data:`MIN_DISTINCT_CHARS` distinct characters, is refused (:class:`UnscannableSecret`): it cannot
be told apart from ordinary text, and the stable middle of its base64 would be shorter than the
secret (16 characters is 64 bits even as hex; every credential Skyflow or the emulator generates
is far longer: the random part of an API key alone is 32 hex digits).

Gzip-compressed files (the CLI's per-command logs in ``PULUMI_HOME/logs``) are searched
decompressed too.

Zero-hit checks go through :func:`assert_no_secret_hits`, which also makes the caller state how
many secrets it expected to scan (``min_secrets``), so a lookup that silently found none cannot
turn the scan into a check of nothing. A missing or unreadable scan root is an error, not a
skip.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

MIN_SECRET_LENGTH = 16
MIN_DISTINCT_CHARS = 8
FRAGMENT_LENGTH = 32
#: How many fragments a long secret (a PEM body, a JWT signature) contributes.
FRAGMENTS_PER_SECRET = 4


class UnscannableSecret(ValueError):
    """A value the scanner cannot make a distinctive needle for."""


# ---- needles ---------------------------------------------------------------------------------

def _pem_body_lines(secret: str) -> list[str]:
    return [ln.strip() for ln in secret.splitlines()
            if ln.strip() and not ln.startswith("-----") and ":" not in ln]


def _slices(text: str, count: int = FRAGMENTS_PER_SECRET) -> list[str]:
    """``count`` slices of FRAGMENT_LENGTH spread over ``text`` (start, middle(s), end)."""
    if len(text) <= FRAGMENT_LENGTH:
        return [text]
    starts = range(0, len(text) - FRAGMENT_LENGTH + 1)
    return [text[s:s + FRAGMENT_LENGTH]
            for s in sorted({starts[round(i * (len(starts) - 1) / (count - 1))]
                             for i in range(count)})]


def key_fragments(secret: str) -> list[str]:
    """The parts of ``secret`` that are unique to it (the whole value not included)."""
    if "-----BEGIN" in secret:
        body = _pem_body_lines(secret)
        # The first line starts with the DER header shared by every key of its type (for
        # RSA-2048 PKCS#8 its first 50 characters); later lines are the key's own numbers.
        # One slice from inside each later line: any line of the key leaked on its own is
        # found, and a slice survives every escaping of the newlines between lines.
        lines = [ln for ln in body[1:] if len(ln) >= FRAGMENT_LENGTH] or body[1:]
        mid = max(0, (len(lines[0]) - FRAGMENT_LENGTH) // 2) if lines else 0
        return [ln[mid:mid + FRAGMENT_LENGTH] for ln in lines]
    parts = secret.split(".")
    if len(parts) == 3 and secret.startswith("eyJ") and len(parts[2]) >= MIN_SECRET_LENGTH:
        # A JWT: the header (and much of the payload) is shared; the signature is unique.
        return _slices(parts[2])
    if secret.startswith("sky-") and secret.count("-") >= 2:
        # sky-<prefix>-<32 hex>: the prefix is public (it names the key), the rest is the key.
        return [secret.rsplit("-", 1)[-1]]
    if len(secret) >= 2 * FRAGMENT_LENGTH:
        return _slices(secret)
    return []


def _b64_stable(data: bytes, offset: int, urlsafe: bool) -> str:
    """The part of base64(<offset bytes> + data + <anything>) that depends only on ``data``."""
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    encoded = encode(b"\0" * offset + data)
    first = 1 if offset else 0  # the first 3-byte group mixes in the bytes before the secret
    last = (offset + len(data)) // 3  # groups after this one mix in the bytes after it
    return encoded[4 * first:4 * last].decode()


def _lower_percent(encoded: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded)


def encodings(text: str) -> dict[str, str]:
    """``text`` as a leak could carry it, each form -> a description of the form.

    Raw, JSON-escaped (and with ``\\/``), percent-encoded (upper/lower hex, ``+`` for space),
    hex, and the stable middle of standard and URL-safe base64 at byte offsets 0, 1 and 2 of the
    raw and the escaped text.
    """
    json_escaped = json.dumps(text)[1:-1]
    texts = {"raw": text, "JSON-escaped": json_escaped,
             "JSON-escaped with \\/": json_escaped.replace("/", "\\/")}
    found: dict[str, str] = {}

    def add(needle: str, form: str) -> None:
        found.setdefault(needle, form)

    for form, t in texts.items():
        add(t, form)
    for form, t in (("raw", text), ("JSON-escaped", json_escaped)):
        for kind, encoded in (("percent-encoded", quote(t, safe="")),
                              ("form-encoded", quote_plus(t, safe=""))):
            add(encoded, f"{kind} {form}")
            add(_lower_percent(encoded), f"{kind} (lower-case hex) {form}")
    add(text.encode().hex(), "hex")
    for form, t in texts.items():
        for offset in (0, 1, 2):
            for urlsafe in (False, True):
                alphabet = "URL-safe base64" if urlsafe else "base64"
                add(_b64_stable(t.encode(), offset, urlsafe),
                    f"{alphabet} of the {form} text at offset {offset} mod 3")
    return found


def check_scannable(secret: object, label: str = "secret") -> str:
    """``secret`` stripped, or :class:`UnscannableSecret` saying why it cannot be searched."""
    if not isinstance(secret, str):
        raise UnscannableSecret(f"{label}: expected the secret's text, got {type(secret).__name__}")
    value = secret.strip()
    if len(value) < MIN_SECRET_LENGTH:
        raise UnscannableSecret(
            f"{label}: {len(value)} characters; a secret shorter than {MIN_SECRET_LENGTH} cannot "
            "be told apart from ordinary text, so a scan for it would prove nothing")
    if len(set(value)) < MIN_DISTINCT_CHARS:
        raise UnscannableSecret(
            f"{label}: only {len(set(value))} distinct characters; too repetitive to be "
            f"distinctive (need {MIN_DISTINCT_CHARS})")
    return value


def described_needles(secret: str, label: str = "secret") -> dict[str, str]:
    """Every needle for ``secret`` -> what it is ("fragment 2, base64 ... at offset 1 mod 3")."""
    value = check_scannable(secret, label)
    found: dict[str, str] = {}
    cores = {value: "whole value"}
    for i, fragment in enumerate(key_fragments(value), 1):
        cores.setdefault(fragment, f"fragment {i}")
    for core, what in cores.items():
        for needle, form in encodings(core).items():
            found.setdefault(needle, f"{what}, {form}")
    short = sorted(len(n) for n in found if len(n) < MIN_SECRET_LENGTH)
    assert not short, f"{label}: needle(s) too short to be distinctive (lengths {short})"
    return found


def needles(secret: str, label: str = "secret") -> list[str]:
    """Every string whose presence in a file or an output means ``secret`` leaked."""
    return _longest_first(described_needles(secret, label))


def _longest_first(found: Iterable[str]) -> list[str]:
    """Longest first: a hit reports the most complete form of the leak."""
    return sorted(found, key=lambda n: (-len(n), n))


# ---- scanning --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hit:
    """Where a secret was found and in which form (never the needle itself: it is the secret)."""

    where: str
    secret_label: str
    form: str = ""


@dataclass
class ScanReport:
    """What one scan looked at and found."""

    hits: list[Hit]
    secrets: int
    needles: int
    files: int
    texts: int
    bytes: int
    #: Non-regular files under a root (sockets, fifos, dangling symlinks): they hold no data.
    skipped: list[str] = field(default_factory=list)


def iter_files(roots: Iterable[Path | str], skipped: list[str] | None = None) -> Iterator[Path]:
    """Every regular file under ``roots``; a missing root is an error (FileNotFoundError)."""
    for root in roots:
        root = Path(root)
        if not root.exists():
            raise FileNotFoundError(f"scan root {root} does not exist: nothing there to scan")
        if root.is_file():
            yield root
            continue
        if not root.is_dir():
            raise FileNotFoundError(f"scan root {root} is neither a file nor a directory")

        def fail(err: OSError) -> None:
            raise err

        for dirpath, _dirs, files in os.walk(root, onerror=fail):
            for name in files:
                path = Path(dirpath) / name
                try:
                    mode = path.stat().st_mode
                except FileNotFoundError:  # a dangling symlink
                    mode = 0
                if stat.S_ISREG(mode):
                    yield path
                elif skipped is not None:
                    skipped.append(str(path))


Table = dict[str, list[tuple[bytes, str]]]


def _needle_table(secrets: Mapping[str, str]) -> Table:
    if not secrets:
        raise UnscannableSecret("no secret to look for: a scan for nothing proves nothing")
    table: Table = {}
    for label, value in secrets.items():
        described = described_needles(value, label)
        table[label] = [(n.encode(), described[n]) for n in _longest_first(described)]
    return table


def _search(where: str, data: bytes, table: Table) -> list[Hit]:
    found = []
    for label, needle_list in table.items():
        for needle, form in needle_list:
            if needle in data:
                found.append(Hit(where, label, form))
                break
    return found


GZIP_MAGIC = b"\x1f\x8b"


def gunzip(data: bytes) -> bytes:
    """Every gzip member of ``data``, as much as decompresses (a log may be cut off mid-write)."""
    out: list[bytes] = []
    while data[:2] == GZIP_MAGIC:
        inflater = zlib.decompressobj(wbits=31)
        try:
            out.append(inflater.decompress(data))
        except zlib.error:
            break
        data = inflater.unused_data
    return b"".join(out)


def scan_report(secrets: Mapping[str, str], roots: Iterable[Path | str] = (),
                texts: Mapping[str, str] | None = None) -> ScanReport:
    """Search every file under ``roots`` and every text in ``texts`` for every secret."""
    table = _needle_table(secrets)
    roots = list(roots)
    texts = dict(texts or {})
    if not roots and not texts:
        raise ValueError("scan called without any file or text to search")
    hits: list[Hit] = []
    skipped: list[str] = []
    files = size = 0
    for path in iter_files(roots, skipped):
        data = path.read_bytes()  # unreadable -> OSError: a scan must not skip what it can't read
        files += 1
        size += len(data)
        hits.extend(_search(str(path), data, table))
        if data[:2] == GZIP_MAGIC:
            # e.g. the CLI's per-command logs in PULUMI_HOME/logs: compression would hide a key.
            hits.extend(_search(f"{path} (gunzipped)", gunzip(data), table))
    for where, text in texts.items():
        data = text.encode("utf-8", errors="surrogateescape")
        size += len(data)
        hits.extend(_search(where, data, table))
    return ScanReport(hits=hits, secrets=len(table),
                      needles=sum(len(v) for v in table.values()), files=files,
                      texts=len(texts), bytes=size, skipped=skipped)


def scan(secrets: Mapping[str, str], roots: Iterable[Path | str] = (),
         texts: Mapping[str, str] | None = None) -> list[Hit]:
    """Every place where any secret occurs (for tests that plant a secret and expect a hit)."""
    return scan_report(secrets, roots, texts).hits


def assert_no_secret_hits(secrets: Mapping[str, str], *, min_secrets: int,
                          roots: Iterable[Path | str] = (),
                          texts: Mapping[str, str] | None = None) -> ScanReport:
    """Fail unless at least ``min_secrets`` secrets were searched for and none was found.

    ``min_secrets`` is how many the caller knows it generated: a stack-output lookup that
    found fewer (say only the admin key because the outputs were empty) fails here instead of
    passing a scan of almost nothing. Returns the report, for figures.
    """
    assert min_secrets >= 1, "min_secrets must be at least 1"
    assert len(secrets) >= min_secrets, (
        f"only {len(secrets)} secret(s) to scan for ({sorted(secrets)}), expected at least "
        f"{min_secrets}: the lookup of generated secrets missed some")
    report = scan_report(secrets, roots, texts)
    assert report.files + report.texts > 0 and report.bytes > 0, "the scan read nothing"
    assert report.hits == [], (
        f"{len(report.hits)} plaintext secret hit(s): "
        + "; ".join(f"{h.secret_label} in {h.where} ({h.form})" for h in report.hits[:10]))
    return report
