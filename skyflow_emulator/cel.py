"""Role-assignment conditions, evaluated with CEL's own implementation (``cel-expr-python``,
the CEL project's Python binding of cel-cpp: parser, type checker and evaluator).

Why a library, and why this one: keyless access rests on these conditions (a GitHub token from
another repository must get a Skyflow token that can do nothing), so they must mean exactly what
CEL says they mean. ``cel-expr-python`` is the only Python CEL with a static type checker, so an
assignment whose condition names an unknown variable, does not parse, or is not a boolean is
refused when it is made (400), as Skyflow's spec describes the field: "a CEL expression ...
the role assignment only applies when the condition evaluates to ``true``".

The declared variables are the three the spec lists: ``request.time`` (timestamp),
``request.context`` (the token's ``ctx``: a string or an object, so ``dyn``) and
``request.originIP`` (string). At evaluation any CEL error (a missing key, a type mismatch) or a
non-true result makes the condition false: fail closed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cel_expr_python import cel

MAX_LEN = 4096
_CACHE_SIZE = 1024

_ENV = cel.NewEnv(variables={
    "request.time": cel.Type.TIMESTAMP,
    "request.context": cel.Type.DYN,
    "request.originIP": cel.Type.STRING,
})
_lock = threading.Lock()
_compiled: dict[str, Any] = {}


class CelError(ValueError):
    """The condition is not a valid, boolean CEL expression over the declared variables."""


@dataclass(frozen=True)
class Env:
    """The request a condition is evaluated against."""

    time: datetime
    context: Any
    origin_ip: str | None


def _first_error(message: str) -> str:
    """cel-cpp's report without its source echo: ``<input>:1:5: undeclared reference ...``."""
    text = message.replace("INVALID_ARGUMENT: ", "").strip()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("ERROR: "):
            return line[len("ERROR: "):].replace("<input>:", "at ")
    return text.splitlines()[0] if text else "invalid expression"


def compile_condition(text: str) -> Any:
    """Parse and type-check; raise ``CelError`` naming the problem. Cached per text."""
    if len(text) > MAX_LEN:
        raise CelError("condition too long")
    with _lock:
        known = _compiled.get(text)
        if known is not None:
            return known
        try:
            expr = _ENV.compile(text)
        except (RuntimeError, ValueError) as exc:
            raise CelError(_first_error(str(exc))) from None
        result = str(expr.return_type())
        if result not in ("BOOL", "DYN"):
            raise CelError(f"the expression is of type {result.lower()}, not bool")
        if len(_compiled) >= _CACHE_SIZE:
            _compiled.clear()
        _compiled[text] = expr
        return expr


def evaluate(text: str, env: Env) -> bool:
    """True only if the condition compiles and evaluates to true (errors fail closed)."""
    try:
        expr = compile_condition(text)
        value = expr.eval(data={
            "request.time": env.time,
            "request.context": env.context,
            "request.originIP": env.origin_ip or "",
        })
    except (CelError, RuntimeError, ValueError, TypeError):
        return False
    return str(value.type()) == "BOOL" and value.value() is True
