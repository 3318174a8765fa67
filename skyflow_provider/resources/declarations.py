"""Every resource's fields, declared once (see ``fields.py`` for what is derived from them).

To add an input: add one ``Field`` here (or in ``declarations_vaults.py`` for vaults, users and
workspaces), run ``make generate`` (typed Args/Outputs, schema, docs tables), and handle it in
the provider module. Fields shared by several resources (the rotation inputs and outputs, the key
target, descriptions, namespaces) are declared once in ``field_groups.py`` and reused, so their
descriptions cannot drift apart. This module is the registry: ``RESOURCES``, ``FUNCTIONS``,
``PROVIDER_CONFIG``.
"""

from __future__ import annotations

from .declarations_vaults import (
    USER,
    VAULT,
    WORKSPACE,
)
from .field_groups import (
    AUTH_TYPE,
    DESCRIPTION,
    DISPLAY_NAME,
    IP_ALLOWLIST_STATUS,
    MEMBER_TYPE,
    NAMESPACE,
    POLICY_ACTION,
    POLICY_EFFECT,
    REDACTION,
    ROTATION_INPUTS,
    ROTATION_OUTPUTS,
    SYSTEM_ROLE_NAME,
    adopt_field,
    key_target,
)
from .fields import (
    BOOL,
    STRING,
    Field,
    ObjectSpec,
    ResourceSpec,
    enum_of,
    list_of,
    map_of,
    object_of,
)

# ----- ServiceAccount ----------------------------------------------------------------------------
IP_ALLOWLIST = ObjectSpec("IpAllowlist", "Where the service account may be used from.", (
    Field("status", enum_of(IP_ALLOWLIST_STATUS),
          "INACTIVE (not enforced), ACTIVE_ALL (every call) or "
          "ACTIVE_AUTH_ONLY (token minting only).", default="INACTIVE"),
    Field("cidr_blocks", list_of(STRING), "Up to 10 IPv4/IPv6 CIDR blocks.", default=[]),
))

SERVICE_ACCOUNT = ResourceSpec(
    "ServiceAccount",
    "A Skyflow service account (JWT key pair or API key). Generated credentials are always "
    "secret outputs.",
    (
        Field("name", STRING, "Unique name; changing it replaces the account (Skyflow cannot "
              "rename).", required=True, replaces=True),
        DISPLAY_NAME,
        DESCRIPTION,
        Field("auth_type", enum_of(AUTH_TYPE),
              "jwt (key pair and credentials.json) or api_key. Changing it "
              "replaces the account (deleted first, so the name is free).", default="jwt",
              replaces=True),
        Field("enforce_context_id", BOOL, "Require a ctx claim in every JWT assertion. Updates "
              "in place.", default=False),
        Field("keyless", BOOL, "A jwt account with no key at all, reached only through "
              "Skyflow's STS (an StsConfig listing it): the key Skyflow makes with every new "
              "account is deleted at once, so there is nothing to store, rotate or leak. "
              "Changing it replaces the account.", default=False, replaces=True),
        Field("enforce_signed_data_tokens", BOOL, "Require data tokens signed with this "
              "account's key (jwt only). Updates in place.", default=False),
        Field("ip_allowlist", object_of(IP_ALLOWLIST), "IP allowlist (status and CIDR blocks). "
              "Updates in place.", default={"status": "INACTIVE", "cidr_blocks": []}),
        adopt_field("service account", "its settings are set to the declared ones and, since "
                    "Skyflow never returns an existing secret, a fresh key is minted."),
        Field("exclusive_keys", BOOL, "Delete every key of the account that this resource does "
              "not hold (at adoption, and on any up after a refresh found some). Do not combine "
              "with ServiceAccountKey or ApiKey resources on the same account."),
        *ROTATION_INPUTS,
        Field("client_id", STRING, "Skyflow's clientID (= the resource id).",
              kind="output", required=True),
        Field("client_name", STRING, "Skyflow's clientName.", kind="output", required=True),
        Field("token_uri", STRING, "Where the credentials are exchanged for bearer tokens.",
              kind="output", required=True),
        NAMESPACE,
        Field("key_id", STRING, "The current key pair's id (jwt accounts).", kind="output"),
        Field("private_key", STRING, "The current private key, PEM (jwt accounts).",
              kind="output", secret=True),
        Field("credentials", STRING, "credentials.json text of the current key, exactly as "
              "Studio downloads it (jwt accounts).", kind="output", secret=True),
        Field("valid_after", STRING, "When the current key became valid.", kind="output"),
        Field("valid_before", STRING, "When the current key expires (jwt keys: a year after "
              "creation).", kind="output"),
        Field("api_key_id", STRING, "The current API key's id (api_key accounts).",
              kind="output"),
        Field("api_key", STRING, "The current API key (api_key accounts).", kind="output",
              secret=True),
        Field("previous_private_key", STRING, "The previous private key, valid until "
              "previous_key_delete_after.", kind="output", secret=True),
        Field("previous_credentials", STRING, "credentials.json of the previous key.",
              kind="output", secret=True),
        Field("previous_api_key", STRING, "The previous API key (api_key accounts).",
              kind="output", secret=True),
        Field("unmanaged_key_ids", list_of(STRING), "Keys on the account that this resource "
              "does not hold (refreshed by pulumi refresh).", kind="output"),
        *ROTATION_OUTPUTS,
    ),
)

