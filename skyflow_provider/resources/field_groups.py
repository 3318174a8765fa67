"""Fields shared by several resources, declared once (``declarations.py`` uses them).

Why a module of its own: the resource declarations are split over ``declarations.py`` (the
identities, and the registry) and ``declarations_vaults.py`` (vaults, people, workspaces); both
use these groups, so that their descriptions cannot drift apart.
"""

from __future__ import annotations

from .fields import ANY, NUMBER, STRING, EnumSpec, Field, enum_of, map_of

# ----- closed sets of values (check refuses others; enum types in the schema and SDKs) ---------
AUTH_TYPE = EnumSpec("AuthType", "How a service account authenticates.", ("jwt", "api_key"))
IP_ALLOWLIST_STATUS = EnumSpec("IpAllowlistStatus", "Whether and where an IP allowlist is "
                               "enforced.", ("INACTIVE", "ACTIVE_ALL", "ACTIVE_AUTH_ONLY"))
SYSTEM_ROLE_NAME = EnumSpec("SystemRoleName", "A vault's built-in roles.", (
    "VAULT_OWNER", "VAULT_EDITOR", "VAULT_VIEWER", "PIPELINE_MANAGER", "CONNECTION_MANAGER"))
POLICY_EFFECT = EnumSpec("PolicyEffect", "Whether a policy rule allows or denies.",
                         ("ALLOW", "DENY"))
POLICY_ACTION = EnumSpec("PolicyAction", "What a policy rule applies to.", (
    "ALL", "CREATE", "READ", "UPDATE", "DELETE", "TOKENIZATION", "DETOKENIZATION"))
REDACTION = EnumSpec("Redaction", "How a policy rule returns the data it allows.",
                     ("DEFAULT", "REDACTED", "MASKED", "PLAIN_TEXT"))
MEMBER_TYPE = EnumSpec("MemberType", "What kind of member a role is assigned to.",
                       ("SERVICE_ACCOUNT", "USER"))
#: The spec's v1DataType, without its DT_INVALID placeholder.
DATA_TYPE = EnumSpec("DataType", "A vault column's data type (Skyflow's v1DataType).", (
    "DT_STRING", "DT_INT8", "DT_INT16", "DT_INT32", "DT_INT64", "DT_UINT8", "DT_UINT16",
    "DT_UINT32", "DT_UINT64", "DT_FLOAT32", "DT_FLOAT64", "DT_BOOL", "DT_BYTES", "DT_DATETIME",
    "DT_DATE", "DT_TIME", "DT_EMBEDDED", "DT_REFERENCED"), strip_prefix="DT_")

ROTATION_INPUTS = (
    Field("rotation_trigger", ANY, "Any value; changing it rotates the key in place: the new key "
          "is minted and published first, the previous one stays valid for overlap_hours."),
    Field("rotate_after_days", NUMBER, "Rotate once the current key is this many days old "
          "(checked at every preview and up); without it, warn 30 days before a key expires."),
    Field("overlap_hours", NUMBER, "How long the previous key stays valid after a rotation "
          "(default 24, at most 8784). 0 uses Skyflow's rotate endpoint: the old secret is "
          "refused at once."),
)
ROTATION_OUTPUTS = (
    Field("key_created_at", STRING, "When the current key was created (RFC 3339).",
          kind="output"),
    Field("next_rotation_at", STRING, "When rotate_after_days makes the next rotation due.",
          kind="output"),
    Field("rotated_at", STRING, "When the last rotation happened.", kind="output"),
    Field("previous_key_id", STRING, "The key replaced by the last rotation, valid until "
          "previous_key_delete_after.", kind="output"),
    Field("previous_key_delete_after", STRING, "When the first up after it deletes the "
          "previous key.", kind="output"),
)


def key_target(kind_of_account: str) -> tuple[Field, ...]:
    """The inputs naming the service account an extra key belongs to (ApiKey,
    ServiceAccountKey)."""
    return (
        Field("service_account_id", STRING, f"The {kind_of_account} service account (its id). "
              "Changing it replaces the key.", replaces=True),
        Field("service_account", ANY, "Alternative to service_account_id: the ServiceAccount "
              "resource itself, which also lets preview refuse an account of the wrong auth "
              "type before any API call.", kind="arg"),
        Field("service_account_auth_type", enum_of(AUTH_TYPE), "Optional hint (jwt or "
              "api_key), filled from service_account when given; never causes a diff.",
              compared=False),
        Field("keepers", map_of(STRING), "Legacy (GCP-style): changing a value replaces the key, "
              "so the old one stops working in the same up. Prefer rotation_trigger.",
              replaces=True),
    )


def adopt_field(what: str, effect: str) -> Field:
    """``adopt_id``: take over an existing object at creation instead of creating one."""
    return Field("adopt_id", STRING, f"Bring this existing {what} (its id) under management "
                 f"instead of creating one; {effect} Only used at creation; another id "
                 "replaces.", compared=False)


DISPLAY_NAME = Field("display_name", STRING, "Shown in Studio; defaults to name. Updates in "
                     "place.", default_doc="name")
DESCRIPTION = Field("description", STRING, "Free text (at most 1024 characters). Updates in "
                    "place.", default="")
NAMESPACE = Field("namespace", STRING, "Skyflow's namespace of the object.",
                  kind="output", required=True)
