"""``count`` service accounts for the kill-and-heal tests (issue 16).

Config: ``prefix`` (names), ``count``, ``trigger`` (their ``rotation_trigger``: changing it
rotates every key), ``exclusive`` ("true": ``exclusive_keys``), ``keys`` ("1": each account gets
one extra ``ServiceAccountKey`` too).
"""

from __future__ import annotations

import pulumi

from skyflow_provider import ServiceAccount, ServiceAccountKey

cfg = pulumi.Config()
prefix = cfg.get("prefix") or "h"
count = cfg.get_int("count") or 1
trigger = cfg.get("trigger") or "a"
exclusive = (cfg.get("exclusive") or "").lower() == "true"
extra_keys = cfg.get_int("keys") or 0

for i in range(count):
    sa = ServiceAccount(f"sa-{i}", name=f"{prefix}-sa-{i}", rotation_trigger=trigger,
                        exclusive_keys=exclusive or None)
    pulumi.export(f"sa-{i}_id", sa.id)
    for k in range(extra_keys):
        ServiceAccountKey(f"sa-{i}-key-{k}", service_account=sa)
