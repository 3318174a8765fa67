"""A program can declare thousands of resources: pickling our providers never nests deeper.

Pulumi SDK 3.272's serialize_provider wraps the pickler's dict-saving method once more on every
call; a provider pickled with a state dict hit RecursionError after ~980 resources.
"""

import subprocess
import sys

PROBE = r"""
from pulumi.dynamic.dynamic import serialize_provider
from skyflow_provider.service_account import ServiceAccountProvider
from skyflow_provider.role_assignment import RoleAssignmentProvider
for i in range(3000):
    serialize_provider(ServiceAccountProvider())
    serialize_provider(RoleAssignmentProvider())
print(len(serialize_provider(ServiceAccountProvider())))
"""


def test_six_thousand_serializations_without_recursion_error():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip()) <= 200  # the blob stays small (base64 characters)
