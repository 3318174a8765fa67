"""The shared provider of the two extra-key resources, ``ApiKey`` and ``ServiceAccountKey``.

Why one class: both hold "a current key of an account, rotated in place" and differ only in
which Skyflow endpoints they call and which outputs describe a key; create, read (with the drift
of a current or previous key deleted by hand), update (the rotation) and delete are the same.
The resource id stays the first key's id for the resource's whole life (Pulumi cannot change an
id in an update); ``key_id`` is the current key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure, CreateResult, ReadResult, UpdateResult

from ..recovery.leftovers import LEFTOVERS, Minting
from . import checks as v
from . import rotation
from .base import carry
from .keys import RotatingProvider, check_key_target, guarded_mint, list_key_ids
from .recovered import RecoversCreates


class ExtraKeyProvider(RecoversCreates, RotatingProvider):
    """CRUD of one extra key of a service account, with in-place rotation (rotation.py)."""

    #: what messages call the key ("key", "API key")
    what: str = "key"

    def preview_recovery(self, inputs: dict[str, Any]) -> None:
        """At check: which keys this create's first mint will delete or leave (recovery/)."""
        sa_id = inputs.get("service_account_id")
        if isinstance(sa_id, str) and sa_id:
            LEFTOVERS.preview(lambda: self.client, Minting(self.what, sa_id),
                              lambda c: list_key_ids(c, sa_id, self.what != "key"),
                              rotation.warn)
    #: the auth type of accounts that cannot have this kind of key, and Skyflow's rule
    wrong_auth_type: str = ""
    rule: str = ""
    #: the output holding the current key's creation time (for key_created_at)
    created_output: str = "created_at"
    #: outputs cleared when the current key was deleted out of band
    secret_outputs_of_key: tuple[str, ...] = ()
    slots: rotation.KeySlots

    # ----- what differs: the Skyflow calls and the read-back fields ---------------------------
    def mint(self, sa_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def rotate(self, sa_id: str, key_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def get(self, sa_id: str, key_id: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def remove(self, sa_id: str, key_id: str) -> None:
        raise NotImplementedError

    def read_back(self, got: Mapping[str, Any], props: Mapping[str, Any], key_id: str
                  ) -> dict[str, Any]:
        """The current key's outputs from Skyflow's answer."""
        raise NotImplementedError

    # ----- shared -----------------------------------------------------------------------------
    def rotation_label(self, id_: str, olds: Mapping[str, Any]) -> str:
        return f"service account {olds.get('service_account_id')}: {self.what}"

    def rotation_note(self, id_: str, olds: Mapping[str, Any]) -> str:
        return f"{self.rotation_label(id_, olds)} {olds.get('key_id')}"

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, self.input_keys)
        f += check_key_target(news, self.wrong_auth_type, self.rule)
        f += rotation.validate(news)
        return f

    def fresh_key(self, sa_id: str) -> dict[str, Any]:
        """``mint`` behind the guards every key mint has (``keys.guarded_mint``)."""
        return guarded_mint(self, self.what, sa_id, lambda: self.mint(sa_id), "key_id",
                            lambda key_id: self.remove(sa_id, key_id))

    def _ops(self, sa_id: str) -> rotation.KeyOps:
        return rotation.KeyOps(
            mint=lambda: self.fresh_key(sa_id),
            delete=lambda key_id: self.remove(sa_id, key_id),
            rotate_in_place=lambda key_id: self.rotate(sa_id, key_id),
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        sa_id = props["service_account_id"]
        LEFTOVERS.arrive(Minting(self.what, sa_id))
        fresh = self.fresh_key(sa_id)
        outs: dict[str, Any] = {k: props.get(k) for k in self.input_keys}
        outs.update({k: None for k in self.output_keys})
        outs.update(fresh)
        outs["key_created_at"] = rotation.fmt(rotation.later(rotation.now(),
                                                             fresh[self.created_output]))
        rotation.finish(outs, props)
        return CreateResult(fresh["key_id"], outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        sa_id = props.get("service_account_id") or ""
        key_id = props.get("key_id") or id_
        outs = {k: props.get(k) for k in self.input_keys + self.output_keys}
        got = self.get(sa_id, key_id)
        gone = got is None or str(got.get("status") or "").upper() == "DELETED"
        previous = props.get("previous_key_id")
        if previous and self.get(sa_id, previous) is None:
            for name in self.slots.previous.values():  # deleted by hand: nothing to retire
                outs[name] = None
            outs["previous_key_delete_after"] = None
            previous = None
        if gone:
            if not previous:
                return ReadResult(None, {})
            # The previous key still works: keep the resource; the next up mints a current one.
            rotation.warn(f"{self.what} {key_id} of service account {sa_id} was deleted outside "
                          "Pulumi; the next `pulumi up` mints a new one")
            outs.update({name: None for name in self.secret_outputs_of_key},
                        key_id=rotation.MISSING)
        else:
            assert got is not None
            outs.update(self.read_back(got, props, key_id))
        return ReadResult(id_, outs, {k: outs.get(k) for k in self.input_keys})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        outs = carry(olds, self.output_keys)
        outs.update({k: news.get(k) for k in self.input_keys})
        sa_id = news.get("service_account_id") or olds.get("service_account_id") or ""
        at = rotation.now()
        the_plan = rotation.plan(olds, news, "key_id", at, f"service account {sa_id}: {self.what}")
        rotation.apply(outs, news, the_plan, self.slots, self._ops(sa_id), at, self.what)
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        sa_id = props.get("service_account_id") or ""
        for key_id in dict.fromkeys([props.get("key_id") or id_, props.get("previous_key_id")]):
            if key_id:
                self.remove(sa_id, key_id)
