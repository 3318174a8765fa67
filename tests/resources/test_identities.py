"""GitHubActionsIdentity / KubernetesIdentity under Pulumi's mocks: the three parts made
together (keyless account, STS config copying the identifying claims and ``aud``, conditional
role assignments), and the unsafe declarations refused before anything is registered."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from skyflow_provider import GitHubActionsIdentity, KubernetesIdentity

from .conftest import RecordingMocks


def _of(mocks: RecordingMocks, kind: str, prefix: str) -> list[dict[str, Any]]:
    return [dict(r.inputs) for r in mocks.registered
            if r.typ.endswith(f":{kind}") and r.name.startswith(prefix)]


def _all_made(*identities: Any) -> pulumi.Output[list[Any]]:
    """Every part's id: the check runs only once each part is registered (waiting on one
    part's id alone raced the others' registration)."""
    parts = [p for i in identities for p in (i.account, i.sts_config, *i.role_assignments)]
    return pulumi.Output.all(*(p.id for p in parts))


@pulumi.runtime.test
def test_github_identities_pin_repository_and_ref_or_pull_requests(mocks: RecordingMocks) -> Any:
    deploy = GitHubActionsIdentity("deploy", repository="acme/identities",
                                   ref="refs/heads/main", environment="prod", roles=["r1", "r2"])
    preview = GitHubActionsIdentity("preview", repository="acme/identities", pull_request=True,
                                    roles=[{"vault_id": "v1", "role_name": "VAULT_VIEWER"}])
    assert deploy.condition == ("request.context.repository == 'acme/identities' && "
                                "request.context.ref == 'refs/heads/main' && "
                                "request.context.environment == 'prod'")
    assert preview.condition == ("request.context.repository == 'acme/identities' && "
                                 "request.context.sub == 'repo:acme/identities:pull_request'")

    def check(_: Any) -> None:
        for name, roles in (("deploy", 2), ("preview", 1)):
            (sts,) = _of(mocks, "StsConfig", name)
            assert sts["context_claims"] == ["repository", "ref", "environment", "sub", "aud"]
            assert sts["issuer"] == "https://token.actions.githubusercontent.com"
            (account,) = _of(mocks, "ServiceAccount", name)
            assert account["keyless"] is True and account["enforce_context_id"] is True
            assignments = _of(mocks, "RoleAssignment", name)
            assert len(assignments) == roles
            condition = deploy.condition if name == "deploy" else preview.condition
            assert all(a["condition"] == condition for a in assignments)

    return _all_made(deploy, preview).apply(check)


@pulumi.runtime.test
def test_kubernetes_identity_pins_the_service_account(mocks: RecordingMocks) -> Any:
    pod = KubernetesIdentity("pod", issuer="https://oidc.example.com/id/ABC",
                             namespace="payments", service_account="api", roles=["r1"])
    assert pod.condition == "request.context.sub == 'system:serviceaccount:payments:api'"

    def check(_: Any) -> None:
        (sts,) = _of(mocks, "StsConfig", "pod")
        assert sts["context_claims"] == ["sub", "aud"]
        (assignment,) = _of(mocks, "RoleAssignment", "pod")
        assert assignment["condition"] == pod.condition

    return _all_made(pod).apply(check)


@pytest.mark.parametrize("kwargs, says", [
    ({"repository": "acme/identities"}, "needs ref"),
    ({"repository": "acme/identities", "pull_request": True, "ref": "refs/heads/main"},
     "cannot be combined"),
    ({"repository": "acme/identities", "ref": "main"}, "full ref"),
    ({"repository": "acme identities", "ref": "refs/heads/main"}, "org/repo"),
    ({"repository": "acme/identities", "ref": "refs/heads/x' || true || '"}, "no quotes"),
])
def test_unsafe_github_identities_are_refused(mocks: RecordingMocks, kwargs: dict[str, Any],
                                              says: str) -> None:
    with pytest.raises(ValueError, match=says):
        GitHubActionsIdentity("bad", roles=["r1"], **kwargs)
    assert not [r for r in mocks.registered if r.name.startswith("bad-")]
