"""Service-account credentials (Skyflow's credentials.json), parsed and validated up front.

Validation happens once, at load time, so every malformed input is reported as a
``CredentialsError`` naming the field instead of a PyJWT/cryptography traceback at signing
time. The private key is never part of any message or repr.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..http.errors import CredentialsError

# credentials.json field order, as Skyflow's create-service-account response and Studio give it.
FIELDS = (
    "clientID",
    "clientName",
    "tokenURI",
    "keyID",
    "privateKey",
    "keyValidAfterTime",
    "keyValidBeforeTime",
    "keyAlgorithm",
)
REQUIRED = ("clientID", "keyID", "tokenURI", "privateKey")
# Skyflow's Python SDK also accepts these snake_case spellings.
_ALIASES = {
    "client_id": "clientID",
    "client_name": "clientName",
    "token_uri": "tokenURI",
    "key_id": "keyID",
    "private_key": "privateKey",
}
ENV_CREDENTIALS = "SKYFLOW_CREDENTIALS"
ENV_CREDENTIALS_FILE = "SKYFLOW_CREDENTIALS_FILE"


@dataclass(frozen=True)
class Credentials:
    """A JWT service account's credentials. ``repr`` never shows ``private_key``."""

    client_id: str
    key_id: str
    token_uri: str
    private_key: str = field(repr=False)
    client_name: str = ""
    key_valid_after_time: str = ""
    key_valid_before_time: str = ""
    key_algorithm: str = ""

    def to_dict(self) -> dict[str, str]:
        """The credentials.json object, fields in Skyflow's order."""
        return {
            "clientID": self.client_id,
            "clientName": self.client_name,
            "tokenURI": self.token_uri,
            "keyID": self.key_id,
            "privateKey": self.private_key,
            "keyValidAfterTime": self.key_valid_after_time,
            "keyValidBeforeTime": self.key_valid_before_time,
            "keyAlgorithm": self.key_algorithm,
        }

    def to_json(self) -> str:
        """The credentials.json text (one JSON object, Skyflow's field order)."""
        return json.dumps(self.to_dict())

    def __str__(self) -> str:
        return f"Credentials(client_id={self.client_id!r}, key_id={self.key_id!r})"

    def __reduce__(self) -> Any:
        # A dynamic provider must never capture credentials in its pickled state.
        raise TypeError(
            "Credentials must not be pickled (they would end up in Pulumi state in clear); "
            "load them in configure() instead"
        )


