"""The account's vaults (with their typed schema), people and workspaces, declared once
(``declarations.py`` registers them in ``RESOURCES`` and ``FUNCTIONS``).
"""

from __future__ import annotations

from .field_groups import DATA_TYPE, DESCRIPTION, NAMESPACE, adopt_field
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

SETTINGS_TAGS = map_of(list_of(STRING))

VAULT_COLUMN = ObjectSpec(
    "VaultColumn",
    "One column of a vault table (Skyflow's field).",
    (
        Field("name", STRING, "Lowercase letters, digits, '_' and '-', starting with a letter; "
              "unique in its table. Not skyflow_id: Skyflow adds that column to every table.",
              required=True),
        Field("datatype", enum_of(DATA_TYPE),
              "Skyflow's data type (the spec's v1DataType): DT_STRING, DT_INT32, DT_INT64, "
              "DT_FLOAT64, DT_BOOL, DT_DATE, DT_DATETIME, ... Changing it is a destructive "
              "schema change.", default="DT_STRING"),
        Field("is_array", BOOL, "The column holds a list of values. Changing it is a "
              "destructive schema change.", default=False),
        Field("description", STRING, "Free text shown in Studio.", default=""),
        Field("tags", SETTINGS_TAGS, "Skyflow column settings, tag name -> values: "
              "tokenization (skyflow.options.default_token_policy), redaction "
              "(skyflow.options.default_dlp_policy), validation (skyflow.validation.*), ...",
              default={}),
    ),
)

VAULT_TABLE = ObjectSpec(
    "VaultTable",
    "One table of a vault (Skyflow's schema). Every table also has Skyflow's skyflow_id column.",
    (
        Field("name", STRING, "Lowercase letters, digits, '_' and '-', starting with a letter; "
              "unique in the vault.", required=True),
        Field("columns", list_of(object_of(VAULT_COLUMN)), "At least one column, names unique.",
              required=True),
        Field("description", STRING, "Free text shown in Studio.", default=""),
        Field("tags", SETTINGS_TAGS, "Table-level Skyflow settings (schemaTags), tag name -> "
              "values.", default={}),
    ),
)

VAULT_SCHEMA = ObjectSpec(
    "VaultSchema",
    "A vault's tables and vault-level settings. Adding a table or a column updates the vault "
    "in place; removing or retyping one is destructive (allow_destructive_schema_changes).",
    (
        Field("tables", list_of(object_of(VAULT_TABLE)), "At least one table, names unique.",
              required=True),
        Field("tags", SETTINGS_TAGS, "Vault-level Skyflow settings, tag name -> values.",
              default={}),
    ),
)

VAULT = ResourceSpec(
    "Vault",
    "A Skyflow vault from a typed schema (or a template) in a workspace. Deleting a vault "
    "deletes its data, so deletion_protection is on by default.",
    (
        Field("name", STRING, "Letters, digits and '-' (Skyflow allows no spaces or "
              "underscores); unique in its workspace. Updates in place.", required=True),
        DESCRIPTION,
        Field("workspace_id", STRING, "The workspace to create the vault in (get_workspace); "
              "default: the account's only workspace. Changing it replaces the vault, which "
              "deletion_protection refuses.", replaces=True),
        Field("schema", object_of(VAULT_SCHEMA), "The tables, columns, data types and tags. "
              "Give schema or template_id. Additions update in place; removals and retyping "
              "need allow_destructive_schema_changes."),
        Field("template_id", STRING, "Create from a vault template instead of a schema (GET "
              "/v1/vault-templates); only used at creation, and the schema is then not "
              "managed.", compared=False),
        Field("deletion_protection", BOOL, "While true, destroying or replacing the vault is "
              "refused at preview (the Python resource also sets Pulumi's protect option). Set "
              "it to false and run `pulumi up` before deleting the vault. Updates in place.",
              default=True),
        Field("allow_destructive_schema_changes", BOOL, "Let an update remove tables or "
              "columns, or change a column's datatype or is_array (their data is lost; Skyflow "
              "itself refuses this for columns holding data). Without it such a change is "
              "refused at preview, naming the table or column.", default=False),
        adopt_field("vault", "its name, description and schema are set to the declared ones "
                    "(destructive changes need allow_destructive_schema_changes)."),
        Field("vault_url", STRING, "Where the vault's Data API answers: its workspace's URL "
              "(the vaultURL of Skyflow's SDKs).", kind="output", required=True),
        Field("cluster_id", STRING, "The cluster id in vault_url (its first host label for "
              "<cluster>.vault.skyflowapis.*); empty when the URL has none.", kind="output"),
        NAMESPACE,
        Field("status", STRING, "As Skyflow reports it (ACTIVE, ...).", kind="output",
              required=True),
    ),
)

USER = ResourceSpec(
    "User",
    "A person in the account (a Studio user), invited by email and removed on delete. Grant "
    "roles with RoleAssignment(member_id=user.id, member_type=\"USER\").",
    (
        Field("email", STRING, "The person's email address (Skyflow sends the invitation "
              "there). An email cannot change: a new one replaces the user.", required=True,
              replaces=True),
        Field("name", STRING, "The person's name as Studio shows it. Updates in place.",
              required=True),
        Field("active", BOOL, "False deactivates the user without removing them. Updates in "
              "place.", default=True),
        adopt_field("user", "its name and status are set to the declared ones."),
        Field("status", STRING, "ACTIVE, INACTIVE, or PENDING until the invitation is "
              "accepted, as Skyflow reports it (read again by pulumi refresh).",
              kind="output", required=True),
    ),
    delete_before_replace=True,
)

#: ``get_workspace`` / ``skyflow:index:getWorkspace``: its inputs are the arguments, inputs and
#: outputs the result. Not a resource: nothing is created.
WORKSPACE = ResourceSpec(
    "Workspace",
    "A workspace of the account (where vaults live), looked up by id or name.",
    (
        Field("id", STRING, "The workspace's id. Give id or name; with neither, the account's "
              "only workspace."),
        Field("name", STRING, "The workspace's name."),
        Field("display_name", STRING, "Shown in Studio.", kind="output"),
        Field("description", STRING, "Free text.", kind="output"),
        Field("url", STRING, "The workspace's URL: where its vaults' Data API answers (the "
              "vaultURL of Skyflow's SDKs).", kind="output", required=True),
        Field("cluster_id", STRING, "The cluster id in url (its first host label for "
              "<cluster>.vault.skyflowapis.*); empty when the URL has none.", kind="output"),
        Field("region_id", STRING, "The workspace's region.", kind="output"),
        Field("type", STRING, "SANDBOX, PRODUCTION or NONE_TYPE.", kind="output"),
        Field("status", STRING, "As Skyflow reports it.", kind="output"),
        Field("namespace", STRING, "Skyflow's namespace of the workspace.", kind="output"),
    ),
)
