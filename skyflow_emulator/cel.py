"""A small, safe subset of CEL for role-assignment conditions.

Supported: ``||``, ``&&``, ``!``, parentheses, ``== != < <= > >= in``, string/number/bool/null
and list literals, ``timestamp('RFC3339')``, and the variables ``request.time``,
``request.context`` (the token's ``ctx``; ``request.context.key`` or ``request.context['key']``)
and ``request.originIP``. Anything else is refused when the assignment is made. At evaluation a
missing key or a type mismatch makes the condition false (fail closed), as a CEL error would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

TOKEN_RE = re.compile(r"""\s*(?:
    (?P<num>\d+(?:\.\d+)?)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>\|\||&&|==|!=|<=|>=|<|>|!|\(|\)|\[|\]|\.|,)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
)""", re.VERBOSE)
MAX_LEN = 4096


class CelError(ValueError):
    pass


class _EvalError(Exception):
    pass


@dataclass(frozen=True)
class Env:
    time: datetime
    context: Any
    origin_ip: str | None


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise CelError(f"unexpected character at {pos}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    """Recursive descent into a tiny AST of tuples."""

    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise CelError(f"expected {value or 'more input'}")
        self.i += 1
        return tok

    def parse(self) -> Any:
        node = self.or_()
        if self.peek() is not None:
            raise CelError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def or_(self) -> Any:
        node = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            node = ("or", node, self.and_())
        return node

    def and_(self) -> Any:
        node = self.unary()
        while self.peek() == ("op", "&&"):
            self.take()
            node = ("and", node, self.unary())
        return node

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return ("not", self.unary())
        return self.cmp()

    def cmp(self) -> Any:
        left = self.term()
        tok = self.peek()
        if tok and (tok[1] in ("==", "!=", "<", "<=", ">", ">=") or tok == ("ident", "in")):
            self.take()
            return ("cmp", tok[1], left, self.term())
        return left

    def term(self) -> Any:
        kind, value = self.take()
        if value == "(" and kind == "op":
            node = self.or_()
            self.take(")")
            return node
        if kind == "num":
            return ("lit", float(value))
        if kind == "str":
            return ("lit", bytes(value[1:-1], "utf-8").decode("unicode_escape"))
        if value == "[" and kind == "op":
            items = []
            while self.peek() != ("op", "]"):
                items.append(self.term())
                if self.peek() == ("op", ","):
                    self.take()
            self.take("]")
            return ("list", items)
        if kind == "ident":
            if value in ("true", "false"):
                return ("lit", value == "true")
            if value == "null":
                return ("lit", None)
            if value == "timestamp":
                self.take("(")
                _, raw = self.take()
                self.take(")")
                try:
                    return ("lit", datetime.fromisoformat(raw[1:-1].replace("Z", "+00:00")))
                except ValueError:
                    raise CelError(f"bad timestamp {raw}") from None
            if value != "request":
                raise CelError(f"unknown identifier {value!r}")
            path: list[str] = []
            while self.peek() in (("op", "."), ("op", "[")):
                if self.take()[1] == ".":
                    path.append(self.take()[1])
                else:
                    k, raw = self.take()
                    if k != "str":
                        raise CelError("index must be a string")
                    path.append(raw[1:-1])
                    self.take("]")
            if not path or path[0] not in ("time", "context", "originIP"):
                raise CelError("variables are request.time, request.context, request.originIP")
            return ("var", path)
        raise CelError(f"unexpected {value!r}")


def compile_condition(text: str) -> Any:
    """Parse or raise ``CelError`` naming what is unsupported."""
    if len(text) > MAX_LEN:
        raise CelError("condition too long")
    return _Parser(text).parse()


def _value(node: Any, env: Env) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "list":
        return [_value(n, env) for n in node[1]]
    if kind == "var":
        path = node[1]
        root: Any = {"time": env.time, "context": env.context, "originIP": env.origin_ip}
        value = root[path[0]]
        for key in path[1:]:
            if not isinstance(value, dict) or key not in value:
                raise _EvalError(key)
            value = value[key]
        return value
    return _truth(node, env)


def _truth(node: Any, env: Env) -> bool:
    kind = node[0]
    if kind == "or":
        return _truth(node[1], env) or _truth(node[2], env)
    if kind == "and":
        return _truth(node[1], env) and _truth(node[2], env)
    if kind == "not":
        return not _truth(node[1], env)
    if kind == "cmp":
        op, a, b = node[1], _value(node[2], env), _value(node[3], env)
        if isinstance(a, (int, float)) and not isinstance(a, bool):
            a = float(a)
        if isinstance(b, (int, float)) and not isinstance(b, bool):
            b = float(b)
        if op == "==":
            return bool(a == b)
        if op == "!=":
            return bool(a != b)
        if op == "in":
            if not isinstance(b, (list, dict, str)):
                raise _EvalError("in")
            return a in b
        if type(a) is not type(b) or a is None:
            raise _EvalError("ordering")
        return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])
    value = _value(node, env)
    if not isinstance(value, bool):
        raise _EvalError("not a bool")
    return value


def evaluate(text: str, env: Env) -> bool:
    """True only if the condition parses and evaluates to true (errors fail closed)."""
    try:
        return _truth(compile_condition(text), env)
    except (CelError, _EvalError, TypeError, KeyError):
        return False
