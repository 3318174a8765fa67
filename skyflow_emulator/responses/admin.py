"""/_emulator/*: health, fault settings and the key stock (the admin-token routes)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from ..context import Ctx
from ..errors import ApiError
from ..faults import FaultConfig


def health(ctx: Ctx) -> dict[str, Any]:
    return {"status": "ok", "accountID": ctx.account_id}


def get_faults(ctx: Ctx) -> dict[str, Any]:
    return asdict(ctx.state.faults.config)


def set_faults(ctx: Ctx) -> dict[str, Any]:
    """Partial JSON: keys not given keep their value; unknown keys or bad values are 400."""
    try:
        data = json.loads(ctx.request.get_data() or b"{}")
        if not isinstance(data, dict):
            raise ApiError(400, "body must be a JSON object")
        config = FaultConfig.from_dict(data, ctx.state.faults.config)
    except ValueError:
        raise ApiError(400, "body is not valid JSON") from None
    ctx.state.faults.update(config)
    return asdict(config)


def key_stock(ctx: Ctx) -> dict[str, Any]:
    """The stock of pre-generated RSA pairs: level, size, pairs served from it and inline."""
    return ctx.state.keys.status()
