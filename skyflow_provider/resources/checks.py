"""Field validators used by every resource's ``check``.

Why: bad input must fail at preview, before any API call, with the field named and the fix
spelled out. Each validator returns a list of ``CheckFailure`` (empty when fine) and skips values
that are still unknown during preview (the ``pulumi.runtime.rpc.UNKNOWN`` sentinel).

Limits chosen here (Skyflow documents few of them; see docs/resources.md):

* service-account, role and display names: at most ``MAX_NAME`` (100) characters;
* descriptions: at most ``MAX_DESCRIPTION`` (1024) characters;
* policy and rule names: Skyflow's ``^[A-Za-z0-9]+$``;
* role names: letters, digits, ``_ - .``, starting with a letter or digit;
* ids: 1-128 characters of ``[A-Za-z0-9_-]`` (ids end up in URL paths);
* CIDR blocks: at most 10 (Skyflow's ``maxItems``), each a valid IPv4/IPv6 network;
* every string: no control or invisible format characters (C0/C1 controls, NUL, bidi
  overrides and isolates, zero-width characters, line/paragraph separators, surrogates) -
  they make a name look like another one in Studio and in logs ("Trojan Source");
* names additionally: no path separators or URL metacharacters (``/ \\ ? # % & ;`` ...),
  because names travel in URLs (list filters) and appear in paths of tools that consume them.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi.dynamic import CheckFailure

from .base import is_unknown

MAX_NAME = 100
MAX_DESCRIPTION = 1024
MAX_ID = 128
MAX_CIDR_BLOCKS = 10
MAX_CONDITION = 4096

ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
POLICY_NAME_RE = re.compile(r"^[A-Za-z0-9]+$")
ROLE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
CLAIM_RE = re.compile(r"^[A-Za-z0-9_]+$")
PERMISSION_RE = re.compile(r"^[A-Za-z0-9_*]+(\.[A-Za-z0-9_*]+)*(:[A-Za-z0-9_*]+)?$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# Unicode categories refused in every string: controls, format characters (bidi controls,
# zero-width space/joiners, BOM, soft hyphen), surrogates, private use, unassigned, and the
# line/paragraph separators.
_BAD_CATEGORIES = {"Cc": "a control character", "Cf": "an invisible format character",
                   "Cs": "a surrogate", "Co": "a private-use character",
                   "Cn": "an unassigned code point", "Zl": "a line separator",
                   "Zp": "a paragraph separator"}
#: characters refused in names: path separators and URL/shell metacharacters
NAME_FORBIDDEN = frozenset('/\\?#%&;<>"\'`{}|^[]@')

Failures = list[CheckFailure]


def _show(value: Any) -> str:
    """A short, safe rendering of a bad value for the message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _fail(prop: str, reason: str) -> Failures:
    return [CheckFailure(prop, reason)]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def check_string(
    prop: str,
    value: Any,
    *,
    required: bool = False,
    max_len: int = MAX_NAME,
    allow_empty: bool = True,
    single_line: bool = True,
) -> Failures:
    """A free-text string: type, length, no control characters (newlines allowed if multi-line)."""
    if is_unknown(value):
        return []
    if value is None:
        return _fail(prop, f"{prop} is required; set it to a non-empty string") if required else []
    if not isinstance(value, str):
        return _fail(prop, f"{prop} must be a string, got {type(value).__name__}")
    if value == "" and (required or not allow_empty):
        return _fail(prop, f"{prop} must not be empty")
    if len(value) > max_len:
        return _fail(
            prop, f"{prop} is {len(value)} characters long; shorten it to at most {max_len}"
        )
    text = value.replace("\n", "").replace("\t", "") if not single_line else value
    bad = bad_character(text)
    if bad is not None:
        index, what = bad
        return _fail(prop, f"{prop} contains {what} (U+{ord(text[index]):04X} at position "
                     f"{index}); remove it - such characters can make one value look like "
                     "another")
    return []


def bad_character(text: str) -> tuple[int, str] | None:
    """(index, description) of the first control/format/invisible character, else None."""
    for i, ch in enumerate(text):
        category = unicodedata.category(ch)
        if category in _BAD_CATEGORIES:
            return i, _BAD_CATEGORIES[category]
    return None


def check_name(
    prop: str,
    value: Any,
    *,
    required: bool = True,
    max_len: int = MAX_NAME,
    pattern: re.Pattern[str] | None = None,
    pattern_hint: str = "",
) -> Failures:
    """A name: non-empty, bounded, no surrounding whitespace, optionally matching a pattern."""
    if is_unknown(value):
        return []
    if _missing(value):
        return _fail(prop, f"{prop} is required; set it to a non-empty name") if required else []
    base = check_string(prop, value, required=True, max_len=max_len)
    if base:
        return base
    if value != value.strip():
        return _fail(prop, f"{prop} {_show(value)} has leading or trailing whitespace; trim it")
    if any(ch.isspace() and ch != " " for ch in value):
        return _fail(prop, f"{prop} {_show(value)} contains a tab, newline or non-breaking "
                     "space; use plain spaces")
    forbidden = sorted({ch for ch in value if ch in NAME_FORBIDDEN})
    if forbidden:
        return _fail(prop, f"{prop} {_show(value)} contains {' '.join(forbidden)}: path "
                     "separators and URL metacharacters are not allowed in names; use "
                     "letters, digits, spaces, '-', '_', '.', ',', ':', '(' or ')'")
    if ".." in value:
        return _fail(prop, f"{prop} {_show(value)} contains '..'; use a single '.'")
    if pattern is not None and not pattern.match(value):
        return _fail(prop, f"{prop} {_show(value)} is invalid: {pattern_hint}")
    return []


