"""VaultProvider (resources/vault.py, vault_schema.py) against the fake client: schema checks
name their path, destructive changes and replacements are refused, refresh shows real drift only,
and the Python resource sets Pulumi's protect option from deletion_protection.

End to end (real CLI, real emulator): tests/e2e/test_vault.py.
"""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pytest

from skyflow_provider.resources import vault as vault_mod
from skyflow_provider.resources.base import SkyflowProviderError
from skyflow_provider.resources.vault import VaultProvider
from skyflow_provider.resources.workspace import cluster_id_of


def schema(*tables: dict[str, Any]) -> dict[str, Any]:
    return {"tables": list(tables) or [
        {"name": "persons", "columns": [{"name": "name"}, {"name": "email", "tags": {
            "skyflow.options.default_dlp_policy": ["MASK"]}}]},
        {"name": "cards", "columns": [{"name": "number"},
                                      {"name": "expiry_year", "datatype": "DT_INT32"}]}]}


def props(**extra: Any) -> dict[str, Any]:
    return {"name": "payments", "schema": schema(), **extra}


def failures(p: VaultProvider, news: dict[str, Any], olds: dict[str, Any] | None = None
             ) -> dict[str, str]:
    return {f.property: f.reason for f in p.check(olds or {}, news).failures}


def checked(p: VaultProvider, news: dict[str, Any]) -> dict[str, Any]:
    result = p.check({}, news)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return dict(result.inputs)


def test_defaults_fill_every_level() -> None:
    inputs = checked(VaultProvider(), props())
    assert inputs["deletion_protection"] is True
    assert inputs["allow_destructive_schema_changes"] is False
    email = inputs["schema"]["tables"][0]["columns"][1]
    assert email == {"name": "email", "datatype": "DT_STRING", "is_array": False,
                     "description": "", "tags": {"skyflow.options.default_dlp_policy": ["MASK"]}}
    assert inputs["schema"]["tags"] == {} and inputs["schema"]["tables"][1]["tags"] == {}


@pytest.mark.parametrize(("mutate", "path", "needle"), [
    (lambda s: s["tables"][1]["columns"][1].update(datatype="DT_TEXT"),
     "schema.tables[1].columns[1].datatype", "not a Skyflow data type"),
    (lambda s: s["tables"][0]["columns"].append({"name": "email"}),
     "schema.tables[0].columns[2].name", "defined twice (also schema.tables[0].columns[1])"),
    (lambda s: s["tables"][1]["columns"].insert(0, {"name": "skyflow_id"}),
     "schema.tables[1].columns[0].name", "permanent record id"),
    (lambda s: s["tables"][1].update(columns=[]), "schema.tables[1].columns", "no columns"),
    (lambda s: s.update(tables=[]), "schema.tables", "at least one table"),
    (lambda s: s["tables"].append({"name": "persons", "columns": [{"name": "x"}]}),
     "schema.tables[2].name", "defined twice"),
    (lambda s: s["tables"][0].update(name="Persons"), "schema.tables[0].name", "lowercase"),
    (lambda s: s["tables"][0]["columns"][0].update(colour="red"), "schema.tables[0].columns[0]",
     "unknown field(s) colour"),
    (lambda s: s["tables"][0]["columns"][0].update(tags={"bad tag": ["x"]}),
     "schema.tables[0].columns[0].tags", "not a tag name"),
])
def test_bad_schema_names_the_path(mutate, path: str, needle: str) -> None:
    bad = schema()
    mutate(bad)
    found = failures(VaultProvider(), props(schema=bad))
    assert path in found and needle in found[path], found


def test_name_schema_template_rules() -> None:
    p = VaultProvider()
    assert "underscores" in failures(p, props(name="my_vault"))["name"]
    assert "schema is required" in failures(p, {"name": "v"})["schema"]
    assert "not both" in failures(p, props(template_id="t1"))["template_id"]
    assert failures(p, {"name": "v", "template_id": "t1"}) == {}