def is_loopback_host(host: str | None) -> bool:
    """True for localhost and loopback IPs: the only hosts plain http is allowed to."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: Any, what: str) -> str | None:
    """Return a problem description for ``url``, or ``None`` when it is acceptable.

    Only ``https`` is accepted, except plain ``http`` to a loopback host (the local emulator):
    tokens and keys must never travel in clear over a network.
    """
    if not isinstance(url, str) or not url.strip():
        return f"{what} must be a non-empty URL string"
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        return f"{what} is not a valid URL"
    if parts.scheme not in ("https", "http") or not host:
        return f"{what} must be an https:// URL with a host"
    if parts.scheme == "http" and not is_loopback_host(host):
        return (f"{what} uses http:// to {host}; only https is allowed (http only to "
                "localhost/127.0.0.1 for the emulator)")
    return None


def _load_private_key(pem: str) -> rsa.RSAPrivateKey:
    if "-----BEGIN" not in pem or "PRIVATE KEY-----" not in pem:
        raise CredentialsError(
            "Field 'privateKey' is not a PEM private key (expected a 'BEGIN PRIVATE KEY' block)",
            field="privateKey",
        )
    try:
        # unsafe_skip_rsa_key_validation: cryptography's RSA consistency check (~35 ms per
        # parse) guards a key that is used to *verify* or decrypt untrusted data. This key only
        # signs our own JWT assertions, and the token endpoint verifies every signature
        # against the public key it holds: an inconsistent key yields signatures the server
        # refuses (401), never a token. Malformed PEM/DER is still rejected by the parser.
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None,
                                                 unsafe_skip_rsa_key_validation=True)
    except (ValueError, TypeError, UnicodeError):
        # Not chained: the library's exception text is not useful and could quote key bytes.
        raise CredentialsError(
            "Field 'privateKey' is not a readable unencrypted PEM private key",
            field="privateKey",
        ) from None
    except Exception:  # unsupported algorithm and similar
        raise CredentialsError(
            "Field 'privateKey' could not be loaded as a PEM private key",
            field="privateKey",
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialsError(
            "Field 'privateKey' is not an RSA key (Skyflow signs assertions with RS256)",
            field="privateKey",
        )
    return key


_PARSED_KEY = "_parsed_key"  # private instance attribute, not a dataclass field


def _attach_key(creds: Credentials, key: rsa.RSAPrivateKey) -> Credentials:
    # Not a dataclass field: absent from repr, ==, hash, asdict() and replace() (a replaced
    # private_key is parsed again), and Credentials.__reduce__ refuses pickling anyway.
    object.__setattr__(creds, _PARSED_KEY, key)
    return creds


def private_key_object(creds: Credentials) -> rsa.RSAPrivateKey:
    """The parsed RSA key: parsed once per ``Credentials`` object, then reused.

    Credentials loaded through ``credentials_from_dict`` (every loader) carry the key parsed
    during validation; ones built directly are parsed on first use. Two threads racing on
    the first use may both parse; both get an equal key.
    """
    key: rsa.RSAPrivateKey | None = creds.__dict__.get(_PARSED_KEY)
    if key is None:
        key = _load_private_key(creds.private_key)
        _attach_key(creds, key)
    return key


def credentials_from_dict(data: Mapping[str, Any], source: str = "credentials") -> Credentials:
    """Validate a credentials.json object; raise ``CredentialsError`` naming the bad field."""
    if not isinstance(data, Mapping):
        raise CredentialsError(
            f"{source} must be a JSON object, got {type(data).__name__}", field=None
        )
    norm: dict[str, Any] = {}
    for k, v in data.items():
        norm[_ALIASES.get(k, k)] = v
    for name in REQUIRED:
        if name not in norm or norm[name] is None:
            raise CredentialsError(
                f"{source} is missing field '{name}'",
                field=name,
                hint="Use the credentials.json downloaded when the service account was created.",
            )
    for name in FIELDS:
        if name in norm and norm[name] is not None and not isinstance(norm[name], str):
            raise CredentialsError(
                f"Field '{name}' in {source} must be a string, got {type(norm[name]).__name__}",
                field=name,
            )
        if name in REQUIRED and not norm[name].strip():
            raise CredentialsError(f"Field '{name}' in {source} is empty", field=name)
    problem = check_url(norm["tokenURI"], "Field 'tokenURI'")
    if problem:
        raise CredentialsError(f"{problem} ({source})", field="tokenURI")
    key = _load_private_key(norm["privateKey"])
    return _attach_key(Credentials(
        client_id=norm["clientID"].strip(),
        key_id=norm["keyID"].strip(),
        token_uri=norm["tokenURI"].strip(),
        private_key=norm["privateKey"],
        client_name=norm.get("clientName") or "",
        key_valid_after_time=norm.get("keyValidAfterTime") or "",
        key_valid_before_time=norm.get("keyValidBeforeTime") or "",
        key_algorithm=norm.get("keyAlgorithm") or "",
    ), key)


def credentials_from_json(text: str, source: str = "credentials JSON") -> Credentials:
    """Parse credentials.json text. Raw newlines inside the PEM string are tolerated."""
    if not isinstance(text, str):
        raise CredentialsError(f"{source} must be a string, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise CredentialsError(f"{source} is empty")
    try:
        # strict=False accepts literal newlines inside strings, as Skyflow's SDK does.
        data = json.loads(stripped, strict=False)
    except ValueError as exc:
        where = ""
        if isinstance(exc, json.JSONDecodeError):
            where = f" (line {exc.lineno}, column {exc.colno})"
        raise CredentialsError(
            f"{source} is not valid JSON{where}",
            hint="Pass the credentials.json text exactly as downloaded.",
        ) from None
    return credentials_from_dict(data, source)


def credentials_from_file(path: str | os.PathLike[str]) -> Credentials:
    """Read and validate a credentials.json file."""
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CredentialsError(f"Credentials file {str(p)!r} does not exist") from None
    except IsADirectoryError:
        raise CredentialsError(f"Credentials file {str(p)!r} is a directory") from None
    except PermissionError:
        raise CredentialsError(f"Credentials file {str(p)!r} is not readable") from None
    except UnicodeDecodeError:
        raise CredentialsError(f"Credentials file {str(p)!r} is not UTF-8 text") from None
    except OSError as exc:
        raise CredentialsError(
            f"Credentials file {str(p)!r} cannot be read: {exc.strerror}"
        ) from None
    return credentials_from_json(text, source=f"credentials file {str(p)!r}")


def load_credentials(source: Any) -> Credentials:
    """Credentials from a ``Credentials``, a dict, JSON text, or a path (str or ``Path``)."""
    if isinstance(source, Credentials):
        return source
    if isinstance(source, Mapping):
        return credentials_from_dict(source)
    if isinstance(source, os.PathLike):
        return credentials_from_file(source)
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8")
        except UnicodeDecodeError:
            raise CredentialsError("credentials bytes are not UTF-8 text") from None
    if isinstance(source, str):
        stripped = source.strip()
        if not stripped:
            raise CredentialsError("credentials are empty (expected a path or JSON text)")
        if "\n" not in stripped and len(stripped) < 4096 and os.path.isfile(stripped):
            return credentials_from_file(stripped)
        if stripped[0] in '{["-0123456789' or stripped in ("true", "false", "null") \
                or "\n" in stripped:
            return credentials_from_json(source)
        return credentials_from_file(stripped)
    raise CredentialsError(
        "credentials must be a path, JSON text or a dict, "
        f"got {type(source).__name__}"
    )


def credentials_from_env(env: Mapping[str, str] | None = None) -> Credentials | None:
    """Credentials from SKYFLOW_CREDENTIALS (JSON text) or SKYFLOW_CREDENTIALS_FILE, else None."""
    env = os.environ if env is None else env
    text = env.get(ENV_CREDENTIALS)
    if text and text.strip():
        return credentials_from_json(text, source=f"env {ENV_CREDENTIALS}")
    path = env.get(ENV_CREDENTIALS_FILE)
    if path and path.strip():
        return credentials_from_file(path.strip())
    return None


def credentials_from_cli(arg: str | None) -> Credentials:
    """What the ``skyflow-token`` commands take: ``--credentials FILE`` (``-`` = stdin), else
    SKYFLOW_CREDENTIALS / SKYFLOW_CREDENTIALS_FILE; raises naming all three when none is set."""
    if arg == "-":
        return credentials_from_json(sys.stdin.read(), source="credentials from stdin")
    if arg:
        return credentials_from_file(arg)
    found = credentials_from_env()
    if found is None:
        raise CredentialsError(
            f"no credentials: pass --credentials FILE (or '-' for stdin), or set {ENV_CREDENTIALS}"
            f" (the credentials.json text) or {ENV_CREDENTIALS_FILE}"
        )
    return found
