"""Suite-wide test settings.

Property-based tests explore new random inputs on every local run, which is how they find bugs;
in CI (``CI=true``) they are derandomized, so a red build always reproduces and never depends on
the draw. Run ``CI=true make test`` to replay exactly what CI ran.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")
