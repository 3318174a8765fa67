"""Role-assignment conditions checked by CEL's own implementation at preview.

Why here and not at the first ``up``: keyless access rests on these conditions, so a typo
(``request.context.repo`` for ``repository``, a missing quote) must fail at preview, naming the
field, before any API call. ``cel-expr-python`` (cel-cpp's parser and type checker) is the one
Python CEL with a static checker; the emulator imports it on its own (no shared code).
"""

from __future__ import annotations

from typing import Any

from .base import is_unknown
from .checks import MAX_CONDITION, Failures, _fail, check_string

#: The variables Skyflow's spec lists for a role-assignment condition, with their CEL types.
CONDITION_VARIABLES = {
    "request.time": "timestamp",
    "request.context": "dyn (the token's ctx: a string or an object)",
    "request.originIP": "string",
}
_CEL_ENV: Any = None


def _cel_env() -> Any:
    """CEL's own checker (``cel-expr-python``, cel-cpp) with the declared variables; built once."""
    global _CEL_ENV
    if _CEL_ENV is None:
        from cel_expr_python import cel

        _CEL_ENV = cel.NewEnv(variables={
            "request.time": cel.Type.TIMESTAMP,
            "request.context": cel.Type.DYN,
            "request.originIP": cel.Type.STRING,
        })
    return _CEL_ENV


def _cel_message(raw: str) -> str:
    """The first ``ERROR:`` line of cel-cpp's report, positions as ``at 1:5``."""
    for line in raw.replace("INVALID_ARGUMENT: ", "").splitlines():
        line = line.strip()
        if line.startswith("ERROR: "):
            return line[len("ERROR: "):].replace("<input>:", "at ")
    return raw.strip().splitlines()[0] if raw.strip() else "invalid expression"


def check_condition(prop: str, value: Any) -> Failures:
    """A role-assignment condition: parsed and type-checked by CEL itself, before any API call.

    Refused: syntax errors, unknown variables or fields (only ``request.time``,
    ``request.context``, ``request.originIP``), operators applied to the wrong types, and any
    expression that is not known to be a bool (a bare ``request.context.flag`` is ``dyn``:
    compare it, ``request.context.flag == true``).
    """
    base = check_string(prop, value, max_len=MAX_CONDITION, allow_empty=False, single_line=False)
    if base or value is None or is_unknown(value):
        return base
    try:
        expr = _cel_env().compile(value)
    except (RuntimeError, ValueError) as exc:
        variables = ", ".join(CONDITION_VARIABLES)
        return _fail(prop, f"{prop} is not a valid CEL condition: {_cel_message(str(exc))}. "
                     f"The variables are {variables} (e.g. \"request.context.repository == "
                     "'org/repo'\")")
    result = str(expr.return_type()).lower()
    if result != "bool":
        hint = (" compare it with a value, e.g. `... == true` or `... == 'x'`"
                if result == "dyn" else " a condition must be true or false")
        return _fail(prop, f"{prop} is a CEL expression of type {result}, not bool:{hint}")
    return []
