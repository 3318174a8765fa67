"""SQLite storage in the data dir: WAL, one transaction per write, safe across threads.

A request's writes and its audit event commit together (``Store.request``): a crash after a
write but before its audit event would leave an object nobody can prove they made, and the
provider's recovery rests on that proof.

Objects are JSON documents in one table keyed by (kind, id) with a few indexed columns; the
relations (role members, policy-role attachments) have their own tables so that assignment is
idempotent by construction (primary keys).
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    account_id TEXT,
    parent TEXT,
    name TEXT,
    lookup TEXT,
    doc TEXT NOT NULL,
    UNIQUE (kind, id)
);
CREATE INDEX IF NOT EXISTS objects_parent ON objects (kind, parent);
CREATE INDEX IF NOT EXISTS objects_lookup ON objects (kind, lookup);
CREATE TABLE IF NOT EXISTS role_members (
    role_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    member_type TEXT NOT NULL,
    condition TEXT,
    seq INTEGER NOT NULL,
    PRIMARY KEY (role_id, member_id, member_type)
);
CREATE INDEX IF NOT EXISTS role_members_member ON role_members (member_id, member_type);
CREATE TABLE IF NOT EXISTS policy_roles (
    policy_id TEXT NOT NULL,
    role_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (policy_id, role_id)
);
CREATE INDEX IF NOT EXISTS policy_roles_role ON policy_roles (role_id);
CREATE TABLE IF NOT EXISTS audit_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    ctx TEXT, actor TEXT, jwt_id TEXT, method TEXT, uri TEXT, action TEXT, resource_type TEXT,
    api_name TEXT, request_id TEXT, change_id TEXT, code INTEGER,
    time TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_ctx ON audit_events (account_id, ctx);
CREATE INDEX IF NOT EXISTS audit_events_change ON audit_events (change_id);
CREATE TABLE IF NOT EXISTS audit_resources (
    resource_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (resource_id, seq)
);
"""

#: the columns of ``audit_events`` a query may match exactly
AUDIT_COLUMNS = ("ctx", "actor", "jwt_id", "method", "uri", "action", "resource_type",
                 "api_name", "request_id", "change_id")
#: enum values that mean "any" in a filter
AUDIT_ANY = {"NONE", "NONE_API"}


