"""The package's public names resolve, and the token API does not drag in the Pulumi SDK."""

import subprocess
import sys

import skyflow_provider


def test_every_exported_name_resolves():
    for name in skyflow_provider.__all__:
        assert getattr(skyflow_provider, name) is not None, name


def test_token_api_imports_without_pulumi():
    code = (
        "import sys\n"
        "from skyflow_provider import generate_bearer_token, TokenProvider\n"
        "import skyflow_provider.cli.token\n"
        "print('pulumi' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_all_lists_exactly_the_lazy_exports():
    assert sorted(skyflow_provider.__all__) == sorted(skyflow_provider._EXPORTS)