# ----- ApiKey / ServiceAccountKey ----------------------------------------------------------------
API_KEY = ResourceSpec(
    "ApiKey",
    "An additional API key of an API-key service account; api_key is always secret. The "
    "resource id stays the first key's id; key_id is the current key.",
    (
        *key_target("API-key"),
        *ROTATION_INPUTS,
        Field("key_id", STRING, "The current key's id.", kind="output", required=True),
        Field("api_key", STRING, "The current API key.", kind="output", secret=True),
        Field("created_at", STRING, "When the current key was created, as Skyflow says.",
              kind="output", required=True),
        Field("previous_api_key", STRING, "The previous API key, valid until "
              "previous_key_delete_after.", kind="output", secret=True),
        *ROTATION_OUTPUTS,
    ),
)

SERVICE_ACCOUNT_KEY = ResourceSpec(
    "ServiceAccountKey",
    "An additional key pair (credentials.json) of a JWT service account; private_key and "
    "credentials are always secret. The resource id stays the first key's id.",
    (
        *key_target("JWT"),
        *ROTATION_INPUTS,
        Field("key_id", STRING, "The current key's id.", kind="output", required=True),
        Field("private_key", STRING, "The current private key, PEM.", kind="output",
              secret=True),
        Field("credentials", STRING, "credentials.json text of the current key.", kind="output",
              secret=True),
        Field("valid_after", STRING, "When the current key became valid.", kind="output"),
        Field("valid_before", STRING, "When the current key expires (a year after creation).",
              kind="output"),
        Field("previous_private_key", STRING, "The previous private key, valid until "
              "previous_key_delete_after.", kind="output", secret=True),
        Field("previous_credentials", STRING, "credentials.json of the previous key.",
              kind="output", secret=True),
        *ROTATION_OUTPUTS,
    ),
)

# ----- Role / SystemRole -------------------------------------------------------------------------
VAULT_ID = Field("vault_id", STRING, "The vault. Changing it replaces the object.",
                 required=True, replaces=True)

ROLE = ResourceSpec(
    "Role",
    "A custom role on a vault. Data access comes from policies attached to it "
    "(PolicyAssignment).",
    (
        VAULT_ID,
        Field("name", STRING, "Unique per vault; letters, digits, _ - . (not a system role "
              "name). Updates in place.", required=True),
        DISPLAY_NAME,
        DESCRIPTION,
        Field("permissions", list_of(STRING), "Permission strings such as vaults.read:upstream. "
              "Updates in place.", default=[]),
        Field("levels", list_of(STRING), "Levels the role applies at (e.g. VAULT). Updates in "
              "place.", default=[]),
        adopt_field("custom role", "its definition is set to the declared one."),
        NAMESPACE,
    ),
)