class Tx:
    """Typed helpers over one connection inside one transaction (or a read snapshot)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.c = conn

    # -- meta
    def meta_get(self, key: str) -> str | None:
        row = self.c.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def meta_set(self, key: str, value: str) -> None:
        self.c.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- objects
    def get(self, kind: str, obj_id: str) -> dict[str, Any] | None:
        row = self.c.execute(
            "SELECT doc FROM objects WHERE kind = ? AND id = ?", (kind, obj_id)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(
        self,
        kind: str,
        obj_id: str,
        doc: dict[str, Any],
        *,
        account_id: str | None = None,
        parent: str | None = None,
        name: str | None = None,
        lookup: str | None = None,
    ) -> None:
        self.c.execute(
            "INSERT INTO objects (kind, id, account_id, parent, name, lookup, doc) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, id) DO UPDATE SET "
            "account_id = excluded.account_id, parent = excluded.parent, name = excluded.name, "
            "lookup = excluded.lookup, doc = excluded.doc",
            (kind, obj_id, account_id, parent, name, lookup, json.dumps(doc)),
        )

    def lookup_of(self, kind: str, obj_id: str) -> str | None:
        row = self.c.execute("SELECT lookup FROM objects WHERE kind = ? AND id = ?",
                             (kind, obj_id)).fetchone()
        return None if row is None else row[0]

    def delete(self, kind: str, obj_id: str) -> bool:
        cur = self.c.execute("DELETE FROM objects WHERE kind = ? AND id = ?", (kind, obj_id))
        return cur.rowcount > 0

    def delete_children(self, kind: str, parent: str) -> int:
        """Every object of ``kind`` under ``parent`` (a deleted vault's records, ...)."""
        cur = self.c.execute("DELETE FROM objects WHERE kind = ? AND parent = ?", (kind, parent))
        return cur.rowcount

    def find(
        self,
        kind: str,
        *,
        account_id: str | None = None,
        parent: str | None = None,
        name: str | None = None,
        lookup: str | None = None,
    ) -> list[dict[str, Any]]:
        sql = "SELECT doc FROM objects WHERE kind = ?"
        args: list[Any] = [kind]
        for col, val in (("account_id", account_id), ("parent", parent), ("name", name),
                         ("lookup", lookup)):
            if val is not None:
                sql += f" AND {col} = ?"  # noqa: S608 - column names are fixed literals
                args.append(val)
        sql += " ORDER BY seq"
        return [json.loads(r[0]) for r in self.c.execute(sql, args).fetchall()]

    # -- role members
    def add_member(self, role_id: str, member_id: str, member_type: str,
                   condition: str | None) -> None:
        self.c.execute(
            "INSERT INTO role_members (role_id, member_id, member_type, condition, seq) "
            "VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM role_members)) "
            "ON CONFLICT (role_id, member_id, member_type) DO UPDATE SET "
            "condition = excluded.condition",
            (role_id, member_id, member_type, condition),
        )

    def remove_member(self, role_id: str, member_id: str, member_type: str) -> None:
        self.c.execute(
            "DELETE FROM role_members WHERE role_id = ? AND member_id = ? AND member_type = ?",
            (role_id, member_id, member_type),
        )

    def members_of(self, role_id: str) -> list[tuple[str, str, str | None]]:
        rows = self.c.execute(
            "SELECT member_id, member_type, condition FROM role_members WHERE role_id = ? "
            "ORDER BY seq", (role_id,)).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def roles_of(self, member_id: str, member_type: str) -> list[tuple[str, str | None]]:
        rows = self.c.execute(
            "SELECT role_id, condition FROM role_members WHERE member_id = ? AND member_type = ? "
            "ORDER BY seq", (member_id, member_type)).fetchall()
        return [(r[0], r[1]) for r in rows]

    def drop_member_everywhere(self, member_id: str, member_type: str) -> None:
        self.c.execute("DELETE FROM role_members WHERE member_id = ? AND member_type = ?",
                       (member_id, member_type))

    def drop_role_members(self, role_id: str) -> None:
        self.c.execute("DELETE FROM role_members WHERE role_id = ?", (role_id,))

    # -- policy <-> role
    def attach(self, policy_id: str, role_id: str) -> None:
        self.c.execute(
            "INSERT OR IGNORE INTO policy_roles (policy_id, role_id, seq) "
            "VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM policy_roles))",
            (policy_id, role_id),
        )

    def detach(self, policy_id: str, role_id: str) -> None:
        self.c.execute("DELETE FROM policy_roles WHERE policy_id = ? AND role_id = ?",
                       (policy_id, role_id))

    def roles_of_policy(self, policy_id: str) -> list[str]:
        rows = self.c.execute("SELECT role_id FROM policy_roles WHERE policy_id = ? ORDER BY seq",
                              (policy_id,)).fetchall()
        return [r[0] for r in rows]

    def policies_of_role(self, role_id: str) -> list[str]:
        rows = self.c.execute("SELECT policy_id FROM policy_roles WHERE role_id = ? ORDER BY seq",
                              (role_id,)).fetchall()
        return [r[0] for r in rows]

    def drop_policy_links(self, *, policy_id: str | None = None,
                          role_id: str | None = None) -> None:
        if policy_id is not None:
            self.c.execute("DELETE FROM policy_roles WHERE policy_id = ?", (policy_id,))
        if role_id is not None:
            self.c.execute("DELETE FROM policy_roles WHERE role_id = ?", (role_id,))


    # -- audit log
    def audit_add(self, event: dict[str, Any], resource_ids: list[str]) -> None:
        ctx, req = event["context"], event["request"]
        cur = self.c.execute(
            "INSERT INTO audit_events (account_id, ctx, actor, jwt_id, method, uri, action, "
            "resource_type, api_name, request_id, change_id, code, time, doc) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (event["accountID"], ctx["bearerTokenContextID"], ctx["actor"], ctx["jwtID"],
             req["httpInfo"]["method"], req["httpInfo"]["URI"], req["actionType"],
             req["resourceType"], req["apiName"], ctx["requestID"], ctx["changeID"],
             event["response"]["code"], req["timestamp"], json.dumps(event)))
        self.c.executemany("INSERT OR IGNORE INTO audit_resources (resource_id, seq) "
                           "VALUES (?, ?)", [(r, cur.lastrowid) for r in resource_ids])

    def audit_find(self, *, account_id: str, columns: dict[str, str | None], code: int | None,
                   resource_ids: list[str] | None, start: str | None, end: str | None,
                   after: str | None, descending: bool, limit: int, offset: int
                   ) -> list[dict[str, Any]]:
        """Events matching every given column exactly (and any of ``resource_ids``)."""
        sql = "SELECT doc FROM audit_events WHERE account_id = ?"
        args: list[Any] = [account_id]
        for col, val in columns.items():
            if col not in AUDIT_COLUMNS:
                raise ValueError(col)
            if val is not None and val not in AUDIT_ANY:
                sql += f" AND {col} = ?"  # noqa: S608 - checked against AUDIT_COLUMNS
                args.append(val)
        if code is not None:
            sql += " AND code = ?"
            args.append(code)
        if resource_ids:
            marks = ", ".join("?" for _ in resource_ids)
            sql += (" AND seq IN (SELECT seq FROM audit_resources "  # noqa: S608 - placeholders
                    f"WHERE resource_id IN ({marks}))")
            args += resource_ids
        if start:
            sql += " AND time >= ?"
            args.append(start)
        if end:
            sql += " AND time <= ?"
            args.append(end)
        if after:
            sql += " AND seq > COALESCE((SELECT seq FROM audit_events WHERE change_id = ?), 0)"
            args.append(after)
        sql += f" ORDER BY seq {'DESC' if descending else 'ASC'} LIMIT ? OFFSET ?"
        args += [limit, offset]
        return [json.loads(r[0]) for r in self.c.execute(sql, args).fetchall()]