def check_policy_name(prop: str, value: Any, *, required: bool = True) -> Failures:
    """Skyflow's policy/rule name rule: ``^[A-Za-z0-9]+$``."""
    return check_name(
        prop,
        value,
        required=required,
        pattern=POLICY_NAME_RE,
        pattern_hint="Skyflow allows only letters and digits (^[A-Za-z0-9]+$), "
        "e.g. 'AnalyticsReadMasked'",
    )


def check_role_name(prop: str, value: Any, *, required: bool = True) -> Failures:
    """Role names: letters, digits, ``_ - .``; unique per vault (enforced by Skyflow)."""
    return check_name(
        prop,
        value,
        required=required,
        pattern=ROLE_NAME_RE,
        pattern_hint="use letters, digits, '_', '-' or '.', starting with a letter or digit, "
        "e.g. 'ANALYTICS_READER'",
    )


def check_id(prop: str, value: Any, *, required: bool = True) -> Failures:
    """An opaque Skyflow id; it goes into URL paths, so no separators or metacharacters."""
    if is_unknown(value):
        return []
    if _missing(value):
        return _fail(prop, f"{prop} is required; pass the Skyflow id (e.g. a resource's .id)") \
            if required else []
    if not isinstance(value, str):
        return _fail(prop, f"{prop} must be a string id, got {type(value).__name__}")
    if len(value) > MAX_ID:
        return _fail(prop, f"{prop} is {len(value)} characters long; Skyflow ids are at most "
                     f"{MAX_ID}")
    if not ID_RE.match(value):
        return _fail(
            prop,
            f"{prop} {_show(value)} is not a Skyflow id: ids contain only letters, digits, "
            "'_' and '-' (no whitespace, '/', '?', '#', '%' or '.')",
        )
    return []


def check_enum(
    prop: str, value: Any, allowed: Iterable[str], *, required: bool = False
) -> Failures:
    """One of a fixed set of strings (case-sensitive, as Skyflow expects)."""
    if is_unknown(value):
        return []
    options = list(allowed)
    if value is None:
        return _fail(prop, f"{prop} is required; use one of {', '.join(options)}") \
            if required else []
    if value not in options:
        return _fail(prop, f"{prop} {_show(value)} is not allowed; use one of {', '.join(options)}")
    return []


def check_bool(prop: str, value: Any) -> Failures:
    """A boolean (not the strings "true"/"false")."""
    if is_unknown(value) or value is None or isinstance(value, bool):
        return []
    return _fail(prop, f"{prop} must be true or false, got {_show(value)}")


def check_list(
    prop: str,
    value: Any,
    *,
    required: bool = False,
    min_items: int = 0,
    max_items: int | None = None,
    unique: bool = False,
) -> Failures:
    """A list: type, size bounds, optional uniqueness. Items are validated by the caller."""
    if is_unknown(value):
        return []
    if value is None:
        if required or min_items:
            return _fail(prop, f"{prop} is required; give a list with at least "
                         f"{max(min_items, 1)} item(s)")
        return []
    if not isinstance(value, (list, tuple)):
        return _fail(prop, f"{prop} must be a list, got {type(value).__name__}")
    if len(value) < min_items:
        return _fail(prop, f"{prop} needs at least {min_items} item(s), got {len(value)}")
    if max_items is not None and len(value) > max_items:
        return _fail(prop, f"{prop} has {len(value)} items; the limit is {max_items}")
    if unique:
        seen: list[Any] = []
        for item in value:
            if not is_unknown(item) and item in seen:
                return _fail(prop, f"{prop} lists {_show(item)} more than once; remove duplicates")
            seen.append(item)
    return []


def check_string_list(
    prop: str,
    value: Any,
    *,
    required: bool = False,
    min_items: int = 0,
    max_items: int | None = None,
    item_pattern: re.Pattern[str] | None = None,
    item_hint: str = "",
    max_len: int = MAX_NAME,
) -> Failures:
    """A list of non-empty strings, optionally matching a pattern, without duplicates."""
    failures = check_list(
        prop, value, required=required, min_items=min_items, max_items=max_items, unique=True
    )
    if failures or not isinstance(value, (list, tuple)):
        return failures
    for i, item in enumerate(value):
        item_prop = f"{prop}[{i}]"
        if is_unknown(item):
            continue
        if not isinstance(item, str) or item == "":
            failures += _fail(item_prop, f"{item_prop} must be a non-empty string")
        elif len(item) > max_len:
            failures += _fail(item_prop, f"{item_prop} is longer than {max_len} characters")
        elif item_pattern is not None and not item_pattern.match(item):
            failures += _fail(item_prop, f"{item_prop} {_show(item)} is invalid: {item_hint}")
    return failures