SYSTEM_ROLE = ResourceSpec(
    "SystemRole",
    "Look-up of a vault's built-in role (VAULT_EDITOR, ...): creates and deletes nothing in "
    "Skyflow; id and role_id are the role's id.",
    (
        Field("vault_id", STRING, "The vault whose built-in role to find.", required=True,
              replaces=True),
        Field("name", enum_of(SYSTEM_ROLE_NAME),
              "A system role name: VAULT_OWNER, VAULT_EDITOR, VAULT_VIEWER, "
              "PIPELINE_MANAGER, CONNECTION_MANAGER.", required=True, replaces=True),
        Field("role_id", STRING, "The role's id in that vault.", kind="output", required=True),
    ),
)

# ----- Policy ------------------------------------------------------------------------------------
POLICY_RULE = ObjectSpec(
    "PolicyRule",
    "One rule. Give exactly one target (columns, table or column_groups), or only a "
    "rule_expression.",
    (
        Field("name", STRING, "Unique within the policy; letters and digits only.",
              required=True),
        Field("effect", enum_of(POLICY_EFFECT), "ALLOW (default) or DENY."),
        Field("actions", list_of(enum_of(POLICY_ACTION)),
              "READ, CREATE, UPDATE, DELETE, TOKENIZATION, "
              "DETOKENIZATION or ALL."),
        Field("columns", list_of(STRING), "Column rule: table.column names (table.* for all "
              "columns)."),
        Field("table", STRING, "Table rule: the table name."),
        Field("column_groups", list_of(STRING), "Column-group rule: group names."),
        Field("redaction", enum_of(REDACTION),
              "DEFAULT, REDACTED, MASKED or PLAIN_TEXT (column and "
              "column-group rules)."),
        Field("row_filter", STRING, "SQL expression filtering rows."),
        Field("rule_expression", STRING, "Skyflow's rule text; used instead of the structured "
              "fields."),
    ),
)

POLICY = ResourceSpec(
    "Policy",
    "A vault policy (rules and an active flag). Attach it to roles with PolicyAssignment.",
    (
        VAULT_ID,
        Field("name", STRING, "Letters and digits only. Updates in place.", required=True),
        DISPLAY_NAME,
        DESCRIPTION,
        Field("rules", list_of(object_of(POLICY_RULE)), "1 to 100 rules with unique names. "
              "Updates in place (dropped rules are deleted).", required=True),
        Field("active", BOOL, "Enforced when true. Toggled in place through the status "
              "endpoint.", default=True),
        adopt_field("policy", "its name, descriptions, rules (matched by name, keeping their "
                    "ids) and status are set to the declared ones."),
        Field("status", STRING, "ACTIVE or INACTIVE, as Skyflow reports it.",
              kind="output", required=True),
        NAMESPACE,
        Field("rule_ids", map_of(STRING), "Skyflow's id of each rule, by rule name.",
              kind="output", required=True),
    ),
)