def test_check_refuses_dropping_or_retyping_against_the_old_inputs() -> None:
    p = VaultProvider()
    old = checked(p, props())
    dropped = copy.deepcopy(old)
    dropped["schema"]["tables"][0]["columns"].pop(1)
    dropped["schema"]["tables"].pop(1)
    dropped["schema"]["tables"][0]["columns"].append({"name": "phone"})  # additions are fine
    found = failures(p, dropped, old)
    assert "persons.email is in the vault but not declared" in found["schema.tables[0].columns"]
    assert "table 'cards'" in found["schema.tables"]
    retyped = copy.deepcopy(old)
    retyped["schema"]["tables"][1]["columns"][1]["datatype"] = "DT_STRING"
    found = failures(p, retyped, old)
    assert "'DT_INT32' to 'DT_STRING'" in found["schema.tables[1].columns[1].datatype"]
    assert failures(p, {**retyped, "allow_destructive_schema_changes": True}, old) == {}
    grown = copy.deepcopy(old)
    grown["schema"]["tables"].append({"name": "notes", "columns": [{"name": "text"}]})
    assert failures(p, grown, old) == {}


def test_replacement_is_refused_while_protected(make, fake) -> None:
    p = make(VaultProvider)
    created = p.create(checked(p, props(workspace_id="ws1")))
    olds = dict(created.outs)
    moved = checked(p, props(workspace_id="ws2"))
    with pytest.raises(SkyflowProviderError, match="replaces the vault.*deletion_protection is on"):
        p.diff(created.id, olds, moved)
    unprotected = {**olds, "deletion_protection": False}
    assert p.diff(created.id, unprotected, moved).replaces == ["workspace_id"]
    # Leaving workspace_id out means "where it is": no change at all.
    assert not p.diff(created.id, olds, checked(p, props())).changes


def test_create_sends_skyflow_id_and_outputs_the_vault_url(make, fake) -> None:
    p = make(VaultProvider)
    created = p.create(checked(p, props(description="cards and people")))
    vault = fake.vaults[created.id]
    assert vault["workspaceID"] == "ws1"  # the account's only workspace
    assert [f["name"] for f in vault["schemas"][0]["fields"]] == ["skyflow_id", "name", "email"]
    assert vault["schemas"][0]["fields"][2]["tags"] == [
        {"name": "skyflow.options.default_dlp_policy", "values": ["MASK"]}]
    outs = created.outs
    assert outs["vault_url"] == "https://c0ffee.vault.skyflowapis.com"
    assert outs["cluster_id"] == "c0ffee" and outs["workspace_id"] == "ws1"
    assert outs["namespace"] == f"ns/vault:{created.id}" and outs["status"] == "ACTIVE"


def test_several_workspaces_need_an_id(make, fake) -> None:
    fake.workspaces["ws2"] = {"ID": "ws2", "name": "Other", "url": "https://x"}
    p = make(VaultProvider)
    with pytest.raises(SkyflowProviderError, match=r"2 workspaces.*Main \(ws1\), Other \(ws2\)"):
        p.create(checked(p, props()))
    assert p.create(checked(p, props(workspace_id="ws2"))).outs["workspace_id"] == "ws2"


def test_read_shows_drift_but_not_skyflow_defaults(make, fake) -> None:
    p = make(VaultProvider)
    inputs = checked(p, props())
    created = p.create(inputs)
    state = dict(created.outs)
    assert p.read(created.id, state).inputs == {k: state.get(k) for k in p.input_keys}
    remote = fake.vaults[created.id]
    # Skyflow adding a setting of its own to a column is not drift...
    remote["schemas"][0]["fields"][1]["tags"].append({"name": "skyflow.options.operation",
                                                      "values": ["EXACT_MATCH"]})
    remote["schemas"].reverse()  # nor is another order
    assert p.read(created.id, state).inputs["schema"] == state["schema"]
    # ... a column added in Studio is.
    remote["schemas"][1]["fields"].append({"name": "phone", "datatype": "DT_STRING"})
    read = p.read(created.id, state)
    persons = read.inputs["schema"]["tables"][0]
    assert [c["name"] for c in persons["columns"]] == ["name", "email", "phone"]
    # and the next check refuses to drop it, naming it
    assert "persons.phone" in failures(p, inputs, read.inputs)["schema.tables[0].columns"]
    del fake.vaults[created.id]
    assert p.read(created.id, state).id is None


def test_import_reads_everything_from_skyflow(make, fake) -> None:
    p = make(VaultProvider)
    created = p.create(checked(p, props()))
    read = p.read(created.id, {})
    assert read.inputs["name"] == "payments" and read.inputs["workspace_id"] == "ws1"
    assert read.inputs["deletion_protection"] is True
    assert read.inputs["schema"] == checked(p, props())["schema"]


