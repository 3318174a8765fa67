"""make bench stack: N service accounts, each with one VAULT_VIEWER role assignment.

Config (set by benchmarks/run.py): ``mode`` (``skyflow`` or ``floor``: same shape, no API),
``n``, ``prefix`` (unique Skyflow names per run), ``rev`` (changing it updates every
display_name in place), ``vaultId``.
"""

import pulumi

cfg = pulumi.Config()
mode = cfg.require("mode")
n = cfg.require_int("n")
prefix = cfg.require("prefix")
rev = cfg.get("rev") or "a"
vault_id = cfg.require("vaultId")

if mode == "skyflow":
    from skyflow_provider import RoleAssignment as Assignment
    from skyflow_provider import ServiceAccount as Account
else:
    from benchmarks.floor_provider import FloorAccount as Account  # type: ignore[assignment]
    from benchmarks.floor_provider import FloorAssignment as Assignment  # type: ignore[assignment]

for i in range(n):
    name = f"{prefix}-sa-{i:04d}"
    sa = Account(f"sa-{i}", name=name, display_name=f"{name} rev {rev}",
                 description="make bench")
    Assignment(f"ra-{i}", service_account_id=sa.id, vault_id=vault_id, role_name="VAULT_VIEWER")