# ----- assignments -------------------------------------------------------------------------------
ROLE_ASSIGNMENT = ResourceSpec(
    "RoleAssignment",
    "Grants a role to a service account or user; id = <role id>:<member id>. Give role_id, or "
    "vault_id and role_name; and service_account_id, or member_id and member_type.",
    (
        Field("role_id", STRING, "The role (a Role's or SystemRole's id). Changing it "
              "replaces.", replaces=True),
        Field("vault_id", STRING, "With role_name: the vault whose role to assign. Changing it "
              "replaces.", replaces=True),
        Field("role_name", STRING, "With vault_id: a role name such as VAULT_EDITOR. Changing "
              "it replaces.", replaces=True),
        Field("service_account_id", STRING, "The member, when it is a service account. "
              "Changing it replaces.", replaces=True),
        Field("member_id", STRING, "The member's id, for users (with member_type USER). "
              "Changing it replaces.", replaces=True),
        Field("member_type", enum_of(MEMBER_TYPE), "SERVICE_ACCOUNT or USER. Changing it replaces.",
              default="SERVICE_ACCOUNT", replaces=True),
        Field("condition", STRING, "Optional CEL condition (request.context, request.time, "
              "request.originIP). Updates in place (unassign, then assign)."),
        Field("resolved_role_id", STRING, "The role id actually assigned (also when given by "
              "name).", kind="output", required=True),
        Field("resolved_member_id", STRING, "The member id actually assigned.",
              kind="output", required=True),
    ),
    delete_before_replace=True,
)

# ----- StsConfig (keyless: docs/keyless.md) ------------------------------------------------------
STS_CONFIG = ResourceSpec(
    "StsConfig",
    "Skyflow's STS configuration: tokens of one OIDC issuer (GitHub Actions, GitLab, a "
    "Kubernetes cluster) may be exchanged for tokens of the listed (keyless) service accounts. "
    "STS has no audience or subject restriction: for an issuer shared by many tenants, put the "
    "identifying claims in context_claims and require them in the role assignments' condition "
    "(the Python components GitHubActionsIdentity and KubernetesIdentity do both).",
    (
        Field("name", STRING, "Unique name in the account. Updates in place.", required=True),
        DESCRIPTION,
        Field("issuer", STRING, "The OIDC issuer (the tokens' iss), an https URL, e.g. "
              "https://token.actions.githubusercontent.com. Updates in place.", required=True),
        Field("public_key_jwk_uri", STRING, "Where the issuer's signing keys (JWKS) are, an "
              "https URL (Skyflow's publicKeyJWKURI), e.g. https://token.actions."
              "githubusercontent.com/.well-known/jwks. Updates in place."),
        Field("service_account_ids", list_of(STRING), "The service accounts whose tokens the "
              "issuer's tokens may be exchanged for; at least one. Updates in place.",
              required=True),
        Field("context_claims", list_of(STRING), "Claims of the subject token copied into the "
              "Skyflow token's ctx (request.context in conditions), e.g. repository, ref, "
              "environment; claims a token lacks are dropped. Updates in place.", default=[]),
        adopt_field("STS config", "its settings are set to the declared ones."),
        NAMESPACE,
    ),
)

POLICY_ASSIGNMENT = ResourceSpec(
    "PolicyAssignment",
    "Attaches a policy to a set of roles; id = the policy id. Changing the role set is an "
    "in-place update.",
    (
        Field("policy_id", STRING, "The policy (a Policy's id). Changing it replaces the "
              "assignment.", required=True, replaces=True),
        Field("role_ids", list_of(STRING), "Roles that get the policy (Role or SystemRole "
              "ids); at least one. Updates in place.", required=True),
    ),
    delete_before_replace=True,
)

#: Every resource, in the order docs and the schema list them.
RESOURCES: tuple[ResourceSpec, ...] = (
    SERVICE_ACCOUNT, API_KEY, SERVICE_ACCOUNT_KEY, ROLE, SYSTEM_ROLE, POLICY, ROLE_ASSIGNMENT,
    POLICY_ASSIGNMENT, STS_CONFIG, VAULT, USER,
)

#: Functions (invokes), by the name in their token ``skyflow:index:<name>``: the spec whose
#: inputs are the arguments and whose inputs and outputs are the result, and a description.
FUNCTIONS: dict[str, tuple[ResourceSpec, str]] = {
    "getSystemRole": (SYSTEM_ROLE, "The id of a vault's built-in role (VAULT_EDITOR, ...); "
                      "creates nothing."),
    "getWorkspace": (WORKSPACE, "A workspace of the account by id or name (with neither, the "
                     "account's only workspace): its URL and cluster id; creates nothing."),
}