class _Unit:
    """One request's open write transaction (opened by its first write)."""

    def __init__(self) -> None:
        self.conn: sqlite3.Connection | None = None


class Store:
    """A small pool of SQLite connections; writes are serialised by one lock."""

    def __init__(self, path: Path, pool_size: int = 16) -> None:
        self.path = path
        self._write_lock = threading.Lock()
        self._pool: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._created = 0
        self._pool_size = pool_size
        self._create_lock = threading.Lock()
        self._local = threading.local()
        conn = self._connect()
        conn.executescript(SCHEMA)
        self._pool.put(conn)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash (kill -9); only power loss can drop the
        # last commits, which is not a failure mode the emulator needs to model.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        with self._create_lock:
            self._created += 1
        return conn

    def _take(self) -> sqlite3.Connection:
        try:
            return self._pool.get_nowait()
        except queue.Empty:
            return self._connect()

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn = self._take()
        try:
            yield conn
        finally:
            self._give(conn)

    def _unit(self) -> _Unit | None:
        unit: _Unit | None = getattr(self._local, "unit", None)
        return unit

    @contextmanager
    def request(self) -> Iterator[None]:
        """Every write on this thread until the end of the block commits as one transaction,
        or none does (an exception rolls all back). Reads after the first write see it."""
        if self._unit() is not None:
            raise RuntimeError("Store.request: already inside a request")
        unit = _Unit()
        self._local.unit = unit
        try:
            yield
        except BaseException:
            self._end(unit, "ROLLBACK")
            raise
        else:
            self._end(unit, "COMMIT")
        finally:
            self._local.unit = None

    def _end(self, unit: _Unit, how: str) -> None:
        conn, unit.conn = unit.conn, None
        if conn is None:
            return
        try:
            conn.execute(how)
        except BaseException:
            if conn.in_transaction:  # a failed COMMIT: the pool never gets an open transaction
                conn.execute("ROLLBACK")
            raise
        finally:
            self._write_lock.release()
            self._give(conn)

    def _give(self, conn: sqlite3.Connection) -> None:
        if self._pool.qsize() < self._pool_size:
            self._pool.put(conn)
        else:
            conn.close()

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A consistent snapshot for reads (a deferred transaction)."""
        unit = self._unit()
        if unit is not None and unit.conn is not None:
            yield Tx(unit.conn)  # the request has written: read what it wrote
            return
        with self._conn() as conn:
            conn.execute("BEGIN")
            try:
                yield Tx(conn)
            finally:
                conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """One write transaction: all or nothing, committed before the response is sent
        (inside ``request``, a savepoint of the request's transaction)."""
        unit = self._unit()
        if unit is not None:
            with self._in_unit(unit) as tx:
                yield tx
            return
        with self._write_lock, self._conn() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _in_unit(self, unit: _Unit) -> Iterator[Tx]:
        if unit.conn is None:
            self._write_lock.acquire()
            conn = self._take()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._write_lock.release()
                self._give(conn)
                raise
            unit.conn = conn
        conn = unit.conn
        # one name at every depth: SQLite's ROLLBACK TO and RELEASE act on the innermost
        conn.execute("SAVEPOINT w")
        try:
            yield Tx(conn)
        except BaseException:
            conn.execute("ROLLBACK TO w")
            conn.execute("RELEASE w")
            raise
        conn.execute("RELEASE w")

    def close(self) -> None:
        while True:
            try:
                self._pool.get_nowait().close()
            except queue.Empty:
                return