def test_update_in_place_and_refuses_data_loss_against_skyflow(make, fake) -> None:
    p = make(VaultProvider)
    created = p.create(checked(p, props()))
    olds = dict(created.outs)
    grown = checked(p, props(description="more"))
    grown["schema"]["tables"][0]["columns"].append(
        {"name": "phone", "datatype": "DT_STRING", "is_array": False, "description": "",
         "tags": {}})
    held = fake.vaults[created.id]["schemas"]
    held[0]["ID"], held[0]["fields"][1]["ID"] = "t-persons", "f-name"  # Skyflow's ids
    fake.calls.clear()
    p.update(created.id, olds, grown)
    assert fake.calls == ["get_vault", "update_vault"]
    sent = fake.vaults[created.id]["schemas"][0]
    assert [f["name"] for f in sent["fields"]][-1] == "phone"
    # what stays carries its id; what is new has none
    assert sent["ID"] == "t-persons" and sent["fields"][1]["ID"] == "f-name"
    assert "ID" not in sent["fields"][-1]
    # Only the flag changed: no call at all.
    fake.calls.clear()
    p.update(created.id, dict(grown), {**grown, "deletion_protection": False})
    assert fake.calls == []
    # A column Skyflow holds that the update would drop (not refreshed): refused.
    fake.vaults[created.id]["schemas"][0]["fields"].append({"name": "ssn",
                                                            "datatype": "DT_STRING"})
    with pytest.raises(SkyflowProviderError, match="persons.ssn"):
        p.update(created.id, dict(grown), {**grown, "description": "again"})


def test_delete_refused_while_protected(make, fake) -> None:
    p = make(VaultProvider)
    created = p.create(checked(p, props()))
    with pytest.raises(SkyflowProviderError, match="deletion_protection on.*set "
                       "deletion_protection=false"):
        p.delete(created.id, dict(created.outs))
    assert created.id in fake.vaults
    p.delete(created.id, {**created.outs, "deletion_protection": False})
    assert created.id not in fake.vaults


def test_adopt_applies_the_schema_but_never_drops_data_silently(make, fake) -> None:
    p = make(VaultProvider)
    existing = p.create(checked(p, props())).id
    smaller = checked(p, props(adopt_id=existing, schema=schema(
        {"name": "persons", "columns": [{"name": "name"}, {"name": "email"}]})))
    with pytest.raises(SkyflowProviderError, match="table 'cards'"):
        p.create(smaller)
    adopted = p.create({**smaller, "allow_destructive_schema_changes": True})
    assert adopted.id == existing and len(fake.vaults[existing]["schemas"]) == 1


def test_python_resource_sets_protect_from_deletion_protection(monkeypatch) -> None:
    seen: list[pulumi.ResourceOptions] = []

    def fake_init(self, provider, name, props, opts=None):
        seen.append(opts)

    monkeypatch.setattr(pulumi.dynamic.Resource, "__init__", fake_init)
    vault_mod.Vault("a", name="a", schema=schema())
    vault_mod.Vault("b", name="b", schema=schema(), deletion_protection=False)
    vault_mod.Vault("c", name="c", schema=schema(), deletion_protection=False,
                    opts=pulumi.ResourceOptions(protect=True))
    assert [o.protect for o in seen] == [True, None, True]
    with pytest.raises(TypeError, match="plain True or False"):
        vault_mod.Vault("d", name="d", schema=schema(),
                        deletion_protection=pulumi.Output.from_input(True))


@pytest.mark.parametrize(("url", "cluster"), [
    ("https://ebfc9bee4242.vault.skyflowapis.com", "ebfc9bee4242"),
    ("https://abc.vault.skyflowapis-preview.com/", "abc"),
    ("https://127.0.0.1:8443", ""), ("", ""), ("https://example.com", ""),
])
def test_cluster_id_of(url: str, cluster: str) -> None:
    assert cluster_id_of(url) == cluster


def test_workspace_lookup_by_name_and_id_names_what_exists(fake) -> None:
    from skyflow_provider.resources.workspace import check_args, lookup, result_of

    assert lookup(fake, name="Main")["ID"] == "ws1"
    assert result_of(lookup(fake, "ws1"))["cluster_id"] == "c0ffee"
    with pytest.raises(SkyflowProviderError, match=r"no workspace named 'Prod'.*Main \(ws1\)"):
        lookup(fake, name="Prod")
    with pytest.raises(SkyflowProviderError, match="named 'Main', not 'Prod'"):
        lookup(fake, "ws1", "Prod")
    with pytest.raises(SkyflowProviderError, match="workspace nope not found"):
        lookup(fake, "nope")
    assert [f.property for f in check_args({"id": "a/b", "colour": 1})] == ["colour", "id"]