# ----- provider configuration (the ``skyflow:`` keys; api/settings.py reads them) -------------
PROVIDER_CONFIG: tuple[Field, ...] = (
    Field("account_id", STRING, "The Skyflow account id (env SKYFLOW_ACCOUNT_ID)."),
    Field("management_url", STRING, "Management API base URL (env SKYFLOW_MANAGEMENT_URL; "
          "default https://manage.skyflowapis.com)."),
    Field("credentials", STRING, "credentials.json text of a service account (env "
          "SKYFLOW_CREDENTIALS).", secret=True),
    Field("credentials_file", STRING, "Path to a credentials.json (env "
          "SKYFLOW_CREDENTIALS_FILE)."),
    Field("api_key", STRING, "An API key instead of credentials (env SKYFLOW_API_KEY).",
          secret=True),
    Field("bearer_token", STRING, "A ready bearer token instead of credentials (env "
          "SKYFLOW_BEARER_TOKEN).", secret=True),
    Field("ca_bundle", STRING, "PEM file of extra trusted CAs, e.g. the emulator's (env "
          "SKYFLOW_CA_BUNDLE)."),
    Field("vault_id", STRING, "Default vault id for programs that read it (env "
          "SKYFLOW_VAULT_ID)."),
    Field("key_drift_report", BOOL, "Refresh lists each service account's keys to report keys "
          "deleted or added outside Pulumi: one more GET per account (env "
          "SKYFLOW_KEY_DRIFT_REPORT; default true)."),
    Field("adopt_own_orphans", BOOL, "A create that repeats a killed `pulumi up`'s takes over "
          "the object of its name that a run of this stack created (Skyflow's audit log proves "
          "it) and no state holds (env SKYFLOW_ADOPT_OWN_ORPHANS; default true; false: such a "
          "create fails naming the object; docs/reliability.md)."),
    # keyless (docs/keyless.md)
    Field("oidc_token_source", STRING, "Keyless: where the workload's OIDC token comes from, "
          "exchanged at Skyflow's STS instead of any credential: github-actions, file:PATH "
          "(re-read each time, e.g. a Kubernetes projected token), env:VARIABLE (GitLab "
          "id_tokens) or command:COMMAND (env SKYFLOW_OIDC_TOKEN_SOURCE)."),
    Field("oidc_service_account_id", STRING, "Keyless: the keyless service account the STS "
          "config lists, whose token is asked for (env SKYFLOW_OIDC_SERVICE_ACCOUNT_ID)."),
    Field("oidc_audience", STRING, "Keyless, github-actions: the audience of the requested "
          "GitHub ID token (env SKYFLOW_OIDC_AUDIENCE; default the stack's tag, ownerTag, which "
          "lets recovery prove what a killed keyless run made: docs/keyless.md)."),
    Field("shared_issuers", STRING, "More OIDC issuers shared by many tenants, comma-separated: "
          "an StsConfig trusting one must carry sub in context_claims (env "
          "SKYFLOW_SHARED_ISSUERS; GitHub Actions, GitLab.com, Bitbucket Pipelines, CircleCI and "
          "Terraform Cloud are always checked)."),
    Field("owner_tag", STRING, "The context identifier (ctx) of the provider's own token, which "
          "names this stack in Skyflow's audit log: automatic recovery deletes or takes over "
          "only what a token with this tag created (env SKYFLOW_OWNER_TAG; default "
          "pulumi:<project>/<stack>; set it when stacks of the same project and stack name in "
          "different backends share one Skyflow account and identity; docs/reliability.md). "
          "Keyless: it is asked for as the OIDC token's audience, and the proof is the ctx the "
          "STS gives when that ctx carries it as aud (docs/keyless.md)."),
)
