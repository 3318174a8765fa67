"""The Data API slice over HTTP: insert, get by skyflow_ids, detokenize."""

from __future__ import annotations

from typing import Any

from ..context import Ctx
from ..errors import bad_request
from ..models.records import Records, redact


def _context(ctx: Ctx) -> Any:
    return ctx.principal.context if ctx.principal else None


def insert(ctx: Ctx) -> dict[str, Any]:
    """``{"records": [{"skyflow_id", "tokens"?}]}``; tokens only with ``tokenization: true``."""
    body = ctx.body()
    rows = Records(ctx.state).insert(ctx.params["vaultID"], ctx.params["table"],
                                     body.get("records"), body.get("tokenization"),
                                     _context(ctx))
    out = []
    for row in rows:
        item: dict[str, Any] = {"skyflow_id": row["skyflow_id"]}
        if row["tokenized"]:
            item["tokens"] = dict(row["tokens"])
        out.append(item)
    return {"records": out}


def bulk_get(ctx: Ctx) -> dict[str, Any]:
    """``{"records": [{"fields": {..., "skyflow_id"}}]}`` with the redaction applied."""
    args = ctx.request.args
    if args.get("tokenization") in ("true", "True", "1"):
        raise bad_request("tokenization: not supported by the emulator")
    rows, mode = Records(ctx.state).get(ctx.params["vaultID"], ctx.params["table"],
                                        args.getlist("skyflow_ids"), args.get("redaction"),
                                        _context(ctx))
    out = []
    for row in rows:
        fields = {k: redact(v, mode) for k, v in row["fields"].items()}
        fields["skyflow_id"] = row["skyflow_id"]
        out.append({"fields": fields})
    return {"records": out}


def detokenize(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    records = Records(ctx.state).detokenize(ctx.params["vaultID"],
                                            body.get("detokenizationParameters"),
                                            body.get("continueOnError"), _context(ctx))
    return {"records": records}