def check_id_list(prop: str, value: Any, *, min_items: int = 1) -> Failures:
    """A non-empty list of distinct Skyflow ids."""
    failures = check_list(prop, value, required=True, min_items=min_items, unique=True)
    if failures or not isinstance(value, (list, tuple)):
        return failures
    for i, item in enumerate(value):
        failures += check_id(f"{prop}[{i}]", item)
    return failures


def check_cidr_blocks(prop: str, value: Any) -> Failures:
    """CIDR blocks for an IP allowlist: at most 10 valid, distinct IPv4/IPv6 networks."""
    failures = check_list(prop, value, max_items=MAX_CIDR_BLOCKS, unique=True)
    if failures or not isinstance(value, (list, tuple)):
        return failures
    for i, item in enumerate(value):
        item_prop = f"{prop}[{i}]"
        if is_unknown(item):
            continue
        if not isinstance(item, str) or "/" not in item:
            failures += _fail(
                item_prop, f"{item_prop} {_show(item)} is not a CIDR block; write it as "
                "address/prefix, e.g. '203.0.113.0/24' or '2001:db8::/32'"
            )
            continue
        try:
            ipaddress.ip_network(item, strict=True)
        except ValueError as err:
            failures += _fail(item_prop, f"{item_prop} {_show(item)} is not a valid CIDR block "
                              f"({err}); host bits must be zero, e.g. '10.0.0.0/8'")
    return failures


def check_mapping(prop: str, value: Any, allowed_keys: Iterable[str]) -> Failures:
    """An object with only the known keys (typos fail instead of being ignored)."""
    if is_unknown(value) or value is None:
        return []
    if not isinstance(value, Mapping):
        return _fail(prop, f"{prop} must be an object, got {type(value).__name__}")
    allowed = list(allowed_keys)
    extra = sorted(k for k in value if k not in allowed)
    if extra:
        return _fail(prop, f"{prop} has unknown field(s) {', '.join(extra)}; "
                     f"allowed: {', '.join(allowed)}")
    return []


def check_unknown_keys(props: Mapping[str, Any], allowed_keys: Iterable[str]) -> Failures:
    """Top-level inputs the resource does not know (each reported under its own name)."""
    allowed = set(allowed_keys)
    return [
        CheckFailure(k, f"{k} is not an input of this resource; remove it (allowed: "
                     f"{', '.join(sorted(allowed))})")
        for k in sorted(props)
        if k not in allowed and not k.startswith("__")
    ]


_RULE_TARGET = r"[A-Za-z0-9_]+\.(?:[A-Za-z0-9_]+|\*)"
RULE_EXPRESSION_RE = re.compile(
    r"^\s*(?P<effect>ALLOW|DENY)\s+(?P<actions>[A-Z_]+(?:\s*,\s*[A-Z_]+)*)\s+ON\s+"
    rf"(?P<targets>{_RULE_TARGET}(?:\s*,\s*{_RULE_TARGET})*)"
    r"(?:\s+WITH\s+REDACTION\s*=\s*(?P<redaction>[A-Z_]+))?"
    r"(?:\s+WHERE\s+(?P<where>\S.*))?\s*$",
    re.DOTALL,
)
RULE_EXPRESSION_EXAMPLE = "ALLOW READ ON persons.* WITH REDACTION = MASKED"


def check_rule_expression(
    prop: str, value: Any, actions: Iterable[str], redactions: Iterable[str]
) -> Failures:
    """A policy rule expression: ``ALLOW|DENY <ACTIONS> ON <table.column, ...>
    [WITH REDACTION = <R>] [WHERE <filter>]`` with known actions and redactions.

    One line, like every rule expression Skyflow documents: a newline or tab inside one is far
    more likely a paste accident than intent (write long rules with YAML's folded ``>``)."""
    base = check_string(prop, value, required=True, max_len=2048, single_line=True)
    if base or is_unknown(value):
        return base
    m = RULE_EXPRESSION_RE.match(value)
    if not m:
        return _fail(prop, f"{prop} {_show(value)} is not a rule expression; write it as "
                     f"'{RULE_EXPRESSION_EXAMPLE}' (ALLOW|DENY, actions, ON table.column or "
                     "table.*, optional WITH REDACTION = ..., optional WHERE ...)")
    allowed = list(actions)
    unknown = [a.strip() for a in m.group("actions").split(",") if a.strip() not in allowed]
    if unknown:
        return _fail(prop, f"{prop} uses unknown action(s) {', '.join(unknown)}; use "
                     f"{', '.join(allowed)}")
    redaction = m.group("redaction")
    allowed_red = list(redactions)
    if redaction is not None and redaction not in allowed_red:
        return _fail(prop, f"{prop} uses unknown redaction {redaction}; use "
                     f"{', '.join(allowed_red)}")
    return []

