"""UserProvider (resources/user.py) against the fake client: invite, rename, deactivate,
import, and never taking over a person's existing user silently.

End to end (real CLI, real emulator, a role assignment): tests/e2e/test_vault.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from skyflow_provider.resources.base import SkyflowProviderError
from skyflow_provider.resources.user import UserProvider


def checked(p: UserProvider, news: dict[str, Any]) -> dict[str, Any]:
    result = p.check({}, news)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return dict(result.inputs)


ADA = {"email": "ada@example.com", "name": "Ada Lovelace"}


def test_validation() -> None:
    p = UserProvider()
    reasons = {f.property: f.reason for f in p.check({}, {"email": "ada", "name": ""}).failures}
    assert "not an email address" in reasons["email"] and "name" in reasons
    assert checked(p, ADA)["active"] is True


def test_create_rename_deactivate_delete(make, fake) -> None:
    p = make(UserProvider)
    created = p.create(checked(p, ADA))
    assert fake.users[created.id]["userIdentity"]["email"] == "ada@example.com"
    assert created.outs["status"] == "ACTIVE"
    olds = dict(created.outs)
    fake.calls.clear()
    updated = p.update(created.id, olds, checked(p, {**ADA, "name": "A. L.", "active": False}))
    assert fake.calls == ["update_user:name=A. L.,status=INACTIVE"]
    assert updated.outs["status"] == "INACTIVE" and fake.users[created.id]["name"] == "A. L."
    fake.calls.clear()
    p.update(created.id, dict(updated.outs), checked(p, {**ADA, "name": "A. L."}))
    assert fake.calls == ["update_user:status=ACTIVE"]
    assert p.diff(created.id, olds, checked(p, {**ADA, "email": "x@example.com"})).replaces \
        == ["email"]
    p.delete(created.id, olds)
    assert created.id not in fake.users


def test_inactive_at_creation_and_pending_is_left_alone(make, fake) -> None:
    p = make(UserProvider)
    created = p.create(checked(p, {**ADA, "active": False}))
    assert fake.users[created.id]["status"] == "INACTIVE" == created.outs["status"]
    # An invitation not yet accepted: refresh shows it, and `active` stays true.
    other = p.create(checked(p, {"email": "bob@example.com", "name": "Bob"}))
    fake.users[other.id]["status"] = "PENDING"
    read = p.read(other.id, dict(other.outs))
    assert read.outs["status"] == "PENDING" and read.inputs["active"] is True
    fake.calls.clear()
    p.update(other.id, dict(read.outs), checked(p, {"email": "bob@example.com", "name": "B"}))
    assert fake.calls == ["update_user:name=B"]  # never "activates" the invitation


def test_existing_person_is_never_taken_over_silently(make, fake) -> None:
    existing = fake.create_user({"user": {"name": "Ada", "userIdentity": {
        "email": "Ada@Example.com"}}})["ID"]
    p = make(UserProvider)
    with pytest.raises(SkyflowProviderError, match=f"never taken over.*adopt_id='{existing}'"):
        p.create(checked(p, ADA))
    adopted = p.create(checked(p, {**ADA, "adopt_id": existing}))
    assert adopted.id == existing and fake.users[existing]["name"] == "Ada Lovelace"
    with pytest.raises(SkyflowProviderError, match="email is"):
        p.create(checked(p, {"email": "eve@example.com", "name": "Eve", "adopt_id": existing}))


def test_import_reads_the_user(make, fake) -> None:
    p = make(UserProvider)
    created = p.create(checked(p, ADA))
    read = p.read(created.id, {})
    assert read.inputs == {"email": "ada@example.com", "name": "Ada Lovelace", "active": True,
                           "adopt_id": None}
